"""The models this process holds in memory (what :func:`~interp_core.store.models.load_model` and
:func:`~interp_core.store.models.train_recipe` kept for reuse)."""
from __future__ import annotations


def loaded_recipes() -> list[str]:
    """Names of the recipes whose models this process has loaded or trained, in the order it first did."""
    from interp_core.store import models

    return list(dict.fromkeys(key[0] for key in models._LOADED))
