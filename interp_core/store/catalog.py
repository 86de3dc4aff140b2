"""Where each recipe's checkpoint lives and what was recorded when it was trained (no torch import)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from interp_core.paths import SHIPPED_CHECKPOINTS, cache_subdir
from interp_core.store.recipes import Recipe, get_recipe, recipe_hash


def checkpoint_stems(recipe: Recipe) -> dict[str, Path]:
    """Candidate checkpoint stems, in load order: the user cache, then the shipped assets."""
    stem = f"{recipe.name}-{recipe_hash(recipe)}"
    return {"cache": cache_subdir("models") / stem, "shipped": SHIPPED_CHECKPOINTS / stem}


def checkpoint_status(name: str) -> str:
    """``"cache"``, ``"shipped"`` or ``"missing"`` (looks at metadata files only; loading verifies)."""
    for source, stem in checkpoint_stems(get_recipe(name)).items():
        if stem.with_suffix(".json").exists():
            return source
    return "missing"


def recorded_metrics(name: str) -> dict[str, Any]:
    """Test metrics recorded in the metadata at training time ({} if missing or unreadable)."""
    status = checkpoint_status(name)
    if status == "missing":
        return {}
    try:
        meta = json.loads(checkpoint_stems(get_recipe(name))[status].with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}
    metrics = meta.get("test_metrics", {}) if isinstance(meta, dict) else {}
    return metrics if isinstance(metrics, dict) else {}
