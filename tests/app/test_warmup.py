"""The dashboard's warm-up (interp_core.evaluation.warmup, app/warmup.py): started once per process and
off with INTERP_CORE_WARMUP=0, the views in menu order through their registered functions, a failing view
skipped, no step started while a visitor's page runs, the page caches filled so that the page computes
nothing anew, and the progress note a view shows while it is still warming up."""
from __future__ import annotations

import os
import threading
import time

import pytest
from page_runner import count_pictures_drawn, image_captions, open_page

from interp_core.evaluation import warmup
from interp_core.views import View


class Recorder:
    """A warm-up context that records what it is asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def model(self, name):
        self.calls.append(("model", name))
        return name

    def split(self, dataset, split):
        self.calls.append(("split", dataset, split))

    def sample(self, dataset, model):
        self.calls.append(("sample", dataset, model))

    def result(self, compute, name, *args, **kwargs):
        self.calls.append(("result", compute.__name__, name, args))
        return compute(name, *args)

    def call(self, compute, *args, models=(), **kwargs):
        self.calls.append(("call", compute.__name__, models))

    def step(self, label, compute):
        self.calls.append(("step", label))
        return compute()


def double(name, value):
    return 2 * value


def warm_first(context):
    context.model("model-a")
    context.result(double, "model-a", 21)


def warm_broken(context):
    context.split("shapes", "train")
    raise RuntimeError("no such dataset")


def warm_last(context):
    context.sample("digits", "model-b")


NICE_SEEN: list[int] = []


def warm_nice(context):
    NICE_SEEN.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))


def _views(*functions: str) -> list[View]:
    return [View(f"view{i}", f"View {i}", ":material/home:", "Overview", "", warm=f"{__name__}:{f}" if f else "")
            for i, f in enumerate(functions)]


@pytest.fixture()
def no_running_warmup(monkeypatch):
    monkeypatch.setattr(warmup, "_RUNNING", None)


def test_views_are_warmed_in_order_and_a_failing_view_is_skipped():
    context = Recorder()
    run = warmup.Warmup(context, _views("warm_first", "warm_broken", "", "warm_last"), max_yield=0)
    assert run.note("view0") == "Warming up the views in menu order in the background… (1 of 4)"
    run.run()
    assert context.calls == [("model", "model-a"), ("result", "double", "model-a", (21,)), ("split", "shapes", "train"),
                             ("sample", "digits", "model-b")]
    assert run.states == {"view0": "ready", "view1": "failed", "view2": "ready", "view3": "ready"}
    assert run.errors == {"view1": "RuntimeError: no such dataset"}
    assert run.steps == [("view0", "loading model-a"), ("view0", "computing double for model-a"),
                         ("view1", "preparing the shapes train split"), ("view3", "choosing the first digits sample for model-b")]
    assert run.finished.is_set() and all(run.note(v) is None for v in run.states)


def test_the_warmup_starts_once_per_process_and_not_at_all_when_turned_off(monkeypatch, no_running_warmup):
    made = []
    monkeypatch.setenv("INTERP_CORE_WARMUP", "0")
    assert warmup.start_once(lambda: made.append(1) or Recorder(), _views("warm_first")) is None
    assert warmup.running() is None and not made
    monkeypatch.setenv("INTERP_CORE_WARMUP", "1")
    first = warmup.start_once(lambda: made.append(1) or Recorder(), _views("warm_first", "warm_nice"))
    second = warmup.start_once(lambda: made.append(1) or Recorder(), _views("warm_first"))
    assert first is second is warmup.running() and made == [1]
    assert first.finished.wait(10) and first._thread.name == warmup.THREAD_NAME
    assert first.states == {"view0": "ready", "view1": "ready"}
    # Its own thread runs at a lower priority than the process's (a per-thread nice value on Linux).
    assert NICE_SEEN[-1] == min(19, os.getpriority(os.PRIO_PROCESS, 0) + warmup.NICE_INCREMENT)


def test_streamlit_run_serves_the_app_whose_lifespan_starts_the_warmup_with_the_server(monkeypatch):
    """``streamlit run app/main.py`` finds the ASGI app in app/main.py (Streamlit's st.App) and runs its lifespan
    when the server starts, before any browser connects: that lifespan starts the warm-up of the menu's views."""
    import asyncio
    from pathlib import Path

    from streamlit.web.server.app_discovery import discover_asgi_app

    import app.warmup
    from app.shell import existing_views

    main = Path(app.warmup.__file__).with_name("main.py")
    assert discover_asgi_app(main).import_string == "main:app"
    started = []
    monkeypatch.setattr(app.warmup, "start", lambda views=None: started.append([v.page for v in views]))
    from interp_core.store import catalog, provenance
    from interp_core.store.recipes import all_recipes

    provenance._definitions_cached.cache_clear()

    async def serve() -> None:
        async with app.warmup.at_server_start(None):
            assert started  # started on entering, before the server answers anything
            # and the model store's statuses are ready for the first page: no training module parsed again
            before = provenance._definitions_cached.cache_info().misses
            assert before > 0 and [catalog.code_status(name) for name in all_recipes()]
            assert provenance._definitions_cached.cache_info().misses == before

    asyncio.run(serve())
    assert started == [[v.page for views in existing_views().values() for v in views]]


@pytest.mark.slow
def test_a_fresh_server_warms_up_before_any_visit(tmp_path):
    """A real ``streamlit run app/main.py`` in an empty cache, and no browser: the warm-up still prepares the
    Data view's split (the second view in the menu) on its own."""
    from interp_core.bench.views import dashboard

    with dashboard({"INTERP_CORE_HOME": str(tmp_path), "INTERP_CORE_WARMUP": "1"}):
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("datasets/*/COMPLETE")) and time.monotonic() < deadline:
            time.sleep(0.5)
    assert list(tmp_path.glob("datasets/shapes-*/COMPLETE"))


def test_no_step_starts_while_a_visitor_page_runs():
    context = Recorder()
    run = warmup.Warmup(context, _views("warm_first"), max_yield=30)
    with run.visit():
        run.start()
        time.sleep(0.3)
        assert context.calls == [] and run.states["view0"] == "warming"  # waiting for the visit to end
    assert run.finished.wait(10)
    assert context.calls[0] == ("model", "model-a")


def test_the_progress_note_names_the_step_and_the_position_in_the_menu():
    run = warmup.Warmup(Recorder(), _views("warm_first", "warm_last", "warm_last"))
    run.states.update(view0="ready", view1="warming")
    run.current = ("view1", "loading qsenn-shapes")
    assert run.note("view0") is None
    assert run.note("view1") == "Warming up: loading qsenn-shapes… (2 of 3)"
    assert run.note("view2") == ("Warming up the views in menu order, now View 1: loading qsenn-shapes… (2 of 3). "
                                 "What this view needs before then is computed as it is shown.")
    assert run.note("not-a-view") is None


def test_a_view_shows_the_progress_note_while_it_is_warming(monkeypatch):
    views = warmup.menu_views()
    run = warmup.Warmup(Recorder(), views)  # never started: its state is set by hand
    run.states["study_session"] = "warming"
    run.current = ("study_session", "loading bcos-shapes")
    monkeypatch.setattr(warmup, "_RUNNING", run)
    position = [v.page for v in views].index("study_session") + 1
    at = open_page("study_session")
    assert f"Warming up: loading bcos-shapes… ({position} of {len(views)})" in [c.value for c in at.caption]
    run.states["study_session"] = "ready"
    at = open_page("study_session")
    assert not [c.value for c in at.caption if c.value.startswith("Warming up")]


def test_the_dashboard_warmup_fills_the_caches_the_page_reads(monkeypatch):
    """After the PIQ view's warm-up through the dashboard's context, opening the view computes no result anew:
    the warm-up made exactly the calls the page makes. The warm-up made its results in its worker process (none
    was computed in this one) and its splits there too (into this process's caches, page's and library's)."""
    import app.inputs
    import app.models
    from app.warmup import DashboardContext
    from interp_core import data

    for cache in (app.models.cached_split, app.models._view_result, app.inputs.first_correct_index):
        cache.clear()  # as a fresh server has them (other tests filled them)
    app.models.CACHED.clear()
    misses: list[str] = []
    function = app.models._function
    monkeypatch.setattr(app.models, "_function", lambda target: misses.append(target) or function(target))
    monkeypatch.setattr(data, "_CACHE", {})
    generated: list[str] = []
    monkeypatch.setattr(data, "DATASETS", _Watched(data.DATASETS, generated))
    piq = next(v for v in warmup.menu_views() if v.page == "piq")
    run = warmup.Warmup(DashboardContext(), [piq], max_yield=0)
    run.run()
    assert run.states == {"piq": "ready"}, run.errors
    computed = [target for view, target in run.steps if target.startswith("computing")]
    assert len(computed) == 2  # the decision's interpretation, then the chosen class's (the same class)
    assert misses == [] and generated == [] and ("digits", "test", ()) in data._CACHE

    at = open_page("piq")
    assert not at.error, [e.value for e in at.error]
    assert misses == []


class _Watched:
    """A dataset registry that records every split this process loads itself."""

    def __init__(self, registry, loaded: list[str]) -> None:
        self._registry, self._loaded = registry, loaded

    def get(self, name):
        entry = self._registry.get(name)
        loaded = self._loaded

        class Entry:
            def load(self, split, **kwargs):
                loaded.append(f"{name} {split}")
                return entry.load(split, **kwargs)

            def __getattr__(self, attribute):
                return getattr(entry, attribute)

        return Entry()

    def __getattr__(self, attribute):
        return getattr(self._registry, attribute)


def test_the_warmup_draws_the_charts_the_page_shows(monkeypatch):
    """After the Benchmark view's warm-up, its page (charts as pictures, the default) draws no chart anew, and
    its next step (one input up close, off by default) is ready when the visitor turns it on."""
    import app.models
    from app import report
    from app.warmup import DashboardContext

    report.PICTURES.clear()
    view = next(v for v in warmup.menu_views() if v.page == "benchmark")
    run = warmup.Warmup(DashboardContext(), [view], max_yield=0)
    run.run()
    assert run.states == {"benchmark": "ready"}, run.errors
    steps = [step for _, step in run.steps]
    assert steps.count("drawing a chart") == 1 and steps[-2].endswith("input up close") and steps[-1] == "computing drill down for 1 models"
    drawn = count_pictures_drawn(monkeypatch)
    misses: list[str] = []
    function = app.models._function
    monkeypatch.setattr(app.models, "_function", lambda target: misses.append(target) or function(target))
    at = open_page("benchmark", interactive=False)
    assert not at.error and not at.get("plotly_chart") and drawn == []
    at.toggle(key="bm-look").set_value(True).run()
    assert not at.exception and len(image_captions(at)) > 2  # the input, its map and its interventions
    assert misses == []


def test_the_compare_warmup_draws_every_map_the_page_shows(monkeypatch):
    """Compare's first render draws no map: the warm-up drew the input and every method's panels into the page's
    picture cache, with the same arrays and options (in whatever order the page passes them)."""
    from app import report
    from app.warmup import DashboardContext

    report.PICTURES.clear()
    view = next(v for v in warmup.menu_views() if v.page == "compare")
    run = warmup.Warmup(DashboardContext(), [view], max_yield=0)
    run.run()
    assert run.states == {"compare": "ready"}, run.errors
    warmed = [step for _, step in run.steps].count("drawing a map")
    assert warmed > 5
    drawn = count_pictures_drawn(monkeypatch)
    at = open_page("compare", interactive=False)
    assert not at.exception and len(image_captions(at)) == warmed
    assert drawn == []


@pytest.mark.slow
@pytest.mark.parametrize("page", ["bcos", "prototypes", "qsenn", "compare"])
def test_every_views_warmup_leaves_its_page_nothing_to_compute(page, monkeypatch):
    """The same check on the views with the costliest default selections, and no chart drawn anew."""
    import app.models
    from app import report
    from app.warmup import DashboardContext

    report.PICTURES.clear()
    view = next(v for v in warmup.menu_views() if v.page == page)
    run = warmup.Warmup(DashboardContext(), [view], max_yield=0)
    run.run()
    assert run.states == {page: "ready"}, run.errors
    drawn = count_pictures_drawn(monkeypatch)
    misses: list[str] = []
    function = app.models._function
    monkeypatch.setattr(app.models, "_function", lambda target: misses.append(target) or function(target))
    at = open_page(page, interactive=False)
    assert not at.error, [e.value for e in at.error]
    assert misses == [] and "chart" not in drawn
    if page != "qsenn":  # the maps too (Q-SENN's two maps are drawn as the page shows them)
        assert drawn == []


def test_after_a_visit_the_next_step_waits_for_the_browser_to_draw():
    """A step begins no sooner than AFTER_VISIT_SECONDS after a visitor's page run ended."""
    run = warmup.Warmup(Recorder(), _views("warm_first"), max_yield=30)
    with run.visit():
        pass
    ended = time.monotonic()
    run.run()
    assert time.monotonic() - ended >= 0.9 * warmup.AFTER_VISIT_SECONDS
    assert run.states == {"view0": "ready"}


def warm_with_a_next_step(context):
    context.later("a next step", lambda: context.model("model-later"))
    context.model("model-a")


def test_next_steps_wait_until_every_view_is_warm():
    """What a view's warm-up defers (``later``) runs after every view's default selection, in order."""
    context = Recorder()
    run = warmup.Warmup(context, _views("warm_with_a_next_step", "warm_first"), max_yield=0)
    run.run()
    models = [call for call in context.calls if call[0] == "model"]
    assert models == [("model", "model-a"), ("model", "model-a"), ("model", "model-later")]
    assert run.steps[-2:] == [("view0", "a next step"), ("view0", "loading model-later")]


def test_a_next_steps_data_is_made_in_a_background_process_of_lowest_priority(tmp_path, monkeypatch):
    """``in_background_process`` runs ``module:function(*args)`` in a child process of the lowest priority and one
    thread, with the same ``INTERP_CORE_HOME``, waits for it, and says what failed when it fails."""
    (tmp_path / "childprobe.py").write_text(
        "import json, os\n"
        "def record(path, value):\n"
        "    with open(path, 'w') as f:\n"
        "        json.dump({'value': value, 'nice': os.nice(0), 'threads': os.environ.get('OMP_NUM_THREADS'),\n"
        "                   'home': os.environ.get('INTERP_CORE_HOME'), 'pid': os.getpid()}, f)\n"
        "def fail(message):\n"
        "    raise ValueError(message)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path / "home"))
    out = tmp_path / "out.json"
    warmup.in_background_process("childprobe:record", str(out), [1, "two"])
    import json

    seen = json.loads(out.read_text())
    assert seen["value"] == [1, "two"] and seen["pid"] != os.getpid()
    assert seen["nice"] == 19 and seen["threads"] == "1" and seen["home"] == str(tmp_path / "home")
    with pytest.raises(RuntimeError, match="ValueError: no such split"):
        warmup.in_background_process("childprobe:fail", "no such split")


def test_a_background_process_is_stopped_while_a_visitor_is_active(tmp_path, monkeypatch):
    """While a visitor's page runs, and for BACKGROUND_QUIET_SECONDS after, the next step's process is stopped;
    then it goes on and is waited for."""
    (tmp_path / "slowprobe.py").write_text(
        "import time\n"
        "def record(path):\n"
        "    time.sleep(0.3)\n"
        "    open(path, 'w').write(str(time.time()))\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr(warmup, "BACKGROUND_QUIET_SECONDS", 0.5)
    run = warmup.Warmup(Recorder(), [])
    monkeypatch.setattr(warmup, "running", lambda: run)
    out = tmp_path / "out.txt"
    worker = threading.Thread(target=warmup.in_background_process, args=("slowprobe:record", str(out)))
    with run.visit():
        worker.start()
        time.sleep(1.5)  # the child would have written after 0.3 s had it run
        assert not out.exists()
        ended = time.time()
    worker.join(30)
    assert not worker.is_alive() and out.exists()
    assert float(out.read_text()) >= ended + 0.5 - 0.15  # written only after the quiet period


def test_browser_requests_hold_back_the_next_step(monkeypatch):
    """The dashboard's middleware marks every browser request but the health check; a browser at work holds back
    the next step as a page run does, and a next step's background process (``quiet_for(browser=True)``), not the
    drawing of pictures already asked for (``quiet_for()``)."""
    import asyncio

    from app.warmup import BrowserActivity

    run = warmup.Warmup(Recorder(), [])
    monkeypatch.setattr(warmup, "running", lambda: run)
    reached: list[str] = []

    async def inner(scope, receive, send):
        reached.append(scope["path"])

    middleware = BrowserActivity(inner)
    asyncio.run(middleware({"type": "http", "path": "/_stcore/health"}, None, None))
    assert run.quiet_for(browser=True) > 1.0  # nothing yet
    asyncio.run(middleware({"type": "http", "path": "/media/abc.png"}, None, None))
    assert reached == ["/_stcore/health", "/media/abc.png"]
    assert run.quiet_for(browser=True) < 0.5 and run.quiet_for() > 1.0
    with run.visit():
        assert run.quiet_for() == 0.0 and run.quiet_for(browser=True) == 0.0

    stepping = warmup.Warmup(Recorder(), _views("warm_first"), max_yield=30)
    monkeypatch.setattr(warmup, "running", lambda: stepping)
    asyncio.run(middleware({"type": "http", "path": "/media/def.png"}, None, None))
    requested = time.monotonic()
    stepping.run()
    assert stepping.states == {"view0": "ready"}
    assert time.monotonic() - requested >= 0.9 * warmup.AFTER_VISIT_SECONDS
