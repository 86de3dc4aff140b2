"""Recipes: frozen dataclasses that fully describe how a model is trained, in one registry by name.

A trained model is cached under :func:`recipe_hash` (a content hash of every field but the
description), so changing any hyper-parameter means a different model, never a stale one.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

RECIPES: dict[str, "Recipe"] = {}
# Modules that register recipes when imported; each method family adds its own module here.
_PROVIDERS = (
    "interp_core.store.default_recipes",
    "interp_core.store.bcos_recipes",
    "interp_core.store.kmex_recipes",
)


@dataclass(frozen=True)
class Recipe:
    name: str
    dataset: str
    description: str = ""
    seed: int = 0
    #: a checkpoint of this recipe ships in assets/ (``python -m interp_core ship`` retrains them all)
    shipped: bool = False

    kind: str = field(default="recipe", init=False)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ClassifierRecipe(Recipe):
    """Supervised training of an architecture from ``interp_core.models`` on an embedded dataset.

    ``loss``: ``"ce"`` (softmax cross-entropy), ``"bce"`` (one-hot binary cross-entropy, B-cos v1) or
    ``"bce-uniform"`` (BCE with off-labels 1/C, B-cos v2). ``patience``: epochs without validation
    improvement before early stopping. ``train_subset``: cap on training samples (0 = all).
    """

    arch: str = "cnn"
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    loss: str = "ce"
    schedule: str = "cosine"
    warmup_epochs: int = 0
    patience: int = 3
    val_fraction: float = 0.1
    train_subset: int = 0
    grad_clip: float = 0.0

    kind: str = field(default="classifier", init=False)


def recipe_hash(recipe: Recipe) -> str:
    """12-hex content hash of everything that changes the trained weights."""
    payload = {k: v for k, v in recipe.to_dict().items() if k not in ("description", "shipped")}
    payload["__type__"] = type(recipe).__name__
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def register_recipe(recipe: Recipe) -> Recipe:
    RECIPES[recipe.name] = recipe
    return recipe


def _load_providers() -> None:
    import importlib

    for module in _PROVIDERS:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def all_recipes() -> dict[str, Recipe]:
    _load_providers()
    return dict(RECIPES)


def get_recipe(name: str) -> Recipe:
    _load_providers()
    if name not in RECIPES:
        raise KeyError(f"Unknown recipe {name!r}. Available: {', '.join(sorted(RECIPES))}.")
    return RECIPES[name]
