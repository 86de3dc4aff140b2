"""KMEx recipes: post-hoc prototypes fitted on a frozen standard CNN (no retraining).

A :class:`KMExRecipe` names its backbone recipe and the k-means hyper-parameters. ``load_model("kmex-shapes")``
loads the backbone through the store, then the fitted KMEx tensors from the checkpoint (refitting when
they were fitted on other backbone weights), or fits them now (about a minute on 2 CPU cores).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

from interp_core.store.recipes import Recipe, register_recipe

if TYPE_CHECKING:
    import torch
    import torch.nn as nn


@dataclass(frozen=True)
class KMExRecipe(Recipe):
    """Fit KMEx on the frozen CNN of recipe ``backbone`` (trained on ``dataset``).

    ``prototypes_per_class``: K/C for every prototype set. ``n_init``: k-means restarts for the pooled
    embedding (explicit: the reference code silently depended on scikit-learn's default).
    ``shallowest_block``: the deepest encoder variant uses blocks ``shallowest_block .. B`` (2 -> B234);
    every variant in between is fitted too (B4, B34, B234), as the attribution is carried up through them.
    ``block_scale``: per-block weight of the composite features, ``"dim"`` (1/D_b, the paper's Eq. 8),
    ``"sqrt_dim"`` or ``"none"`` (see ``interp_core.methods.kmex.encoder.combine_blocks``).
    ``encoder_*``: restarts and the per-class sample (images, locations per image) for the encoder
    k-means. ``backend``: ``"auto"`` (torch on GPU, scikit-learn on CPU), ``"torch"`` or ``"sklearn"``.
    ``umap_classes``: classes of the default Fig. 2 projection shipped in the checkpoint (empty: none).
    """

    backbone: str = "cnn-shapes"
    prototypes_per_class: int = 5
    n_init: int = 10
    shallowest_block: int = 2
    block_scale: str = "dim"
    encoder_n_init: int = 3
    encoder_images_per_class: int = 100
    encoder_pixels_per_image: int = 32
    max_iter: int = 300
    tol: float = 1e-4
    backend: str = "auto"
    umap_classes: tuple[int, ...] = ()

    kind: str = field(default="kmex", init=False)


def _fit_kwargs(recipe: KMExRecipe) -> dict:
    return dict(
        per_class=recipe.prototypes_per_class, n_init=recipe.n_init, shallowest_block=recipe.shallowest_block,
        block_scale=recipe.block_scale, encoder_n_init=recipe.encoder_n_init, encoder_images_per_class=recipe.encoder_images_per_class,
        encoder_pixels_per_image=recipe.encoder_pixels_per_image, max_iter=recipe.max_iter, tol=recipe.tol,
        seed=recipe.seed, backend=recipe.backend, dataset=recipe.dataset,
    )


def _variants(recipe: KMExRecipe, backbone: nn.Module) -> list[str]:
    import torch

    from interp_core.data import dataset_info
    from interp_core.methods.kmex.encoder import variant_name

    with torch.no_grad():
        device = next(backbone.parameters()).device
        n_blocks = len(backbone.block_outputs(torch.zeros(1, *dataset_info(recipe.dataset).input_shape, device=device)))
    return [variant_name(s, n_blocks) for s in range(n_blocks, recipe.shallowest_block - 1, -1)]


def _build(recipe: KMExRecipe) -> nn.Module:
    from interp_core.data import dataset_info
    from interp_core.methods.kmex import KMExModel
    from interp_core.store.models import load_model
    from interp_core.store.recipes import get_recipe

    if get_recipe(recipe.backbone).dataset != recipe.dataset:
        raise ValueError(f"KMEx recipe {recipe.name!r} is on {recipe.dataset!r} but its backbone {recipe.backbone!r} is not.")
    # A private copy: moving the KMEx model between devices must not move the store's shared backbone.
    backbone = copy.deepcopy(load_model(recipe.backbone).model).eval()
    return KMExModel(
        backbone, dataset_info(recipe.dataset).num_classes, recipe.prototypes_per_class, _variants(recipe, backbone),
        block_scale=recipe.block_scale, dataset=recipe.dataset,
    )


def _train(recipe: KMExRecipe, model: nn.Module, device: torch.device, progress, show_bar: bool) -> dict:
    from interp_core.data import load_split
    from interp_core.methods.kmex import fit_kmex_model

    fitted, stats = fit_kmex_model(
        model.backbone, load_split(recipe.dataset, "train"), umap_classes=recipe.umap_classes, progress=progress, **_fit_kwargs(recipe)
    )
    model.load_state_dict(fitted.state_dict())
    return stats


def _evaluate(recipe: KMExRecipe, model: nn.Module, device: torch.device) -> dict:
    from interp_core.data import load_split
    from interp_core.methods.kmex import evaluate_kmex

    return evaluate_kmex(model, load_split(recipe.dataset, "train"), load_split(recipe.dataset, "test"))


def fit_recipe_on(recipe: KMExRecipe, cnn: nn.Module) -> nn.Module:
    """Fit ``recipe``'s KMEx on another CNN for the same dataset (kept in memory, no UMAP)."""
    from interp_core.data import load_split
    from interp_core.methods.kmex import fit_kmex_model

    fitted, _ = fit_kmex_model(cnn, load_split(recipe.dataset, "train"), **_fit_kwargs(recipe))
    return fitted


def register_handler() -> None:
    """Called by the store the first time it handles a ``kmex`` recipe (so listing recipes never imports torch)."""
    from interp_core.store.models import HANDLERS, RecipeHandler

    HANDLERS["kmex"] = RecipeHandler(_build, _train, _evaluate)

register_recipe(KMExRecipe(
    name="kmex-shapes",
    dataset="shapes",
    shipped=True,
    backbone="cnn-shapes",
    description="KMEx prototypes (5 per class) and B4/B34/B234 encoder prototypes of the frozen cnn-shapes; "
                "UMAP of the six circle classes.",
    umap_classes=(0, 1, 2, 3, 4, 5),
))
register_recipe(KMExRecipe(
    name="kmex-digits",
    dataset="digits",
    shipped=True,
    backbone="cnn-digits",
    description="KMEx prototypes (5 per class) and B4/B34/B234 encoder prototypes of the frozen cnn-digits; UMAP of all digits.",
    umap_classes=tuple(range(10)),
))
