"""What this installation holds: every recipe with the state of its checkpoint, the embedded datasets
and the explanation methods (``python -m interp_core list``)."""
from __future__ import annotations

from typing import Any


def recipe_rows() -> list[dict[str, Any]]:
    """One row per registered recipe, in registry order: ``name``, ``family``, ``kind``, ``dataset``,
    ``hash``, ``status`` (where its checkpoint is: shipped, cache, missing), ``code`` (current, stale or
    unknown: whether today's code trained it), ``shipped``, ``description``; an imported model adds
    ``imported`` and its ``card``, a recipe derived for one adds ``derived`` (what it was derived from)."""
    from interp_core.external.derived import derived_from
    from interp_core.external.imported import ImportedRecipe, imported_card
    from interp_core.store import all_recipes, checkpoint_status, code_status, recipe_hash

    rows = []
    for r in all_recipes().values():
        row = {"name": r.name, "family": r.family, "kind": r.kind, "dataset": r.dataset, "hash": recipe_hash(r),
               "status": checkpoint_status(r.name), "code": code_status(r.name), "shipped": r.shipped,
               "description": r.description}
        if isinstance(r, ImportedRecipe):
            row.update(imported=True, card=imported_card(r.name))
        if origin := derived_from(r.name):
            row["derived"] = origin
        rows.append(row)
    return rows


def inventory() -> dict[str, Any]:
    """``{"recipes": recipe_rows(), "datasets": {name: description}, "methods": [explainer names]}``."""
    from interp_core.data import embedded_datasets
    from interp_core.methods import available_explainers

    return {"recipes": recipe_rows(), "datasets": embedded_datasets(), "methods": available_explainers()}
