"""Model store: recipes by name, trained models cached under the recipe hash, shipped defaults in assets/.

``load_model("cnn-shapes")`` returns the shipped or cached model with its card, or trains it (with
progress) when neither exists or the file on disk fails verification. Generic: every family registers its
recipes and recipe handlers here through :mod:`interp_core.families`. Names are resolved lazily so that
light uses (listing recipes, reading recorded metrics) never import torch.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "interp_core.store.recipes": ("RECIPES", "Recipe", "all_recipes", "get_recipe", "recipe_hash", "register_recipe"),
    "interp_core.store.card": ("ModelCard", "state_fingerprint"),
    "interp_core.store.provenance": ("code_fingerprint", "training_modules"),
    "interp_core.store.catalog": ("checkpoint_fingerprint", "code_status", "stale_modules", "checkpoint_meta", "checkpoint_stems", "checkpoint_status",
                                  "recorded_date", "recorded_metrics"),
    "interp_core.store.checkpoint": ("CheckpointError", "load_checkpoint", "load_state_file", "save_checkpoint"),
    "interp_core.store.models": ("HANDLERS", "ModelNotTrainedError", "RecipeHandler", "TrainedModel", "evaluate_recipe",
                                 "load_model", "model_card", "register_handler", "ship_recipe", "train_recipe"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'interp_core.store' has no attribute {name!r}")
