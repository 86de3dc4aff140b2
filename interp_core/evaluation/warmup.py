"""The dashboard's warm-up: each view's default selection computed in the background when the server starts,
in the order of the menu, so that a visitor finds it ready.

What to warm comes from each view's registration (:attr:`interp_core.views.View.warm`, ``module:function``):
a function of a :class:`WarmupContext` that makes the same calls its page makes for its default selection
(load the default model, pick the default sample, compute each cached result). The context decides where
the results go: the dashboard's (``app/warmup.py``) fills the page caches, so the page finds exactly what it
asks for; :class:`LibraryContext` fills only the library's caches (models and splits in memory, the disk
result cache), which is what ``python -m interp_core ship-results`` ships.

A visitor never waits for the warm-up: it runs in one daemon thread of lower scheduling priority (Linux),
starts no step while a visitor's page run is in progress (:meth:`Warmup.visit`) or their browser loads a page
(:meth:`Warmup.active`), and holds no lock a page
needs beyond the one cache entry it is computing, which a page asking for the same entry waits for instead
of computing it twice. What needs no server memory runs in child processes of the lowest priority, stopped while a
visitor is active where it is only a next step (:func:`wait_between_visits`): the dashboard's results and pictures
(its worker process, ``app/aside.py``), and the next steps' data (:func:`in_background_process`). A failing view is logged and skipped. ``INTERP_CORE_WARMUP=0`` turns it off.
Torch-free at import.
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
import time
from typing import Any, Callable, Iterator, Protocol, Sequence

log = logging.getLogger("interp_core.warmup")

#: The environment variable that turns the warm-up off (``0``, ``false``, ``no`` or ``off``).
ENV = "INTERP_CORE_WARMUP"
#: The warm-up thread's name (the dashboard silences Streamlit's "missing ScriptRunContext" warning for it).
THREAD_NAME = "interp-core-warmup"
#: The longest the warm-up waits for visitors' page runs to end before it starts its next step, seconds.
MAX_YIELD_SECONDS = 30.0
#: How much lower the warm-up thread's scheduling priority is than the server's (Linux nice value, per thread).
NICE_INCREMENT = 10
#: How long a warm-up started with the server waits for a first visitor before it begins, seconds: a visitor who
#: opens the printed address at once gets the whole machine for that first page (the warm-up's first steps import
#: torch and generate a split, which would slow it by about a second on 2 cores), and the warm-up begins when
#: that page is done.
STARTUP_GRACE_SECONDS = 3.0
#: How long after a visitor's page run the warm-up waits before its next step, seconds: the browser is still
#: drawing what the run sent (a few tenths of a second here), and on 2 cores a step would take its CPU.
AFTER_VISIT_SECONDS = 0.3
#: How long after a visitor's page run a next step's background process (:func:`in_background_process`) may run
#: again, seconds: it is stopped meanwhile, while the browser draws and the visitor's next click comes.
BACKGROUND_QUIET_SECONDS = 2.0


def enabled() -> bool:
    """Whether the warm-up runs (``INTERP_CORE_WARMUP`` is not ``0``, ``false``, ``no`` or ``off``)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


class WarmupContext(Protocol):
    """What a view's warm-up function computes through; each call is one step of the progress."""

    def model(self, name: str) -> Any:
        """The ready model ``name``, loaded."""

    def split(self, dataset: str, split: str) -> Any:
        """One split of a dataset (generated and cached on first use)."""

    def sample(self, dataset: str, model: str | None) -> Any:
        """The gallery sample a view of ``model`` opens with (the input widget's default)."""

    def result(self, compute: Callable, name: str, *args: Any, **kwargs: Any) -> Any:
        """``compute(loaded model name, *args, **kwargs)``, as the page's per-model result cache keys it."""

    def call(self, compute: Callable, *args: Any, models: tuple[str, ...] = (), **kwargs: Any) -> Any:
        """``compute(*args, **kwargs)`` of several ready ``models``, as the page's cache keys it."""

    def step(self, label: str, compute: Callable[[], Any]) -> Any:
        """``compute()``: library work that fills the library's own caches."""

    def chart(self, figure: Any, width: int = 900) -> None:
        """Draw the plotly ``figure`` as the page shows it (a picture ``width`` pixels wide) into the page's cache."""

    def picture(self, spec: tuple) -> None:
        """Draw the map the page shows (:data:`interp_core.visualize.MapSpec`, the arguments of ``app.figures.map_png``)
        into the page's cache."""

    def background(self, target: str, *args: Any) -> None:
        """``module:function(*args)`` in a background process (:func:`in_background_process`): data a next step needs
        that the library caches on disk."""

    def later(self, label: str, compute: Callable[[], Any]) -> None:
        """``compute()`` once every view's default selection is warm: what a visitor's next step may need (e.g. a
        training split for another class's gallery), not what any first render needs."""


class LibraryContext:
    """A :class:`WarmupContext` without the dashboard: models and splits through the library's in-memory
    caches, results computed directly (what they cache on disk is what ``ship-results`` ships)."""

    def model(self, name: str) -> Any:
        from interp_core.evaluation.models import loaded

        return loaded(name)

    def split(self, dataset: str, split: str) -> Any:
        from interp_core.data import load_split

        return load_split(dataset, split)

    def sample(self, dataset: str, model: str | None) -> Any:
        from interp_core.evaluation.examples import first_correct_index, gallery_sample

        split = self.split(dataset, "test")
        return gallery_sample(split, first_correct_index(model, split) if model else 0, dataset)

    def result(self, compute: Callable, name: str, *args: Any, **kwargs: Any) -> Any:
        return compute(self.model(name), *args, **kwargs)

    def call(self, compute: Callable, *args: Any, models: tuple[str, ...] = (), **kwargs: Any) -> Any:
        return compute(*args, **kwargs)

    def step(self, label: str, compute: Callable[[], Any]) -> Any:
        return compute()

    def chart(self, figure: Any, width: int = 900) -> None:
        """Nothing: the library caches no picture of a chart (the dashboard's context draws them)."""

    def picture(self, spec: tuple) -> None:
        """Nothing: the library caches no map picture (the dashboard's context draws them)."""

    def background(self, target: str, *args: Any) -> None:
        in_background_process(target, *args)


def _words(compute: Callable) -> str:
    """A function's name as the progress note says it: ``loaded_tables`` -> ``tables``, ``naming_for`` -> ``naming``."""
    words = getattr(compute, "__name__", "result").strip("_").split("_")
    words = words[1:] if len(words) > 1 and words[0] in ("loaded", "named") else words
    return " ".join(words[:-1] if len(words) > 1 and words[-1] == "for" else words)


class _Tracked:
    """A context that reports each call to its :class:`Warmup` as the current step before making it."""

    def __init__(self, context: WarmupContext, warmup: "Warmup") -> None:
        self._context, self._warmup = context, warmup

    def model(self, name: str) -> Any:
        self._warmup._begin(f"loading {name}")
        return self._context.model(name)

    def split(self, dataset: str, split: str) -> Any:
        self._warmup._begin(f"preparing the {dataset} {split} split")
        return self._context.split(dataset, split)

    def sample(self, dataset: str, model: str | None) -> Any:
        self._warmup._begin(f"choosing the first {dataset} sample" + (f" for {model}" if model else ""))
        return self._context.sample(dataset, model)

    def result(self, compute: Callable, name: str, *args: Any, **kwargs: Any) -> Any:
        self._warmup._begin(f"computing {_words(compute)} for {name}")
        return self._context.result(compute, name, *args, **kwargs)

    def call(self, compute: Callable, *args: Any, models: tuple[str, ...] = (), **kwargs: Any) -> Any:
        self._warmup._begin(f"computing {_words(compute)}" + (f" for {len(models)} models" if models else ""))
        return self._context.call(compute, *args, models=models, **kwargs)

    def step(self, label: str, compute: Callable[[], Any]) -> Any:
        self._warmup._begin(label)
        return self._context.step(label, compute)

    def chart(self, figure: Any, width: int = 900) -> None:
        self._warmup._begin("drawing a chart")
        self._context.chart(figure, width)

    def picture(self, spec: tuple) -> None:
        self._warmup._begin("drawing a map")
        self._context.picture(spec)

    def background(self, target: str, *args: Any) -> None:
        self._context.background(target, *args)

    def later(self, label: str, compute: Callable[[], Any]) -> None:
        view = self._warmup.current[0] if self._warmup.current else ""
        self._warmup._later.append((view, label, compute))


def in_background_process(target: str, *args: Any) -> None:
    """``module:function(*args)`` (arguments JSON-serialisable) in a child Python process of the lowest scheduling
    priority and one thread, waited for: a next step's data that the library caches on disk (a generated split),
    which no first render needs, made without this process's interpreter lock, so a visitor's page run never
    waits for it and gets at least one core; stopped while visitors are active (:func:`wait_between_visits`).
    The child shares ``INTERP_CORE_HOME``. Raises ``RuntimeError`` with the
    child's last error line when it fails."""
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import interp_core

    package_root = str(Path(interp_core.__file__).resolve().parent.parent)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p))
    code = ("import importlib, json, sys; module, _, name = sys.argv[1].partition(':'); "
            "getattr(importlib.import_module(module), name)(*json.loads(sys.argv[2]))")
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen([sys.executable, "-c", code, target, json.dumps(list(args))], env=env, preexec_fn=become_background_child,
                                 stdout=subprocess.DEVNULL, stderr=errors, text=True)
        wait_between_visits(lambda timeout: _exited(child, timeout), lambda: [child.pid])
        errors.seek(0)
        if child.returncode != 0:
            last = [line for line in errors.read().splitlines() if line.strip()][-1:] or [f"exit status {child.returncode}"]
            raise RuntimeError(f"{target}{tuple(args)} failed in its background process: {last[0]}")


def become_background_child() -> None:
    """In a child process of the warm-up (its first call): the lowest scheduling priority, and on Linux a ``SIGKILL``
    when the thread that started it ends, so that no child outlives the server (nor stays stopped without it)."""
    if hasattr(os, "nice"):
        os.nice(19)
    with contextlib.suppress(Exception):
        import ctypes
        import signal
        import sys

        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


def _exited(child, timeout: float | None) -> bool:
    import subprocess

    try:
        child.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def wait_between_visits(finished: Callable[[float], bool], pids: Callable[[], Sequence[int]],
                        quiet_seconds: float = BACKGROUND_QUIET_SECONDS, browser: bool = True,
                        needed: Callable[[], bool] = lambda: False) -> None:
    """Wait until ``finished(timeout)`` says a background process's work is done, the processes ``pids()`` stopped
    (``SIGSTOP``) whenever a visitor's page ran (with ``browser``: or their browser made a request) less than
    ``quiet_seconds`` ago, so that they only ever take a core the visitor's browser and page do not need, and
    continued (``SIGCONT``) otherwise, or while ``needed()`` (a page waits for their work). Without a running
    warm-up or those signals they just run."""
    import signal

    warmup = running()
    stoppable = warmup is not None and hasattr(signal, "SIGSTOP")
    stopped: list[int] = []

    def send(pid: int, sig: int) -> None:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)

    try:
        while not finished(0.1 if stoppable else None):
            quiet = warmup.quiet_for(browser) >= quiet_seconds or needed()
            if quiet and stopped:
                for pid in stopped:
                    send(pid, signal.SIGCONT)
                stopped = []
            elif not quiet and not stopped:
                stopped = list(pids())
                for pid in stopped:
                    send(pid, signal.SIGSTOP)
    finally:
        for pid in stopped:
            send(pid, signal.SIGCONT)


def menu_views() -> list[Any]:
    """Every registered view, in the order of the menu (:func:`interp_core.views.navigation`)."""
    from interp_core.views import navigation

    return [view for views in navigation().values() for view in views]


def warm_function(view: Any) -> Callable[[WarmupContext], None] | None:
    """The function that warms ``view`` (None when it has none)."""
    if not view.warm:
        return None
    module, _, name = view.warm.partition(":")
    return getattr(importlib.import_module(module), name)


class Warmup:
    """One warm-up of ``views`` (default: the menu's) through ``context``; :meth:`start` runs it in a
    daemon thread, :meth:`run` in the caller's. ``states`` says per view ``waiting``, ``warming``, ``ready``
    or ``failed``; ``steps`` lists every ``(view, step)`` begun, in order. ``grace``: how long :meth:`start` waits
    for a first visit. What the views defer (``later``) runs after every view's default, unless ``next_steps`` is
    False."""

    def __init__(self, context: WarmupContext, views: Sequence[Any] | None = None, *,
                 max_yield: float = MAX_YIELD_SECONDS, grace: float = 0.0, next_steps: bool = True) -> None:
        self.views = list(menu_views() if views is None else views)
        self.states = {view.page: "waiting" for view in self.views}
        self.errors: dict[str, str] = {}
        self.steps: list[tuple[str, str]] = []
        self.current: tuple[str, str] | None = None  # (view, step) being computed
        self.next_steps = False  # every view's default is warm; now the next steps (``later``)
        self.seconds: dict[str, float] = {}
        self.finished = threading.Event()
        self.max_yield = max_yield
        self.grace = grace
        self.with_next_steps = next_steps  # False: the defaults only
        self._visited = threading.Event()
        self._last_visit_end = 0.0
        self._last_browser_request = 0.0
        self._later: list[tuple[str, str, Callable[[], Any]]] = []
        self._context = _Tracked(context, self)
        self._visits = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> "Warmup":
        """Run the warm-up in a daemon thread of lower priority (once; later calls do nothing)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run_in_background, name=THREAD_NAME, daemon=True)
            self._thread.start()
        return self

    def _run_in_background(self) -> None:
        # Linux keeps a nice value per thread, inherited by the threads it starts (torch's OpenMP workers): a
        # visitor's page run and its own workers come first whenever both want a core.
        if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
            with contextlib.suppress(OSError):
                thread = threading.get_native_id()
                os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + NICE_INCREMENT))
        self._visited.wait(self.grace)  # a first visitor within the grace goes first (its page run ends before any step)
        self.run()

    def run(self) -> None:
        """Warm every view in order; a view that fails is logged and marked ``failed``."""
        begun = time.perf_counter()
        try:
            for view in self.views:
                self.states[view.page] = "warming"
                start = time.perf_counter()
                try:
                    if (function := warm_function(view)) is not None:
                        self.current = (view.page, f"preparing {view.title}")
                        function(self._context)
                    self.states[view.page] = "ready"
                except Exception as err:  # the dashboard must start whatever one view's warm-up raises
                    log.warning("Warming up the %s view failed: %s", view.page, err, exc_info=True)
                    self.states[view.page], self.errors[view.page] = "failed", f"{type(err).__name__}: {err}"
                self.seconds[view.page] = round(time.perf_counter() - start, 3)
            self.next_steps = True
            for page, label, compute in self._later if self.with_next_steps else ():  # the defaults are warm: the likely next steps
                self.current = (page, f"preparing {page}")
                try:
                    self._begin(label)
                    compute()
                except Exception as err:  # a next step that fails costs nothing but its own time later
                    log.warning("Warming up %s for the %s view failed: %s", label, page, err, exc_info=True)
        finally:
            self.current = None
            self.finished.set()
            log.info("Warm-up done in %.1f s: %s", time.perf_counter() - begun,
                     ", ".join(f"{page} {state} ({self.seconds.get(page, 0):.1f} s)" for page, state in self.states.items()))

    @contextlib.contextmanager
    def visit(self) -> Iterator[None]:
        """Mark a visitor's page run: the warm-up starts no new step until it ends."""
        with self._idle:
            self._visits += 1
        self._visited.set()
        try:
            yield
        finally:
            with self._idle:
                self._visits -= 1
                self._last_visit_end = time.monotonic()
                self._idle.notify_all()

    def active(self) -> None:
        """Mark a visitor's browser at work (a request for a page, its code or a picture): no step begins until
        ``AFTER_VISIT_SECONDS`` after it, as after a page run, and a next step's background process stays stopped
        for ``BACKGROUND_QUIET_SECONDS`` (:func:`in_background_process`); the drawing of pictures already asked for
        goes on between page runs."""
        with self._idle:
            self._last_browser_request = time.monotonic()

    def quiet_for(self, browser: bool = False) -> float:
        """Seconds since the last visitor's page run ended (0 while one runs), or with ``browser`` since that or the
        last browser request (:meth:`active`), whichever came later."""
        with self._idle:
            last = max(self._last_visit_end, self._last_browser_request) if browser else self._last_visit_end
            return 0.0 if self._visits else time.monotonic() - last

    def _begin(self, label: str) -> None:
        view = self.current[0] if self.current else ""
        deadline = time.monotonic() + self.max_yield
        with self._idle:
            while time.monotonic() < deadline:
                quiet_for = self.quiet_for(browser=True)  # the condition's lock is reentrant
                if quiet_for >= AFTER_VISIT_SECONDS:
                    break
                self._idle.wait(timeout=min(deadline - time.monotonic(), max(0.01, AFTER_VISIT_SECONDS - quiet_for)))
        self.current = (view, label)
        self.steps.append((view, label))

    def note(self, page: str) -> str | None:
        """The progress line for view ``page`` while its data is still warming up (None once it is ready,
        failed or not part of the warm-up)."""
        state = self.states.get(page)
        if state not in ("waiting", "warming"):
            return None
        pages = [view.page for view in self.views]
        current = self.current
        if state == "warming" and current:
            return f"Warming up: {current[1]}… ({pages.index(page) + 1} of {len(pages)})"
        if current and current[0] in pages:
            title = next(view.title for view in self.views if view.page == current[0])
            return (f"Warming up the views in menu order, now {title}: {current[1]}… ({pages.index(current[0]) + 1} of "
                    f"{len(pages)}). What this view needs before then is computed as it is shown.")
        return f"Warming up the views in menu order in the background… ({pages.index(page) + 1} of {len(pages)})"


_LOCK = threading.Lock()
_RUNNING: Warmup | None = None


def start_once(make_context: Callable[[], WarmupContext], views: Sequence[Any] | None = None) -> Warmup | None:
    """Start the warm-up of this process unless it is started already or turned off (``INTERP_CORE_WARMUP=0``);
    returns the process's warm-up (None when turned off)."""
    global _RUNNING
    if not enabled():
        return None
    with _LOCK:
        if _RUNNING is None:
            _RUNNING = Warmup(make_context(), views, grace=STARTUP_GRACE_SECONDS).start()
    return _RUNNING


def running() -> Warmup | None:
    """The warm-up started in this process, if any."""
    return _RUNNING


def ship_default_results(views: Sequence[str] | None = None, *, shipped=None) -> dict[str, Any]:
    """Compute the default selection of every view (or of ``views``) and the next steps it defers in a fresh
    temporary cache through a :class:`LibraryContext`, and ship every result it cached for a shipped model's
    weights (:func:`interp_core.store.shipped_results.ship_result_files`). Trains nothing; ``INTERP_CORE_HOME`` names
    the temporary cache while it runs. Returns the shipped ``files``, the ``seconds`` per view and any view
    ``errors``."""
    from types import SimpleNamespace

    from interp_core.paths import temporary_cache
    from interp_core.store.catalog import checkpoint_fingerprint, checkpoint_status
    from interp_core.store.recipes import get_recipe
    from interp_core.store.results import model_tag
    from interp_core.store.shipped_results import computing_afresh, ship_result_files
    from interp_core.store.shipping import shipped_recipe_names

    chosen = [view for view in menu_views() if views is None or view.page in views]
    with temporary_cache("interp-core-ship-results-") as home:
        warmup = Warmup(LibraryContext(), chosen, max_yield=0)  # the defaults and the likely next steps
        with computing_afresh():
            warmup.run()
        # The shipped weights' tags, read from their metadata (nothing loaded); any other weights' shipped results go.
        tags = {model_tag(SimpleNamespace(recipe=get_recipe(name), card=SimpleNamespace(fingerprint=checkpoint_fingerprint(name))))
                for name in shipped_recipe_names() if checkpoint_status(name) == "shipped"}
        files = ship_result_files(home, tags, shipped)
    return {"files": [str(f) for f in files], "seconds": warmup.seconds, "errors": warmup.errors}
