"""A recipe's test metrics together with the provenance of every model they were computed from."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def evaluate_with_code_status(name: str, device: str | torch.device | None = None, *,
                              train_if_missing: bool = False) -> dict[str, Any]:
    """:func:`~interp_core.store.models.evaluate_recipe`'s metrics plus ``code_status``: for every model
    this process has read (the recipe's own, its backbone, the models it is compared with), whether
    today's code trained it (current, stale, unknown). A stale comparison must not pass silently."""
    from interp_core.store import catalog
    from interp_core.store.loaded import loaded_recipes
    from interp_core.store.models import evaluate_recipe

    metrics = evaluate_recipe(name, device=device, train_if_missing=train_if_missing)
    metrics["code_status"] = {model: catalog.code_status(model) for model in loaded_recipes()}
    return metrics


def not_trained_by_current_code(code_status: dict[str, str]) -> list[str]:
    """``"name (state)"`` for each model of ``code_status`` that today's code did not train (or cannot tell)."""
    return [f"{name} ({state})" for name, state in code_status.items() if state in ("stale", "unknown")]
