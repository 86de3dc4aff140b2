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

from app.inputs import first_correct_index
from app.models import cached_model, cached_split, models_result, view_result


class DashboardContext:
    """A :class:`~interp_core.evaluation.warmup.WarmupContext` that fills the caches the pages read: models
    (``st.cache_resource``), splits, the input widget's first sample, and results keyed as
    :func:`~app.models.view_result` and :func:`~app.models.models_result` key them."""

    def model(self, name: str) -> Any:
        return cached_model(name)

    def split(self, dataset: str, split: str) -> Any:
        return cached_split(dataset, split)

    def sample(self, dataset: str, model: str | None) -> Any:
        """The sample the input widget opens with (``app.inputs``: the first test sample ``model`` gets right)."""
        from interp_core.evaluation.examples import gallery_sample
        from interp_core.store.catalog import checkpoint_fingerprint

        index = first_correct_index(model, checkpoint_fingerprint(model), dataset) if model else 0
        return gallery_sample(cached_split(dataset, "test"), index, dataset)

    def result(self, compute: Callable, name: str, *args: Any, **kwargs: Any) -> Any:
        return view_result(compute, name, *args, **kwargs)

    def call(self, compute: Callable, *args: Any, models: tuple[str, ...] = (), **kwargs: Any) -> Any:
        return models_result(compute, *args, models=models, **kwargs)

    def step(self, label: str, compute: Callable[[], Any]) -> Any:
        return compute()

    def chart(self, figure: Any, width: int = 900) -> None:
        """The picture the page shows of ``figure`` (:func:`app.report.chart_png`, keyed on the figure's JSON)."""
        from app.report import chart_png

        chart_png(figure.to_json(), width)


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
    start([view for views in existing_views().values() for view in views])
    yield


def first_page_ready() -> None:
    """What a visitor's first page needs whichever view it is, prepared before the server answers (under a
    second on 2 cores, so the health check still comes in a couple of seconds): pandas, which every table
    imports, and the model store's statuses, which the menu's first view (Home) and every model picker read
    (the provenance check parses the training code once)."""
    import pandas  # noqa: F401

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


@contextlib.contextmanager
def visit() -> Iterator[None]:
    """A visitor's page run: the warm-up starts no new step until it ends."""
    from interp_core.evaluation.warmup import running

    warmup = running()
    with warmup.visit() if warmup is not None else contextlib.nullcontext():
        yield
