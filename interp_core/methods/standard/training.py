"""The handler of ``classifier`` recipes: build the architecture, train it with the engine, test it."""
from __future__ import annotations

import torch
import torch.nn as nn

from interp_core.data import dataset_info, load_split
from interp_core.methods.standard.recipes import ClassifierRecipe
from interp_core.store.models import RecipeHandler, register_handler
from interp_core.training.engine import evaluate_classifier, fit_classifier, split_train_val


def build_classifier(recipe: ClassifierRecipe) -> nn.Module:
    from interp_core.models import build_model

    info = dataset_info(recipe.dataset)
    return build_model(recipe.arch, in_channels=info.input_shape[0], num_classes=info.num_classes, **recipe.arch_kwargs)


def train_classifier(recipe: ClassifierRecipe, model: nn.Module, device: torch.device, progress, show_bar: bool) -> dict:
    train_full = load_split(recipe.dataset, "train")
    if recipe.train_subset:
        order = torch.randperm(len(train_full), generator=torch.Generator().manual_seed(recipe.seed))
        train_full = train_full.subset(order[: recipe.train_subset].sort().values.numpy())
    train, val = split_train_val(train_full, recipe.val_fraction, recipe.seed)
    return fit_classifier(
        model, train, val, epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr,
        weight_decay=recipe.weight_decay, loss=recipe.loss, schedule=recipe.schedule, warmup_epochs=recipe.warmup_epochs,
        patience=recipe.patience, grad_clip=recipe.grad_clip, seed=recipe.seed, device=device, progress=progress,
        show_bar=show_bar,
    )


def evaluate_classifier_recipe(recipe: ClassifierRecipe, model: nn.Module, device: torch.device) -> dict:
    return evaluate_classifier(model, load_split(recipe.dataset, "test"), device, recipe.loss)


register_handler("classifier", RecipeHandler(build_classifier, train_classifier, evaluate_classifier_recipe))
