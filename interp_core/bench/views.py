"""Dashboard latency benchmark: the first render of every view and one widget change on it, in headless
Chromium on the shipped models (``python -m interp_core bench views --json``).

A fresh dashboard server is started, by default in a fresh, empty ``INTERP_CORE_HOME`` (as a newcomer has
it: no generated dataset, no cached model or result; the shipped assets are read as always; ``home``
chooses the user's cache or a folder instead), and ``health_seconds`` is the time from the ``streamlit run``
command to the first ``200`` of ``/_stcore/health``. Every view is then opened twice, in the order of the
menu (as a teacher goes through it, while the server's warm-up works through the same order), each visit
in a new tab of one browser profile (``browser="one"``, the default: as a visitor's browser, it keeps the
dashboard's own code in its HTTP cache once the first view has loaded it) or of a new empty profile
(``browser="fresh"``: every visit loads and compiles Streamlit's code anew, about 0.4 s more a visit here). The first
visit measures the cold first render (model loading, explanations, disk caches, whatever the warm-up has
not done yet) and a cold widget change; the second visit measures the warm first render and the same widget
change again. Goals: every cold first render under 3 s, every warm first render and warm widget change
under 2 s, health under 3 s (each ``*_under_goal``).

A render counts as done when the page shows its ready text, Streamlit reports that the script is no
longer running and the browser has drawn what the script sent
(:func:`wait_until_drawn`); a widget change, when its effect is shown, the script has stopped again and
the browser has drawn the change. Waiting for the drawing matters: Streamlit loads the code of some
elements (plotly charts) only once the script has sent them, so a page whose script has stopped may
still spend a second loading and drawing its charts, and without that wait that second would be
counted as part of the next widget change. Nothing leaves the machine: Chromium runs with background networking off and the
benchmark counts every request to another host (``external_requests``).

:data:`VIEW_CHECKS` (what each view shows when ready, which control is changed and what shows the
change) is shared with the browser test (``tests/app/test_browser.py``).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from interp_core.paths import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Goal for a widget change once the server is warm, seconds.
GOAL_WIDGET_CHANGE_S = 2.0
#: Goals for a view's first render on its first visit (cold) and on a later one (warm), seconds.
GOAL_COLD_FIRST_RENDER_S = 3.0
GOAL_WARM_FIRST_RENDER_S = 2.0
#: Goal from the ``streamlit run`` command to a healthy server, seconds.
GOAL_HEALTH_S = 3.0
LOCAL_HOSTS = ("127.0.0.1", "localhost")


class NoControl(Exception):
    """The view shows no control to change (e.g. no model of its family is trained)."""


def _select_option(page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit select box labelled ``label``."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text(label, exact=True)).first
    box.locator("input").first.click()
    page.get_by_role("option", name=option, exact=True).first.click()


def _fill_number(page, label: str, value: int) -> None:
    if page.get_by_label(label, exact=False).count() == 0:
        raise NoControl(label)
    field = page.get_by_label(label, exact=False).first
    field.fill(str(value))
    field.press("Enter")


def _sign_in(page) -> None:
    page.get_by_label("Study lead password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()


def _show_one_input(page) -> None:
    """Switch the Benchmark view's drill-down on (not drawn without a result to show)."""
    toggle = page.get_by_text("Show one input", exact=False)
    if toggle.count() == 0:
        raise NoControl("Show one input")
    toggle.first.click()


#: What a study page answers a wrong password with: the refusal (after its one-second pause), or the sentence that
#: says no password is configured (a fresh home without ``INTERP_CORE_STUDY_PASSWORD_HASH``).
SIGN_IN_ANSWERED = re.compile("Wrong password|No study password is configured")


@dataclass(frozen=True)
class ViewCheck:
    """One view in the benchmark and the browser test: its ``page`` (URL path), the text it shows when
    rendered (``ready``), a ``change`` of one control (None: the view has no control without its own
    link, e.g. a participant's session) and the text that shows the change took effect (``changed``)."""

    page: str
    ready: str | re.Pattern
    change: Callable[[Any], None] | None = None
    changed: str | re.Pattern | None = None
    what: str = ""


VIEW_CHECKS: tuple[ViewCheck, ...] = (
    ViewCheck("home", "Models ready", lambda p: p.get_by_text("not trained", exact=True).first.click(), "Not trained yet",
              "models filter → not trained"),
    ViewCheck("data", "Try the input widget", lambda p: _select_option(p, "Dataset", "digits — scikit-learn handwritten digits upsampled to 28x28"),
              "10 classes", "dataset → digits"),
    ViewCheck("compare", "All maps in numbers", lambda p: p.get_by_text("choose a class", exact=True).first.click(), "Class",
              "target → choose a class"),
    ViewCheck("pointing_game", "Estimated time", lambda p: p.get_by_text("2×2", exact=True).first.click(), None,
              "grid → 2×2"),
    ViewCheck("benchmark", re.compile("Recorded on|No recorded result of the"), _show_one_input, "single deletion",
              "one input up close → on"),
    ViewCheck("bcos", re.compile("Neuron explorer|No B-cos model is trained yet"), lambda p: _fill_number(p, "Channel", 3), "[3] at",
              "neuron channel → 3"),
    ViewCheck("prototypes", "train columns (and the K/C=1 prototypes)", lambda p: p.get_by_text("test embeddings", exact=True).first.click(),
              "Embeddings and prototypes", "UMAP: hide the test embeddings"),
    ViewCheck("qsenn", "Local explanation: why A and not B", lambda p: _select_option(p, "Class", "red striped circle"),
              "red striped circle", "class → red striped circle"),
    ViewCheck("piq", "Classifier's decision", lambda p: p.get_by_text("Mixture of two", exact=True).first.click(), "IoU of PIQ's mask",
              "input → mixture of two"),
    ViewCheck("study_designer", "Study lead password", _sign_in, SIGN_IN_ANSWERED, "sign-in form submitted"),
    ViewCheck("study_session", "participant link", None, None, "no control without a participant link"),
    ViewCheck("study_results", "Study lead password", _sign_in, SIGN_IN_ANSWERED, "sign-in form submitted"),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dashboard(env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[str]:
    """A fresh dashboard server on a free local port for the duration of the block; yields its URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, **(env or {}), PYTHONPATH=str(REPO_ROOT)),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        start = time.perf_counter()
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.perf_counter() - start > timeout or proc.poll() is not None:
                    raise TimeoutError(f"the dashboard did not start within {timeout:.0f} s") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_until_idle(page, timeout_ms: float = 300_000, settle_ms: int = 150) -> None:
    """Wait until Streamlit's script has stopped running (``data-test-script-state``) and stays stopped
    for ``settle_ms`` (a rerun can follow a run at once)."""
    app = page.locator('[data-testid="stApp"]')
    deadline = time.perf_counter() + timeout_ms / 1000
    while time.perf_counter() < deadline:
        page.wait_for_function(
            "() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
            " return a && a.getAttribute('data-test-script-state') === 'notRunning'; }",
            timeout=max(1.0, (deadline - time.perf_counter()) * 1000))
        page.wait_for_timeout(settle_ms)
        if app.get_attribute("data-test-script-state") == "notRunning":
            return
    raise TimeoutError("the page kept running")


#: Added to every page: when the browser's last long task (main thread busy for over 50 ms) ended, and how
#: many script runs have started (a fast run can be over before a poll would see it running).
_OBSERVERS = """if (window.__scriptRuns === undefined) { window.__lastLongTaskEnd = performance.now(); window.__scriptRuns = 0;
  new PerformanceObserver(list => list.getEntries().forEach(e => {
    window.__lastLongTaskEnd = Math.max(window.__lastLongTaskEnd, e.startTime + e.duration); }))
  .observe({type: 'longtask', buffered: true});
  new MutationObserver(records => records.forEach(r => {
    if (r.target.getAttribute('data-test-script-state') === 'running') window.__scriptRuns += 1; }))
  .observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']}); }"""


#: True once the browser shows every element the script sent: Streamlit shows a skeleton in place of an
#: element whose code is still loading, and a plotly chart is drawn once it has its ``.js-plotly-plot``.
_DRAWN = """() => !document.querySelector('[data-testid="stSkeleton"]') &&
  [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.js-plotly-plot'))"""


def wait_until_drawn(page, timeout_ms: float = 300_000, quiet_ms: int = 200) -> None:
    """Wait until the script has stopped (:func:`wait_until_idle`), the browser has loaded and drawn every
    element it sent (no loading skeleton left, every plotly chart drawn: their code loads after the script
    is done) and its main thread has had no long task for ``quiet_ms``."""
    deadline = time.perf_counter() + timeout_ms / 1000
    while True:
        wait_until_idle(page, max(1.0, (deadline - time.perf_counter()) * 1000))
        page.wait_for_function(_DRAWN, timeout=max(1.0, (deadline - time.perf_counter()) * 1000))
        quiet = page.evaluate("() => performance.now() - (window.__lastLongTaskEnd ?? 0)")
        if quiet >= quiet_ms and page.locator('[data-testid="stApp"]').get_attribute("data-test-script-state") == "notRunning":
            return
        if time.perf_counter() > deadline:
            raise TimeoutError("the page kept drawing")
        page.wait_for_timeout(max(50, int(quiet_ms - quiet)))


def _wait_started(page, runs_before: int, changed: str | re.Pattern | None = None, timeout_ms: int = 1500) -> None:
    """Wait (briefly: a change may start no run) for the run a widget change triggers to have started,
    counted by the page's observer so that a run already over counts too, or for its ``changed`` text to show
    (a run that ends before the browser draws its "running" state leaves no trace for the observer)."""
    shown = ("false" if changed is None else f"new RegExp({json.dumps(changed.pattern)}).test(document.body.innerText)"
             if isinstance(changed, re.Pattern) else f"document.body.innerText.includes({json.dumps(changed)})")
    with contextlib.suppress(Exception):
        page.wait_for_function(f"() => (window.__scriptRuns ?? 0) > {runs_before} || {shown}", timeout=timeout_ms)


def open_view(page, url: str, check: ViewCheck, timeout_ms: float = 300_000) -> float:
    """Open ``check.page`` and return the seconds until it has rendered."""
    page.add_init_script(_OBSERVERS)
    start = time.perf_counter()
    page.goto(f"{url}/{'' if check.page == 'home' else check.page}", timeout=timeout_ms)
    page.get_by_text(check.ready).first.wait_for(timeout=timeout_ms)
    wait_until_drawn(page, timeout_ms)
    return time.perf_counter() - start


def change_view(page, check: ViewCheck, timeout_ms: float = 300_000) -> float | None:
    """Change the view's control and return the seconds until the change is shown (None: no control)."""
    if check.change is None:
        return None
    runs_before = page.evaluate("() => window.__scriptRuns ?? 0")
    start = time.perf_counter()
    try:
        check.change(page)
    except NoControl:
        return None
    _wait_started(page, runs_before, check.changed)
    wait_until_idle(page, timeout_ms)
    if check.changed:
        page.get_by_text(check.changed).first.wait_for(timeout=timeout_ms)
    wait_until_drawn(page, timeout_ms)
    return time.perf_counter() - start


def exception_count(page) -> int:
    return page.locator('[data-testid="stException"]').count()


@contextlib.contextmanager
def server_home(home: str | None) -> Iterator[dict[str, str]]:
    """The environment that puts the server's cache where ``home`` says: ``"fresh"`` (or None) a new empty
    temporary folder, removed afterwards; ``"user"`` this environment's ``INTERP_CORE_HOME`` (or its default);
    anything else that folder."""
    if home in (None, "fresh"):
        with tempfile.TemporaryDirectory(prefix="interp-core-bench-home-") as fresh:
            yield {"INTERP_CORE_HOME": fresh}
    elif home == "user":
        yield {}
    else:
        yield {"INTERP_CORE_HOME": str(home)}


def menu_order(checks: list[ViewCheck]) -> list[ViewCheck]:
    """``checks`` in the order of the dashboard's menu (views not in the menu last, as listed)."""
    from interp_core.evaluation.warmup import menu_views

    order = {view.page: i for i, view in enumerate(menu_views())}
    return sorted(checks, key=lambda c: order.get(c.page, len(order)))


def _slowest(values: dict[str, float]) -> dict[str, Any] | None:
    view = max(values, key=values.get) if values else None
    return {"view": view, "seconds": values[view]} if view else None


def summarise(out: dict[str, dict[str, Any]], health: float) -> dict[str, Any]:
    """The goals of :func:`run_views_benchmark` checked on its per-view rows ``out``."""
    def column(key: str) -> dict[str, float]:
        return {p: r[key] for p, r in out.items() if r.get(key) is not None}

    cold, warm, changes = column("first_render_cold_seconds"), column("first_render_warm_seconds"), column("widget_change_warm_seconds")
    return {
        "health_seconds": round(health, 3),
        "health_under_goal": health < GOAL_HEALTH_S,
        "goal_health_seconds": GOAL_HEALTH_S,
        "goal_first_render_cold_seconds": GOAL_COLD_FIRST_RENDER_S,
        "cold_first_renders_under_goal": bool(cold) and all(v < GOAL_COLD_FIRST_RENDER_S for v in cold.values()),
        "slowest_cold_first_render": _slowest(cold),
        "goal_first_render_warm_seconds": GOAL_WARM_FIRST_RENDER_S,
        "warm_first_renders_under_goal": bool(warm) and all(v < GOAL_WARM_FIRST_RENDER_S for v in warm.values()),
        "slowest_warm_first_render": _slowest(warm),
        "goal_widget_change_seconds": GOAL_WIDGET_CHANGE_S,
        "warm_changes_under_goal": all(v < GOAL_WIDGET_CHANGE_S for v in changes.values()),
        "slowest_warm_change": _slowest(changes),
    }


def run_views_benchmark(views: tuple[str, ...] | None = None, home: str | None = "fresh", browser: str = "one") -> dict[str, Any]:
    """First-render and widget-change seconds of every view (or of ``views``), cold and warm, on a server
    whose cache is ``home`` (:func:`server_home`; default a fresh empty one), each visit a new tab of one
    browser profile (``browser="one"``) or of a new empty one (``"fresh"``); see the module docstring.
    Returns ``{"views": {page: {...}}, "health_seconds", the goals and whether each is met (:func:`summarise`),
    "external_requests", "exceptions", "conditions"}``."""
    from playwright.sync_api import sync_playwright

    from interp_core.bench.harness import conditions

    if browser not in ("one", "fresh"):
        raise ValueError(f"browser is 'one' or 'fresh', not {browser!r}.")
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"Chromium is needed at {CHROMIUM} (apt-get install chromium).")
    checks = menu_order([c for c in VIEW_CHECKS if views is None or c.page in views])
    if not checks:
        raise ValueError(f"No view named {', '.join(views or ())}; the views are {', '.join(c.page for c in VIEW_CHECKS)}.")
    out: dict[str, dict[str, Any]] = {}
    external: list[str] = []
    exceptions: dict[str, int] = {}
    load_at_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    with server_home(home) as env:
        started = time.perf_counter()
        with dashboard(env) as url, sync_playwright() as pw:
            healthy = time.perf_counter() - started
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            viewport = {"width": 1400, "height": 1000}
            profile = chromium.new_context(viewport=viewport) if browser == "one" else None
            for check in checks:
                row: dict[str, Any] = {"change": check.what}
                for visit in ("cold", "warm"):
                    page = profile.new_page() if profile is not None else chromium.new_page(viewport=viewport)
                    page.on("request", lambda r: None if r.url.split("/")[2].split(":")[0] in LOCAL_HOSTS or r.url.startswith(("data:", "blob:"))
                            else external.append(r.url))
                    first = open_view(page, url, check)
                    changed = change_view(page, check)
                    row[f"first_render_{visit}_seconds"] = round(first, 3)
                    row[f"widget_change_{visit}_seconds"] = None if changed is None else round(changed, 3)
                    exceptions[check.page] = exceptions.get(check.page, 0) + exception_count(page)
                    page.close()
                out[check.page] = row
            chromium.close()
    return {
        "views": out,
        **summarise(out, healthy),
        "external_requests": sorted(set(external)),
        "exceptions": {p: n for p, n in exceptions.items() if n},
        "conditions": conditions(shipped_models="assets/checkpoints",
                                 browser="headless Chromium, " + ("one profile, a new tab per visit" if browser == "one"
                                                                  else "a new empty profile per visit"),
                                 home="fresh empty INTERP_CORE_HOME" if home in (None, "fresh") else str(home),
                                 warmup=os.environ.get("INTERP_CORE_WARMUP", "on"), load_average_1min_at_start=load_at_start),
    }
