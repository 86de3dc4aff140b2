"""Models and datasets for the pages, cached per weights fingerprint (``st.cache_resource``), and Home's
table of models."""
from __future__ import annotations

import importlib
from typing import Any, Callable, Hashable

import streamlit as st

from app.shell import guarded
from app.url import UrlState


@st.cache_resource(show_spinner="Loading model…", max_entries=32)
def _cached_model(name: str, fingerprint: str):
    from interp_core.store import load_model

    return load_model(name, train_if_missing=False, show_bar=False)


def cached_model(name: str):
    """The ready model ``name``, cached per weights fingerprint: retrained weights are loaded anew, never
    served from an older entry. Page caches of results take ``model.card.fingerprint`` as an argument."""
    from interp_core.store.catalog import checkpoint_fingerprint

    return _cached_model(name, checkpoint_fingerprint(name))


def model_picker(choices: list[str], key: str, missing: str, url: "UrlState | None" = None):
    """A model select box over recipe names ``choices`` (labelled with their dataset) and the loaded
    choice; stops the page with ``missing`` when there is nothing to choose, or when loading fails (the
    error is shown by :func:`guarded`). ``url``: the view's :class:`UrlState` (the choice is shared as ``model``)."""
    from interp_core.store.recipes import get_recipe

    if not choices:
        st.warning(missing)
        st.stop()
    label = dict(format_func=lambda n: f"{n} (on {get_recipe(n).dataset})")
    name = url.select(st, "Model", choices, key=key, param="model", **label) if url is not None else \
        st.selectbox("Model", choices, key=key, **label)
    loaded = None
    with guarded(f"Loading {name}"):
        loaded = cached_model(name)
    if loaded is None:
        st.stop()
    return name, loaded


@st.cache_resource(show_spinner="Loading dataset…")
def cached_split(dataset: str, split: str):
    from interp_core import data

    made = taken_or(split_key(dataset, split), lambda: None)  # made by the warm-up's worker
    if made is not None:  # into the library's in-memory cache of splits too (``load_split``'s, keyed on its arguments),
        data._CACHE.setdefault((dataset, split, ()), made)  # where the views' library code finds it (digits has no disk cache)
    return data.load_split(dataset, split)


def split_key(dataset: str, split: str) -> tuple:
    """The key under which the warm-up offers :func:`cached_split`'s split (:func:`app.aside.offer`)."""
    return ("split", dataset, split)


def made_split(dataset: str, split: str) -> Any:
    """A split made in the warm-up's worker process: generated (and cached on disk where the dataset caches it) there,
    handed to :func:`cached_split`."""
    from interp_core.data import load_split

    return load_split(dataset, split)


#: How Home reads :func:`interp_core.store.catalog.code_status`.
CODE_STATUS = {"current": "today's code", "stale": "older code (retrain to reproduce)", "unknown": "not recorded",
               "missing": None}
#: Column of :func:`model_table` with the accuracy recorded when the checkpoint was trained.
RECORDED_ACCURACY = "test accuracy (recorded at training)"


@st.cache_data(show_spinner=False)
def model_table() -> list[dict[str, Any]]:
    """One row per recipe: family, status and the test accuracy recorded at training time with its date
    (read from checkpoint metadata, no torch import; ``eval`` computes it now)."""
    from interp_core.store.catalog import checkpoint_status, code_status, recorded_date, recorded_metrics
    from interp_core.store.recipes import all_recipes

    rows = []
    for recipe in all_recipes().values():
        metrics = recorded_metrics(recipe.name)
        accuracy = metrics.get("accuracy")
        rows.append({"model": recipe.name, "family": recipe.family, "dataset": recipe.dataset,
                     "status": checkpoint_status(recipe.name), "trained by": CODE_STATUS[code_status(recipe.name)],
                     RECORDED_ACCURACY: accuracy,
                     "recorded on": recorded_date(recipe.name) or None, "description": recipe.description})
    return rows


def _function(target: str) -> Callable:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def _frozen(compute: Callable, args: tuple, kwargs: dict) -> tuple[str, tuple, tuple]:
    """``compute`` by import path and its arguments as hashable cache keys (tensors as tokens,
    :func:`interp_core.io.freeze`)."""
    from interp_core.io import freeze

    return (f"{compute.__module__}:{compute.__qualname__}", tuple(map(freeze, args)),
            tuple(sorted((k, freeze(v)) for k, v in kwargs.items())))


def _spinning(spinner: str | None, compute: Callable[[], Any]):
    if spinner is None:
        return compute()
    with st.spinner(spinner):
        return compute()


#: The keys (:func:`entry_key`) of the result-cache entries computed or taken in this process while its warm-up runs
#: (the warm-up makes no entry twice; none is kept after it, so the set does not grow with a server's life).
CACHED: set = set()


def entry_key(*parts: Any) -> Hashable:
    """A page-cache entry's key as :mod:`app.aside` hands results over under it: ``parts`` (the cache's name and
    frozen arguments), or a digest of them where an argument is unhashable (an array)."""
    try:
        hash(parts)
        return parts
    except TypeError:
        import hashlib
        import pickle

        return (parts[0], hashlib.blake2b(pickle.dumps(parts, protocol=4), digest_size=20).hexdigest())


def taken_or(key: Hashable, compute: Callable[[], Any]) -> Any:
    """In a page cache's function: the result the warm-up's worker made for entry ``key`` (:func:`app.aside.taken`),
    else ``compute()``."""
    from app.aside import MISSING, taken
    from interp_core.evaluation.warmup import running

    if (warmup := running()) is not None and not warmup.finished.is_set():
        CACHED.add(key)
    ready = taken(key)
    return compute() if ready is MISSING else ready


@st.cache_data(show_spinner=False, max_entries=512)
def _view_result(target: str, name: str, fingerprint: str, args: tuple, kwargs: tuple):
    return taken_or(entry_key("view", target, name, fingerprint, args, kwargs),
                    lambda: compute_view_result(target, name, args, kwargs, cached_model(name)))


def compute_view_result(target: str, name: str, args: tuple, kwargs: tuple, model: Any = None):
    """What :func:`view_result` computes, from its frozen arguments; ``model`` None: loaded here (the warm-up's
    worker process)."""
    from interp_core.evaluation.models import loaded
    from interp_core.io import thaw

    return _function(target)(loaded(name) if model is None else model, *map(thaw, args), **{k: thaw(v) for k, v in kwargs})


def view_arguments(compute: Callable, name: str, *args, **kwargs) -> tuple:
    """The arguments of :func:`view_result`'s cache for these: ``(target, name, fingerprint, args, kwargs)``."""
    from interp_core.store.catalog import checkpoint_fingerprint

    target, frozen_args, frozen_kwargs = _frozen(compute, args, kwargs)
    return target, name, checkpoint_fingerprint(name), frozen_args, frozen_kwargs


def view_result(compute: Callable, name: str, *args, spinner: str | None = None, **kwargs):
    """``compute(ready model name, *args, **kwargs)`` (a module-level ``interp_core`` function taking a loaded
    model first), cached per weights fingerprint: retrained weights never reuse an older result. Tensors
    among the arguments travel as hashable tokens (:func:`interp_core.io.freeze`)."""
    arguments = view_arguments(compute, name, *args, **kwargs)
    return _spinning(spinner, lambda: _view_result(*arguments))


@st.cache_data(show_spinner=False, max_entries=64)
def _models_result(target: str, fingerprints: tuple, args: tuple, kwargs: tuple):
    # ``fingerprints`` only keys the cache: retrained weights never reuse an older result.
    return taken_or(entry_key("models", target, fingerprints, args, kwargs), lambda: compute_models_result(target, args, kwargs))


def compute_models_result(target: str, args: tuple, kwargs: tuple):
    """What :func:`models_result` computes, from its frozen arguments."""
    from interp_core.io import thaw

    return _function(target)(*map(thaw, args), **{k: thaw(v) for k, v in kwargs})


def models_arguments(compute: Callable, *args, models: tuple[str, ...], **kwargs) -> tuple:
    """The arguments of :func:`models_result`'s cache for these: ``(target, fingerprints, args, kwargs)``."""
    from interp_core.store.catalog import checkpoint_fingerprint

    target, frozen_args, frozen_kwargs = _frozen(compute, args, kwargs)
    return target, tuple((m, checkpoint_fingerprint(m)) for m in models), frozen_args, frozen_kwargs


def models_result(compute: Callable, *args, models: tuple[str, ...], spinner: str | None = None, **kwargs):
    """``compute(*args, **kwargs)`` (a module-level ``interp_core`` function that loads the ready ``models``
    itself, e.g. a comparison), cached per the weights fingerprints of ``models``."""
    arguments = models_arguments(compute, *args, models=models, **kwargs)
    return _spinning(spinner, lambda: _models_result(*arguments))
