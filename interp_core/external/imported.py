"""Your own trained classifiers as recipes: ``python -m interp_core import-model`` (torch-free here).

An imported model is an :class:`ImportedRecipe`, a classifier recipe that is never trained here: its
weights come from your file, checked and stored in the user cache by :mod:`interp_core.external.importer`
as a checkpoint like every trained one (``<cache>/models/<name>-<hash>.safetensors`` + ``.json``), and its
recipe is kept beside them as ``<cache>/imported/<name>.json``. This module is a recipe provider: when the
recipe registry loads, every imported model whose checkpoint is present is registered again, with its
dataset, so ``load_model(name)``, Compare, the pointing game, the pages and the family recipes built on a
classifier take it as they take ours. Its card's ``kind`` is ``classifier``, so every post-hoc method
explains it; ``bcos-*`` architectures belong to the B-cos family, so the B-cos explainer does too.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from interp_core import guards
from interp_core.external.datasets import is_real_name, register_real_dataset
from interp_core.io import write_json_atomic
from interp_core.methods.standard.recipes import ClassifierRecipe
from interp_core.paths import cache_subdir, with_ext
from interp_core.store.catalog import checkpoint_stems
from interp_core.store.recipes import RECIPES, register_recipe
from interp_core.store.trainable import register_refusal

log = logging.getLogger("interp_core.external")

#: What ``ImportedRecipe.schedule`` holds: never a real schedule, so that the training engine refuses to
#: "retrain" imported weights (e.g. after their cached file was corrupted) before it writes anything.
NOT_TRAINED_HERE = "none (imported weights are never trained here: run import-model again)"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class ImportedRecipe(ClassifierRecipe):
    """A classifier whose weights were imported, not trained: ``arch`` and ``arch_kwargs`` build the
    module the weights load into, ``loss`` says how it was trained (``"ce"``: softmax outputs, ``"bce"``:
    sigmoid, as B-cos models), ``weights_sha256`` is the digest of the imported tensors (so re-importing
    other weights under the same name gives another hash, never a stale result cache)."""

    weights_sha256: str = ""
    schedule: str = NOT_TRAINED_HERE
    epochs: int = 0


def imported_dir() -> Path:
    return cache_subdir("imported")


def spec_path(name: str) -> Path:
    return imported_dir() / f"{name}.json"


def is_imported(name: str) -> bool:
    return isinstance(RECIPES.get(name), ImportedRecipe) if name in RECIPES else False


def recipe_from_dict(payload: dict[str, Any]) -> ImportedRecipe:
    """The recipe of a spec file's ``recipe`` dict (unknown keys ignored, as written by ``to_dict``)."""
    known = {f.name for f in fields(ImportedRecipe) if f.init}
    values = {k: v for k, v in payload.items() if k in known}
    values["arch_kwargs"] = dict(values.get("arch_kwargs") or {})
    return ImportedRecipe(**values)


def write_spec(recipe: ImportedRecipe, card: dict[str, Any], source: dict[str, Any]) -> Path:
    """Write ``<cache>/imported/<name>.json`` atomically: the recipe, its card and where the weights came from."""
    return write_json_atomic(spec_path(recipe.name), {"format": 1, "recipe": recipe.to_dict(), "card": card, "source": source})


def read_spec(name: str) -> dict[str, Any] | None:
    """The spec of imported model ``name`` (None if absent or unreadable; nothing raises)."""
    try:
        payload = guards.read_json(spec_path(name))
    except guards.GuardError:
        return None
    return payload if isinstance(payload, dict) and isinstance(payload.get("recipe"), dict) else None


def imported_card(name: str) -> dict[str, Any]:
    """The model card recorded at import ({} if none)."""
    spec = read_spec(name) or {}
    card = spec.get("card")
    return card if isinstance(card, dict) else {}


def register_imported(recipe: ImportedRecipe) -> ImportedRecipe:
    """Register ``recipe`` and its dataset (when it names a real dataset folder)."""
    if is_real_name(recipe.dataset):
        register_real_dataset(recipe.dataset)
    register_refusal(recipe.name, lambda device, name=recipe.name: (
        f"{name!r} is an imported model; its weights are not trained here (import-model --replace brings in new ones)."))
    return register_recipe(recipe)


def _register_all() -> None:
    """Every imported model whose checkpoint is present (a spec without one is skipped with a log line)."""
    for path in sorted(imported_dir().glob("*.json")):
        spec = read_spec(path.stem)
        if spec is None:
            log.warning("skipped unreadable imported-model file %s", path)
            continue
        try:
            recipe = recipe_from_dict(spec["recipe"])
        except (TypeError, ValueError) as err:
            log.warning("skipped imported-model file %s: %s", path, err)
            continue
        if recipe.name != path.stem or not with_ext(checkpoint_stems(recipe)["cache"], ".json").exists():
            log.warning("skipped imported model %s: its checkpoint is missing; run import-model again", path.stem)
            continue
        register_imported(recipe)


_register_all()
