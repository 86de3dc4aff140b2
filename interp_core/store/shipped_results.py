"""Results shipped beside the checkpoints: what the dashboard's default views need from the shipped models,
computed once by ``python -m interp_core ship-results`` so that a fresh install does not compute it in front
of its first visitor.

A shipped result is a file of the one result cache (:mod:`interp_core.store.results`) copied under
``assets/results`` at the same relative path, ``KIND/NAME-RECIPEHASH-WEIGHTSFINGERPRINT/FILE``: it is found
only through the folder that :func:`~interp_core.store.results.result_dir` names for the loaded model, so it
is used exactly when the recipe hash and the weights fingerprint match (as the shipped UMAP projections are
keyed on the weights) and retrained or other weights compute their own. The readers here look in the
user's cache first, then among the shipped results, and compute (and cache on disk) what neither has.
"""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from interp_core.io import read_json_or_none
from interp_core.paths import ASSETS_DIR, cache_dir
from interp_core.store.results import cached_arrays, cached_json, read_arrays

SHIPPED_RESULTS = ASSETS_DIR / "results"
_shipped_in_use = [True]


@contextlib.contextmanager
def computing_afresh() -> Iterator[None]:
    """Within the block the shipped results are not read: what is missing from the cache is computed (how
    ``ship-results`` makes the files it ships)."""
    _shipped_in_use[0] = False
    try:
        yield
    finally:
        _shipped_in_use[0] = True


def shipped_twin(path: Path, shipped: Path | None = None) -> Path | None:
    """Where the shipped copy of result-cache file ``path`` would lie (under ``shipped``, default
    :data:`SHIPPED_RESULTS`); None for a path outside the cache, or inside :func:`computing_afresh`."""
    if not _shipped_in_use[0]:
        return None
    try:
        relative = Path(path).resolve().relative_to(cache_dir().resolve())
    except ValueError:
        return None
    return (shipped or SHIPPED_RESULTS) / relative


def shipped_or_cached_json(path: Path, compute: Callable[[], Any] | None) -> Any:
    """:func:`~interp_core.store.results.cached_json` that first takes the shipped copy of ``path`` when the
    cache has none (a shipped copy is read, never copied into the cache)."""
    if read_json_or_none(path) is None and (twin := shipped_twin(path)) is not None:
        found = read_json_or_none(twin)
        if found is not None:
            return found
    return cached_json(path, compute)


def shipped_or_cached_arrays(path: Path, compute: Callable[[], dict[str, np.ndarray]], *,
                             compressed: bool = False) -> dict[str, np.ndarray]:
    """:func:`~interp_core.store.results.cached_arrays` that first takes the shipped copy of ``path`` when
    the cache has none; ``compressed`` writes what it computes as a compressed ``.npz`` (pictures that ship)."""
    if not Path(path).exists() and (twin := shipped_twin(path)) is not None:
        found = read_arrays(twin)
        if found is not None:
            return found
    if not compressed:
        return cached_arrays(path, compute)
    found = read_arrays(path)
    if found is None:
        from interp_core.io import atomic_write

        found = compute()
        atomic_write(path, lambda handle: np.savez_compressed(handle, **found))
    return found


def ship_result_files(home: Path, tags: set[str], shipped: Path | None = None) -> list[Path]:
    """Copy every result file under the cache folder ``home`` whose model folder is one of ``tags``
    (``NAME-RECIPEHASH-WEIGHTSFINGERPRINT`` of the shipped models) to the shipped results, and remove the
    shipped results of any other weights (retrained or retired models); returns the copies."""
    target = shipped or SHIPPED_RESULTS
    if target.is_dir():
        for folder in [p for kind in target.iterdir() if kind.is_dir() for p in kind.iterdir()]:
            if folder.is_dir() and folder.name not in tags:
                shutil.rmtree(folder)
    copied = []
    for kind in sorted(p for p in Path(home).iterdir() if p.is_dir()):
        for folder in sorted(p for p in kind.iterdir() if p.is_dir() and p.name in tags):
            for file in sorted(f for f in folder.rglob("*") if f.is_file() and not f.name.startswith(".")):
                destination = target / file.relative_to(home)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, destination)
                copied.append(destination)
    return copied
