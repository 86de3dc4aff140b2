"""The handler of ``bcosified`` recipes: convert a trained classifier into a B-cos network and fine-tune it
(B-cosification, Arya et al., NeurIPS 2024).

``build`` converts the base recipe's *architecture* (so a checkpoint loads into it); ``train`` loads the
base's trained weights, converts them with :func:`~interp_core.models.bcos.bcosify.bcosify` and fine-tunes
every parameter through the training engine as the named stage ``"bcosify"``, which records the validation
accuracy and seconds of every epoch (the speed-up against the from-scratch twin is read off them,
:mod:`interp_core.methods.bcos.bcosify_metrics`), with the converted model's accuracy before the first
epoch beside them. ``evaluate`` adds the comparisons of :func:`~interp_core.methods.bcos.bcosify_metrics.bcosified_metrics`.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from interp_core.data import dataset_info, load_split
from interp_core.data.base import Split
from interp_core.methods.bcos.bcosify_metrics import bcosified_metrics
from interp_core.methods.bcos.bcosify_recipes import BcosifiedRecipe
from interp_core.models.bcos.augment import AUGMENTATIONS
from interp_core.models.bcos.bcosify import bcosify
from interp_core.models.bcos.networks import BcosNetwork
from interp_core.progress import ProgressCallback, stage_progress
from interp_core.store.models import HANDLERS, RecipeHandler, load_model, register_handler
from interp_core.store.recipes import get_recipe
from interp_core.training.engine import evaluate_classifier, fit_classifier, split_train_val


def convert(recipe: BcosifiedRecipe, classifier: nn.Module) -> BcosNetwork:
    """``classifier`` (the base recipe's module) B-cosified with the recipe's settings."""
    if recipe.augment not in AUGMENTATIONS:
        raise ValueError(f"Unknown augment {recipe.augment!r}; expected one of {sorted(AUGMENTATIONS)}.")
    augmentation = AUGMENTATIONS[recipe.augment]
    return bcosify(classifier, tuple(dataset_info(recipe.dataset).input_shape), b=recipe.b, avg_pool=recipe.avg_pool,
                   input_mean=tuple(recipe.input_mean), input_std=tuple(recipe.input_std), temperature=recipe.temperature,
                   augment=augmentation() if augmentation else None)


def build_bcosified(recipe: BcosifiedRecipe) -> BcosNetwork:
    """The converted architecture of ``recipe.base`` (untrained weights): what a checkpoint loads into."""
    if not recipe.base:
        raise ValueError(f"{recipe.name!r} names no base classifier to B-cosify.")
    base = get_recipe(recipe.base)
    if base.dataset != recipe.dataset:
        raise ValueError(f"{recipe.name!r} fine-tunes on {recipe.dataset!r}, but its base {base.name!r} classifies {base.dataset!r}.")
    return convert(recipe, HANDLERS.get(base.kind).build(base))


def _training_samples(recipe: BcosifiedRecipe) -> Split:
    """The training split, or its seeded random ``train_subset`` (in their original order)."""
    split = load_split(recipe.dataset, "train")
    if not recipe.train_subset or recipe.train_subset >= len(split):
        return split
    chosen = torch.randperm(len(split), generator=torch.Generator().manual_seed(recipe.seed))[: recipe.train_subset]
    return split.subset(chosen.sort().values.numpy())


def train_bcosified(recipe: BcosifiedRecipe, model: BcosNetwork, device: torch.device, progress: ProgressCallback | None,
                    show_bar: bool) -> dict:
    base = load_model(recipe.base, device, show_bar=False)
    model.load_state_dict(convert(recipe, base.model).state_dict())
    train, val = split_train_val(_training_samples(recipe), recipe.val_fraction, recipe.seed)
    converted = evaluate_classifier(model, val, device, recipe.loss)
    fit = fit_classifier(
        model, train, val, epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr, weight_decay=recipe.weight_decay,
        loss=recipe.loss, schedule=recipe.schedule, patience=recipe.patience, seed=recipe.seed, device=device,
        progress=stage_progress(progress, "bcosify", 0.0, 1.0), show_bar=show_bar, stage="bcosify",
    )
    return {**fit, "converted_val_accuracy": converted["accuracy"], "base": base.name, "base_fingerprint": base.card.fingerprint}


def evaluate_bcosified(recipe: BcosifiedRecipe, model: BcosNetwork, device: torch.device) -> dict:
    return bcosified_metrics(recipe, model, device)


register_handler("bcosified", RecipeHandler(build_bcosified, train_bcosified, evaluate_bcosified))
