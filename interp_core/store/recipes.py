"""Recipes: frozen dataclasses that fully describe how a model is made, in one registry by name.

A trained model is cached under :func:`recipe_hash` (a content hash of every field but the description
and the shipping flag), so changing any hyper-parameter means a different model, never a stale one.
Each method family defines its recipe types and registers its recipes in its own torch-free
``recipes`` module (see :mod:`interp_core.families`); this module knows none of them.
"""
from __future__ import annotations

import dataclasses
import importlib
import sys
from dataclasses import dataclass, field
from typing import Any

from interp_core.families import family_modules
from interp_core.io import stable_key
from interp_core.registry import Registry

#: Recipe providers outside the families: the papers' recipes on real data, the models you imported and
#: the family recipes derived for them (after the imports they start from), and the creatures benchmark's.
EXTERNAL_PROVIDERS = ("interp_core.external.recipes", "interp_core.external.imported", "interp_core.external.derived",
                      "interp_core.external.creatures")
RECIPES: Registry["Recipe"] = Registry("recipe", lambda: [*family_modules("recipes"), *EXTERNAL_PROVIDERS])
#: Architectures registered outside ``interp_core.models`` (name -> the module that registers it), filled
#: by torch-free recipe providers: :func:`get_recipe` imports the module of a recipe's ``arch``.
ARCHITECTURE_MODULES: dict[str, str] = {}


@dataclass(frozen=True)
class Recipe:
    """Base of every recipe. ``kind`` names the handler that builds, trains and evaluates it (one per
    recipe type, registered by its family); ``family`` is the family that owns the recipe (not hashed)."""

    name: str
    dataset: str
    description: str = ""
    seed: int = 0
    #: a checkpoint of this recipe ships in assets/ (``python -m interp_core ship`` retrains them all)
    shipped: bool = False
    family: str = field(default="", compare=False)

    kind: str = field(default="recipe", init=False)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def output_activation(self) -> str:
        """How the model's outputs become probabilities: ``"softmax"`` or ``"sigmoid"``."""
        return "softmax"

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Recipes whose trained weights this one is built on (e.g. a frozen backbone)."""
        return ()

    def moved_to(self, dataset: str) -> dict[str, Any]:
        """Field changes this recipe needs when it is re-made for another ``dataset`` (e.g. by ``derive``
        for an imported model): options that only that dataset supports are turned off. None by default."""
        return {}

    @property
    def training_datasets(self) -> tuple[str, ...]:
        """Every dataset its training reads (their generators shape the weights): ``dataset`` unless a
        recipe type trains on more."""
        return (self.dataset,)


#: Fields that do not change the trained weights.
_UNHASHED = ("description", "shipped", "family")


def recipe_hash(recipe: Recipe) -> str:
    """12-hex content hash of everything that changes the trained weights (kept per recipe object: recipes are
    frozen, and every view asks for its models' hashes on every run)."""
    kept = _HASHES.get(id(recipe))
    if kept is not None and kept[0] is recipe:
        return kept[1]
    payload = {k: v for k, v in recipe.to_dict().items() if k not in _UNHASHED}
    payload["__type__"] = type(recipe).__name__
    digest = stable_key(payload)
    _HASHES[id(recipe)] = (recipe, digest)
    return digest


#: recipe_hash per recipe object (the object kept, so its id is never reused while it is here).
_HASHES: dict[int, tuple[Recipe, str]] = {}


def register_recipe(recipe: Recipe) -> Recipe:
    if not recipe.family:
        raise ValueError(f"Recipe {recipe.name!r} names no family; set family= to the package that owns it.")
    return RECIPES.register(recipe.name, recipe)


def all_recipes() -> dict[str, Recipe]:
    return dict(RECIPES.items())


def get_recipe(name: str) -> Recipe:
    """The recipe ``name``. Once torch is imported (building a model needs it; listing stays torch-free),
    also imports the module that registers its architecture when that lives outside ``interp_core.models``."""
    recipe = RECIPES.get(name)
    module = ARCHITECTURE_MODULES.get(str(getattr(recipe, "arch", "")))
    if module is not None and "torch" in sys.modules:
        importlib.import_module(module)
    return recipe
