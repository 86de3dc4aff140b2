"""Loading, training and shipping models by recipe name.

Each recipe kind (``classifier``, and kinds added by method families) has a :class:`RecipeHandler` that
knows how to build the untrained module, train it in place, and evaluate it on the test split.
"""
from __future__ import annotations

import logging
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

import interp_core
from interp_core.data import DatasetInfo, dataset_info, load_split
from interp_core.device import choose_device
from interp_core.paths import SHIPPED_CHECKPOINTS, with_ext
from interp_core.store.catalog import checkpoint_stems
from interp_core.store.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from interp_core.store.recipes import ClassifierRecipe, Recipe, get_recipe, recipe_hash
from interp_core.training.engine import ProgressCallback, evaluate_classifier, fit_classifier, split_train_val

log = logging.getLogger("interp_core.store")


class ModelNotTrainedError(RuntimeError):
    """No verified checkpoint exists for a recipe and training was not allowed."""


@dataclass
class RecipeHandler:
    build: Callable[[Recipe], nn.Module]
    train: Callable[[Recipe, nn.Module, torch.device, ProgressCallback | None, bool], dict[str, Any]]
    evaluate: Callable[[Recipe, nn.Module, torch.device], dict[str, Any]]


HANDLERS: dict[str, RecipeHandler] = {}


@dataclass
class TrainedModel:
    """A ready model: ``model`` in eval mode on ``device``; ``source`` is shipped, cache or trained."""

    recipe: Recipe
    model: nn.Module
    meta: dict[str, Any]
    info: DatasetInfo
    source: str
    device: torch.device
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.recipe.name


# ---------------------------------------------------------------- classifier recipes

def _build_classifier(recipe: ClassifierRecipe) -> nn.Module:
    from interp_core.models import build_model

    info = dataset_info(recipe.dataset)
    return build_model(recipe.arch, in_channels=info.input_shape[0], num_classes=info.num_classes, **recipe.arch_kwargs)


def _train_classifier(recipe: ClassifierRecipe, model: nn.Module, device: torch.device, progress, show_bar: bool) -> dict:
    train_full = load_split(recipe.dataset, "train")
    if recipe.train_subset:
        train_full = train_full.subset(torch.randperm(len(train_full), generator=torch.Generator().manual_seed(recipe.seed))[: recipe.train_subset].sort().values.numpy())
    train, val = split_train_val(train_full, recipe.val_fraction, recipe.seed)
    return fit_classifier(
        model, train, val, epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr,
        weight_decay=recipe.weight_decay, loss=recipe.loss, schedule=recipe.schedule, warmup_epochs=recipe.warmup_epochs,
        patience=recipe.patience, grad_clip=recipe.grad_clip, seed=recipe.seed, device=device, progress=progress,
        show_bar=show_bar,
    )


def _evaluate_classifier(recipe: ClassifierRecipe, model: nn.Module, device: torch.device) -> dict:
    return evaluate_classifier(model, load_split(recipe.dataset, "test"), device, recipe.loss)


HANDLERS["classifier"] = RecipeHandler(_build_classifier, _train_classifier, _evaluate_classifier)


# ---------------------------------------------------------------- store

def _handler(recipe: Recipe) -> RecipeHandler:
    """The handler of the recipe's kind; a recipe module registers its handler lazily through its
    ``register_handler()`` (so that listing recipes stays light)."""
    if recipe.kind not in HANDLERS:
        import importlib

        register = getattr(importlib.import_module(type(recipe).__module__), "register_handler", None)
        if register is not None:
            register()
    try:
        return HANDLERS[recipe.kind]
    except KeyError:
        raise KeyError(f"No handler for recipe kind {recipe.kind!r}.") from None


_LOADED: dict[tuple[str, str, str], TrainedModel] = {}


def _to_device(model: nn.Module, device: torch.device) -> nn.Module:
    return model.to(device).eval().requires_grad_(True)


def load_model(
    name: str,
    device: str | torch.device | None = None,
    *,
    train_if_missing: bool = True,
    progress: ProgressCallback | None = None,
    show_bar: bool = True,
) -> TrainedModel:
    """Return the verified model for recipe ``name``: cached, else shipped, else trained now.

    A checkpoint that fails verification (truncated, tampered, not plain tensors, wrong shapes) is
    refused with a logged message and the model is retrained into the cache.
    """
    recipe = get_recipe(name)
    device = choose_device(device)
    key = (name, recipe_hash(recipe), str(device))
    if key in _LOADED:
        return _LOADED[key]
    handler = _handler(recipe)
    notes: list[str] = []
    for source, stem in checkpoint_stems(recipe).items():
        if not with_ext(stem, ".json").exists():
            continue
        try:
            state, meta = load_checkpoint(stem)
            model = handler.build(recipe)
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as err:
                raise CheckpointError(f"{stem} does not fit recipe {name!r}: {str(err).splitlines()[0]}") from None
        except CheckpointError as err:
            msg = f"Refused {source} checkpoint of {name!r}: {err}"
            log.warning(msg)
            notes.append(msg)
            continue
        loaded = TrainedModel(recipe, _to_device(model, device), meta, dataset_info(recipe.dataset), source, device, notes)
        _LOADED[key] = loaded
        return loaded
    if not train_if_missing:
        raise ModelNotTrainedError(
            f"Model {name!r} is not trained yet. Train it with `python -m interp_core train {name}` or from the Home page."
        )
    loaded = train_recipe(name, device=device, progress=progress, show_bar=show_bar)
    loaded.notes[:0] = notes
    return loaded


def train_recipe(
    name: str,
    device: str | torch.device | None = None,
    *,
    progress: ProgressCallback | None = None,
    show_bar: bool = True,
) -> TrainedModel:
    """Train recipe ``name`` from scratch (seeded), evaluate it on the test split, cache it atomically."""
    recipe = get_recipe(name)
    device = choose_device(device)
    handler = _handler(recipe)
    torch.manual_seed(recipe.seed)
    model = handler.build(recipe).to(device)
    start = time.perf_counter()
    fit = handler.train(recipe, model, device, progress, show_bar)
    seconds = time.perf_counter() - start
    metrics = handler.evaluate(recipe, model.eval(), device)
    meta = {
        "recipe": recipe.to_dict(),
        "recipe_type": type(recipe).__name__,
        "recipe_hash": recipe_hash(recipe),
        "seed": recipe.seed,
        "test_metrics": metrics,
        "fit": fit,
        "train_seconds": round(seconds, 2),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "interp_core_version": interp_core.__version__,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    state = {k: v for k, v in model.state_dict().items()}
    save_checkpoint(checkpoint_stems(recipe)["cache"], state, meta)
    log.info("trained %s in %.1fs: %s", name, seconds, metrics)
    loaded = TrainedModel(recipe, _to_device(model, device), meta, dataset_info(recipe.dataset), "trained", device)
    _LOADED[(name, recipe_hash(recipe), str(device))] = loaded
    return loaded


def evaluate_recipe(name: str, device: str | torch.device | None = None, *, train_if_missing: bool = False) -> dict[str, Any]:
    """Metrics computed now on the test split, from the cached or shipped model."""
    loaded = load_model(name, device, train_if_missing=train_if_missing)
    metrics = _handler(loaded.recipe).evaluate(loaded.recipe, loaded.model, loaded.device)
    return {"recipe": name, "source": loaded.source, **metrics}


def ship_recipe(name: str) -> Path:
    """Copy the cached checkpoint of ``name`` into ``assets/checkpoints`` (removing older versions)."""
    recipe = get_recipe(name)
    stems = checkpoint_stems(recipe)
    load_checkpoint(stems["cache"])  # verify before shipping
    SHIPPED_CHECKPOINTS.mkdir(parents=True, exist_ok=True)
    for old in SHIPPED_CHECKPOINTS.glob(f"{name}-*"):
        if old.stem.rsplit("-", 1)[0] == name:
            old.unlink()
    for suffix in (".safetensors", ".json"):
        shutil.copy2(with_ext(stems["cache"], suffix), with_ext(stems["shipped"], suffix))
    return stems["shipped"]
