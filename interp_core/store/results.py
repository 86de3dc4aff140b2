"""The one result cache: results computed from trained models, on disk, keyed on what they depend on.

An entry lives in a folder named after the models it was computed from, each by recipe name, recipe hash
and weights fingerprint (:func:`result_dir`), so retrained or newly shipped weights never reuse results
of older ones; inside, a file is named by :func:`~interp_core.io.stable_key` of every setting the result
depends on. The pointing game, Q-SENN's feature naming and tables, PIQ's metrics and the benchmark all
cache here. Writes are atomic; an unreadable entry counts as missing and is recomputed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from interp_core.io import atomic_write, read_json_or_none, stable_key, write_json_atomic
from interp_core.paths import cache_subdir
from interp_core.store.recipes import recipe_hash


def model_tag(loaded: Any) -> str:
    """``NAME-RECIPEHASH-WEIGHTSFINGERPRINT`` of a loaded model (anything with ``recipe`` and ``card``)."""
    return f"{loaded.recipe.name}-{recipe_hash(loaded.recipe)}-{loaded.card.fingerprint}"


def result_dir(kind: str, *models: Any) -> Path:
    """The folder of ``kind``'s results computed from ``models`` (loaded models): one model names it by its
    tag; several by their names and one key over all their tags."""
    if len(models) == 1:
        name = model_tag(models[0])
    else:
        name = "-".join(m.recipe.name for m in models)[:80] + "-" + stable_key([model_tag(m) for m in models])
    folder = cache_subdir(kind) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cached_json(path: Path, compute: Callable[[], Any] | None) -> Any:
    """The JSON result at ``path``; computed by ``compute()`` and stored when missing or unreadable (None
    when missing and ``compute`` is None)."""
    found = read_json_or_none(path)
    if found is not None or compute is None:
        return found
    value = compute()
    write_json_atomic(path, value)
    return value


def read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of the ``.npz`` at ``path`` (never unpickling), or None when missing or unreadable."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, KeyError):
        return None


def write_arrays(path: Path, **arrays: np.ndarray) -> Path:
    """Write ``arrays`` to the ``.npz`` at ``path`` atomically."""
    return atomic_write(path, lambda handle: np.savez(handle, **arrays))


def cached_arrays(path: Path, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays at ``path``; computed by ``compute()`` and stored when missing or unreadable."""
    found = read_arrays(path)
    if found is not None:
        return found
    arrays = compute()
    write_arrays(path, **arrays)
    return arrays
