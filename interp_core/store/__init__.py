"""Model store: recipes by name, trained models cached under the recipe hash, shipped defaults in assets/.

``load_model("cnn-shapes")`` returns the shipped or cached model, or trains it (with progress) when
neither exists or the file on disk fails verification.
"""
from interp_core.store.checkpoint import CheckpointError, load_checkpoint, load_state_file, save_checkpoint
from interp_core.store.models import (
    HANDLERS,
    ModelNotTrainedError,
    RecipeHandler,
    TrainedModel,
    checkpoint_status,
    evaluate_recipe,
    load_model,
    ship_recipe,
    train_recipe,
)
from interp_core.store.recipes import ClassifierRecipe, Recipe, all_recipes, get_recipe, recipe_hash, register_recipe

__all__ = [
    "HANDLERS", "CheckpointError", "ClassifierRecipe", "ModelNotTrainedError", "Recipe", "RecipeHandler", "TrainedModel",
    "all_recipes", "checkpoint_status", "evaluate_recipe", "get_recipe", "load_checkpoint", "load_model",
    "load_state_file", "recipe_hash", "register_recipe", "save_checkpoint", "ship_recipe", "train_recipe",
]
