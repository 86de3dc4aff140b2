"""The dashboard's side of the warm-up (:mod:`interp_core.evaluation.warmup`): a context that computes through
the page caches, so that a page finds exactly what the warm-up computed for it; the start, once per server
process, when the server starts (:func:`at_server_start`) or else at the first page run; and the note a view
shows while its data is warming up."""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, AsyncIterator, Callable, Iterator

import streamlit as st

from app.aside import draw_aside, offer, start_worker, withdraw
from app.inputs import compute_first_correct, first_correct_index, first_correct_key
from app.models import (CACHED, cached_model, cached_split, compute_models_result, compute_view_result, entry_key,
                        models_arguments, models_result, made_split, split_key, view_arguments, view_result)


class DashboardContext:
    """A :class:`~interp_core.evaluation.warmup.WarmupContext` that fills the caches the pages read: models
    (``st.cache_resource``), splits, the input widget's first sample, and results keyed as
    :func:`~app.models.view_result` and :func:`~app.models.models_result` key them. Splits, first samples, results
    and pictures are made in the warm-up's worker process (:mod:`app.aside`) and handed to those caches; only the
    models are loaded in the server."""

    def model(self, name: str) -> Any:
        return cached_model(name)

    def split(self, dataset: str, split: str) -> Any:
        with _made_aside(split_key(dataset, split), made_split, dataset, split):
            return cached_split(dataset, split)

    def sample(self, dataset: str, model: str | None) -> Any:
        """The sample the input widget opens with (``app.inputs``: the first test sample ``model`` gets right)."""
        from interp_core.evaluation.examples import gallery_sample
        from interp_core.store.catalog import checkpoint_fingerprint

        split = self.split(dataset, "test")
        if not model:
            return gallery_sample(split, 0, dataset)
        fingerprint = checkpoint_fingerprint(model)
        with _made_aside(first_correct_key(model, fingerprint, dataset), compute_first_correct, model, dataset):
            return gallery_sample(split, first_correct_index(model, fingerprint, dataset), dataset)

    def result(self, compute: Callable, name: str, *args: Any, **kwargs: Any) -> Any:
        target, name, fingerprint, frozen_args, frozen_kwargs = view_arguments(compute, name, *args, **kwargs)
        with _made_aside(entry_key("view", target, name, fingerprint, frozen_args, frozen_kwargs), compute_view_result,
                         target, name, frozen_args, frozen_kwargs):
            return view_result(compute, name, *args, **kwargs)

    def call(self, compute: Callable, *args: Any, models: tuple[str, ...] = (), **kwargs: Any) -> Any:
        target, fingerprints, frozen_args, frozen_kwargs = models_arguments(compute, *args, models=models, **kwargs)
        with _made_aside(entry_key("models", target, fingerprints, frozen_args, frozen_kwargs), compute_models_result,
                         target, frozen_args, frozen_kwargs):
            return models_result(compute, *args, models=models, **kwargs)

    def step(self, label: str, compute: Callable[[], Any]) -> Any:
        return compute()

    def chart(self, figure: Any, width: int = 900) -> None:
        """The picture the page shows of ``figure`` (:func:`app.report.chart_png`, keyed on the figure's JSON), drawn
        in the worker process."""
        from app import charts
        from app.report import PICTURES, chart_key

        figure_json = figure.to_json()
        PICTURES.get(chart_key(figure_json, width), lambda: draw_aside(charts.figure_png, figure_json, width))

    def picture(self, spec: tuple) -> None:
        """The map picture the page shows (:func:`app.report.map_of` of the same ``(kind, values, options)``, keyed on
        its arrays and options), drawn in the worker process."""
        from app import figures
        from app.report import PICTURES, map_key

        kind, values, options = spec
        PICTURES.get(map_key(kind, values, options), lambda: draw_aside(figures.map_png, kind, values, **options))

    def background(self, target: str, *args: Any) -> None:
        """``module:function(*args)`` in a background process, stopped while visitors are active."""
        from interp_core.evaluation.warmup import in_background_process

        in_background_process(target, *args)


@contextlib.contextmanager
def _made_aside(key: tuple, function: Callable, *args: Any) -> Iterator[None]:
    """``function(*args)`` made in the worker process for the page-cache entry ``key`` (:func:`app.aside.offer`)
    before the block asks the cache for it, unless a page made that entry already; withdrawn after the block if the
    entry did not take it (a page made it meanwhile)."""
    if key not in CACHED:
        offer(key, function, *args)
    try:
        yield
    finally:
        withdraw(key)


class _WithoutScriptRunWarnings(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warning for the warm-up thread, which runs cached functions
    outside any page run on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        from interp_core.evaluation.warmup import THREAD_NAME

        return threading.current_thread().name != THREAD_NAME or "ScriptRunContext" not in record.getMessage()


def start(views=None):
    """Start this server process's warm-up of ``views`` (default: every registered view), in their order (once;
    nothing when ``INTERP_CORE_WARMUP=0``); returns it or None."""
    from interp_core.evaluation.warmup import start_once

    logger = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    if not any(isinstance(f, _WithoutScriptRunWarnings) for f in logger.filters):
        logger.addFilter(_WithoutScriptRunWarnings())
    return start_once(DashboardContext, views)


@contextlib.asynccontextmanager
async def at_server_start(app: Any) -> AsyncIterator[None]:
    """The lifespan of the dashboard's ASGI app (``app/main.py``): the warm-up of every view in the menu starts
    with the server, before any browser connects."""
    from app.shell import existing_views

    first_page_ready()
    if (warmup := start([view for views in existing_views().values() for view in views])) is not None:
        start_worker(until=warmup.finished)  # its libraries imported before the warm-up's first step needs them
        threading.Thread(target=_import_torch, name="interp-core-import", daemon=True).start()
    yield


def _import_torch() -> None:
    """The server's torch import (about 1.3 s holding the interpreter lock on 2 cores), begun as the server starts:
    while a newcomer's browser loads the dashboard's code for the first time, rather than during a later page."""
    import importlib

    importlib.import_module("interp_core.device")  # imports torch


def first_page_ready() -> None:
    """What a visitor's first page needs whichever view it is, prepared before the server answers (under a
    second on 2 cores, so the health check still comes in a couple of seconds): pandas with its Styler and arrow
    conversion, which every table needs, and the model store's statuses, which the menu's first view (Home) and every model picker read
    (the provenance check parses the training code once)."""
    import pandas  # noqa: F401
    import pandas.io.formats.style  # noqa: F401  (every static table: the Styler and jinja2, 0.05-0.1 s)
    import pyarrow.pandas_compat  # noqa: F401  (every table sent to the browser)

    from interp_core.store.catalog import read_store

    read_store()


def show_note(page: str) -> None:
    """A one-line caption on view ``page`` while the warm-up has not finished its data (what is ready is shown
    below it as usual; the rest is computed as the page needs it)."""
    from interp_core.evaluation.warmup import running

    warmup = running()
    note = warmup.note(page) if warmup is not None else None
    if note:
        st.caption(note)


class BrowserActivity:
    """ASGI middleware of the dashboard's app (``app/main.py``): every request a browser makes to the server (a page,
    its code, its pictures, the opening of its connection; not the health check) marks the visitor at work
    (:meth:`~interp_core.evaluation.warmup.Warmup.active`), so that the warm-up begins no step and its next-step
    processes stay stopped while a browser loads and draws a page, not only while the page's script runs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket") and not str(scope.get("path", "")).endswith("/health"):
            from interp_core.evaluation.warmup import running

            if (warmup := running()) is not None:
                warmup.active()
        await self.app(scope, receive, send)


@contextlib.contextmanager
def visit() -> Iterator[None]:
    """A visitor's page run: the warm-up starts no new step until it ends."""
    from interp_core.evaluation.warmup import running

    warmup = running()
    with warmup.visit() if warmup is not None else contextlib.nullcontext():
        yield


def ship_pictures(folder: Any = None, views: Any = None, next_steps: bool = True) -> dict[str, Any]:
    """Draw every picture the dashboard's warm-up draws for the default selection of every view (or of the pages
    ``views``) and its next steps (unless ``next_steps`` is False), from a fresh temporary cache, and ship each as
    ``KEY.png`` in ``folder`` (default the shipped pictures, ``assets/pictures``, read by :data:`app.report.PICTURES`);
    shipping every view replaces the pictures shipped before. Trains nothing. Returns the shipped ``files`` and the warm-up's ``errors``."""
    from pathlib import Path

    from app.aside import stop_worker
    from app.report import PICTURES
    from interp_core.evaluation.warmup import Warmup, menu_views
    from interp_core.paths import temporary_cache

    target = Path(folder) if folder is not None else PICTURES.folder
    chosen = [view for view in menu_views() if views is None or view.page in views]
    shipped_before = PICTURES.folder
    with temporary_cache("interp-core-ship-pictures-"):
        PICTURES.folder = None  # every picture drawn now, none read from what was shipped
        PICTURES.clear()
        try:
            warmup = Warmup(DashboardContext(), chosen, max_yield=0, next_steps=next_steps)
            warmup.run()
            drawn = {key: png for key, png in PICTURES.items() if png is not None}
        finally:
            stop_worker()
            PICTURES.folder = shipped_before
            PICTURES.clear()
    target.mkdir(parents=True, exist_ok=True)
    if views is None:
        for old in target.glob("*.png"):
            if old.stem not in drawn:
                old.unlink()
    files = []
    for key, png in sorted(drawn.items()):
        (target / f"{key}.png").write_bytes(png)
        files.append(target / f"{key}.png")
    return {"files": [str(f) for f in files], "errors": warmup.errors}
