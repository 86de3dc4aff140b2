"""Retraining the shipped default models reproducibly and copying them into ``assets/checkpoints``."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from interp_core.store.models import TrainedModel


def shipped_recipe_names() -> list[str]:
    """Recipes marked ``shipped`` (a checkpoint of each ships in assets/), in registry order."""
    from interp_core.store.recipes import all_recipes

    return [r.name for r in all_recipes().values() if r.shipped]


def retrain_and_ship(names: list[str] | None = None, device: str | torch.device | None = None, *,
                     show_bar: bool = True) -> Iterator[tuple[TrainedModel, Path]]:
    """Train each recipe of ``names`` (default: every shipped one) from scratch and ship it; yields each
    trained model with the stem of its shipped checkpoint as soon as it is in place."""
    from interp_core.store.models import ship_recipe, train_recipe

    for name in names or shipped_recipe_names():
        trained = train_recipe(name, device=device, show_bar=show_bar)
        yield trained, ship_recipe(name)
