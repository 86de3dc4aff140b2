"""The handler of ``kmex`` recipes: load the frozen backbone, fit :class:`KMExFitter`, measure Tables 1/2,
and ship the default Fig. 2 projection beside the checkpoint."""
from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn as nn

from interp_core.data import load_split
from interp_core.methods.kmex.fitting import KMExFitter, evaluate_kmex
from interp_core.methods.kmex.model import KMExModel
from interp_core.methods.kmex.recipes import KMExRecipe
from interp_core.store.models import RecipeHandler, TrainedModel, load_model, register_handler
from interp_core.store.recipes import get_recipe


def _variants(recipe: KMExRecipe, backbone: nn.Module, input_shape: tuple[int, ...]) -> list[str]:
    from interp_core.methods.kmex.encoder import variant_name

    with torch.no_grad():
        device = next(backbone.parameters()).device
        n_blocks = len(backbone.block_outputs(torch.zeros(1, *input_shape, device=device)))
    return [variant_name(s, n_blocks) for s in range(n_blocks, recipe.shallowest_block - 1, -1)]


def build_kmex(recipe: KMExRecipe) -> KMExModel:
    if get_recipe(recipe.backbone).dataset != recipe.dataset:
        raise ValueError(f"KMEx recipe {recipe.name!r} is on {recipe.dataset!r} but its backbone {recipe.backbone!r} is not.")
    base = load_model(recipe.backbone)
    # A private copy: moving the KMEx model between devices must not move the store's shared backbone.
    backbone = copy.deepcopy(base.model).eval()
    return KMExModel(backbone, base.info.num_classes, recipe.prototypes_per_class, _variants(recipe, backbone, base.info.input_shape),
                     block_scale=recipe.block_scale, dataset=recipe.dataset)


def train_kmex(recipe: KMExRecipe, model: KMExModel, device: torch.device, progress, show_bar: bool) -> dict:
    fitter = KMExFitter(**recipe.fitter_params()).fit(model.backbone, load_split(recipe.dataset, "train"), progress=progress)
    model.load_state_dict(fitter.model_.state_dict())
    return fitter.stats_


def evaluate_kmex_recipe(recipe: KMExRecipe, model: KMExModel, device: torch.device) -> dict:
    """Tables 1 and 2; ``accuracy`` (the headline every model reports) is the nearest-prototype KMEx's. Where
    the test split has ground-truth masks, the B4/B234 maps' overlap with them against Grad-CAM's
    (:func:`~interp_core.methods.kmex.localisation.mask_overlap_metrics`)."""
    from interp_core.methods.kmex.localisation import has_masks, mask_overlap_metrics

    test = load_split(recipe.dataset, "test")
    metrics = evaluate_kmex(model, load_split(recipe.dataset, "train"), test)
    overlaps = mask_overlap_metrics(recipe, model, test) if has_masks(test) else {}
    return {"accuracy": metrics["kmex_accuracy"], **metrics, **overlaps}


def ship_projection(loaded: TrainedModel) -> list[Path]:
    from interp_core.methods.kmex.projection import ship_default_projection

    return [ship_default_projection(loaded.model)]


register_handler("kmex", RecipeHandler(build_kmex, train_kmex, evaluate_kmex_recipe, ship_projection))
