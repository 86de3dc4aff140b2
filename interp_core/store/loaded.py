"""The models this process holds in memory (what :func:`~interp_core.store.models.load_model` and
:func:`~interp_core.store.models.train_recipe` kept for reuse)."""
from __future__ import annotations


def loaded_recipes() -> list[str]:
    """Names of the recipes whose models this process has loaded or trained, in the order it first did (a
    recipe unregistered since, such as a removed imported model, is left out: it has no status any more)."""
    from interp_core.store import models
    from interp_core.store.recipes import RECIPES

    return [name for name in dict.fromkeys(key[0] for key in models._LOADED) if name in RECIPES]
