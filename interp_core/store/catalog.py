"""Where each recipe's checkpoint lives and what was recorded when it was trained (no torch import)."""
from __future__ import annotations

from copy import deepcopy
from pathlib import Path
from typing import Any

from interp_core import guards
from interp_core.paths import SHIPPED_CHECKPOINTS, cache_subdir, with_ext
from interp_core.store.recipes import Recipe, get_recipe, recipe_hash


def checkpoint_stems(recipe: Recipe) -> dict[str, Path]:
    """Candidate checkpoint stems, in load order: the user cache, then the shipped assets."""
    stem = f"{recipe.name}-{recipe_hash(recipe)}"
    return {"cache": cache_subdir("models") / stem, "shipped": SHIPPED_CHECKPOINTS / stem}


#: Metadata already read, per file: ``(modification time ns, size)`` when read, and the dict.
_READ: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def _read_meta(stem: Path, copy: bool = True) -> dict[str, Any] | None:
    """The metadata dict beside ``stem``, or None if it is absent, not a regular file, too large, too
    deeply nested, not JSON or not a dict (the guards' checks; nothing raises). A file read before and not
    changed since (same modification time and size) is not parsed again: every view asks on every run.
    ``copy=False`` returns the kept dict itself, for readers that change nothing (a deep copy of a card
    with its training history costs more than the rest of a status check)."""
    path = with_ext(stem, ".json")
    try:
        stat = path.stat()
    except OSError:
        return None
    seen = _READ.get(path)
    if seen is not None and seen[0] == (stat.st_mtime_ns, stat.st_size):
        return deepcopy(seen[1]) if copy else seen[1]
    try:
        meta = guards.read_json(path)
    except guards.GuardError:
        return None
    if not isinstance(meta, dict):
        return None
    _READ[path] = ((stat.st_mtime_ns, stat.st_size), meta)
    return deepcopy(meta) if copy else meta


def _first_readable(name: str, copy: bool = True) -> tuple[str, dict[str, Any]]:
    """``(source, metadata)`` of the first checkpoint in load order whose metadata reads: a corrupt cache
    copy falls back to the shipped one, as ``load_model`` does. ``(source, {})`` where metadata files
    exist but none reads; ``("missing", {})`` where there is none."""
    present = None
    for source, stem in checkpoint_stems(get_recipe(name)).items():
        if not with_ext(stem, ".json").exists():
            continue
        meta = _read_meta(stem, copy)
        if meta is not None:
            return source, meta
        present = present or source
    return (present, {}) if present else ("missing", {})


def ready_models(*, kind: str | None = None, family: str | None = None, dataset: str | None = None,
                 modality: str | None = None) -> list[str]:
    """Recipes with a checkpoint on disk (shipped or cached), in registry order, optionally only those of
    one ``kind`` (``classifier``, ``kmex``, ``piq``, ...), ``family``, ``dataset`` or ``modality``
    (``image``/``audio``): the one catalog query every view and evaluation picks its models with."""
    from interp_core.store.recipes import all_recipes

    def wanted(recipe: Recipe) -> bool:
        if (kind is not None and recipe.kind != kind) or (family is not None and recipe.family != family):
            return False
        if (dataset is not None and recipe.dataset != dataset) or checkpoint_status(recipe.name) == "missing":
            return False
        if modality is not None:  # after the status: a recipe on a real dataset is registered with its model
            from interp_core.data import dataset_info

            return dataset_info(recipe.dataset).kind == modality
        return True

    return [r.name for r in all_recipes().values() if wanted(r)]


def checkpoint_status(name: str) -> str:
    """``"cache"``, ``"shipped"`` or ``"missing"``: the first source whose metadata file reads (if none
    reads, the first that exists). Looks at metadata files only; loading verifies the weights."""
    return _first_readable(name, copy=False)[0]


def checkpoint_meta(name: str, *, copy: bool = True) -> dict[str, Any]:
    """The metadata of the checkpoint ``load_model(name)`` would load ({} if missing or unreadable);
    ``copy=False``: the kept dict itself, which the caller must not change."""
    return _first_readable(name, copy)[1]


def recorded_metrics(name: str) -> dict[str, Any]:
    """Test metrics recorded in the metadata at training time ({} if missing or unreadable)."""
    metrics = checkpoint_meta(name, copy=False).get("test_metrics", {})
    return deepcopy(metrics) if isinstance(metrics, dict) else {}


def recorded_date(name: str) -> str:
    """When the checkpoint's weights were trained, ``YYYY-MM-DD`` ("" if unknown)."""
    return str(checkpoint_meta(name, copy=False).get("created", ""))[:10]


def checkpoint_fingerprint(name: str) -> str:
    """Short SHA-256 of the weights that ``load_model(name)`` would load ("missing" if none): result caches
    key on it so that retrained or newly shipped weights never reuse results of older ones."""
    meta = checkpoint_meta(name, copy=False)
    if not meta:
        return "missing" if checkpoint_status(name) == "missing" else "unreadable"
    sha = meta.get("weights_sha256")
    return str(sha)[:12] if isinstance(sha, str) else "unreadable"


def code_status(name: str) -> str:
    """Whether the checkpoint ``load_model(name)`` would load was trained by today's code: ``"current"``,
    ``"stale"`` (a module that shapes its training changed since: retraining would give other weights;
    also a record in the older single-hash form, which cannot say which module it covered),
    ``"unknown"`` (trained before fingerprints were recorded), ``"imported"`` (weights imported, not
    trained here: no training code to be stale against) or ``"missing"``."""
    if checkpoint_meta(name, copy=False).get("imported"):
        return "imported"
    changed = stale_modules(name)
    if changed is None:
        meta = checkpoint_meta(name)
        return "missing" if not meta else ("unknown" if "code_fingerprint" not in meta else "stale")
    return "stale" if changed else "current"


def stale_modules(name: str) -> list[str] | None:
    """The modules whose change since training makes ``name``'s checkpoint stale (``[]``: current);
    None when there is no checkpoint or it records no per-module fingerprint."""
    from interp_core.store.provenance import changed_modules

    meta = checkpoint_meta(name, copy=False)
    if not meta:
        return None
    return changed_modules(get_recipe(name), meta.get("code_fingerprint"))


def warm_up(context) -> None:
    """Home's default view, warmed at server start (:mod:`interp_core.evaluation.warmup`): every recipe's
    status and code status (the provenance parse behind "trained by"), then the device (imports torch)."""
    context.step("reading the model store", read_store)
    context.step("detecting the device", _device)


def read_store() -> dict[str, str]:
    """Every recipe's code status (the provenance parse behind Home's "trained by" and every model picker)."""
    from interp_core.store.recipes import all_recipes

    return {name: code_status(name) for name in all_recipes()}


def _device() -> str:
    from interp_core.device import choose_device, describe_device

    return describe_device(choose_device())
