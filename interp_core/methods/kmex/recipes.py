"""KMEx recipes: post-hoc prototypes fitted on a frozen standard CNN, no retraining (torch-free).

A :class:`KMExRecipe` names its backbone recipe and the hyper-parameters of
:class:`~interp_core.methods.kmex.fitting.KMExFitter`, under the same names. ``load_model("kmex-shapes")``
loads the backbone through the store, then the fitted KMEx tensors from the checkpoint (refitting when
they were fitted on other backbone weights), or fits them now (about a minute on 2 CPU cores).
``kmex-sounds`` fits the same estimators on the spectrogram CNN ``cnn-sounds``: its encoder prototypes
are taken over time-frequency cells.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from interp_core.store.recipes import Recipe, register_recipe


@dataclass(frozen=True)
class KMExRecipe(Recipe):
    """Fit KMEx on the frozen CNN of recipe ``backbone`` (trained on ``dataset``); every other field is a
    hyper-parameter of ``KMExFitter`` of the same name (see there)."""

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

    kind: str = field(default="kmex", init=False)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.backbone,)

    def fitter_params(self) -> dict[str, Any]:
        """The fitter's hyper-parameters: every field the recipe shares with ``KMExFitter``, and the seed."""
        names = ("prototypes_per_class", "n_init", "shallowest_block", "block_scale", "encoder_n_init",
                 "encoder_images_per_class", "encoder_pixels_per_image", "max_iter", "tol", "backend", "seed")
        return {name: getattr(self, name) for name in names}


register_recipe(KMExRecipe(
    name="kmex-shapes",
    dataset="shapes",
    family="kmex",
    shipped=True,
    backbone="cnn-shapes",
    description="KMEx prototypes (5 per class) and B4/B34/B234 encoder prototypes of the frozen cnn-shapes.",
))
register_recipe(KMExRecipe(
    name="kmex-digits",
    dataset="digits",
    family="kmex",
    shipped=True,
    backbone="cnn-digits",
    description="KMEx prototypes (5 per class) and B4/B34/B234 encoder prototypes of the frozen cnn-digits.",
))

# Sounds: the same estimators on the frozen spectrogram CNN, whose spatial positions are time-frequency cells.
# 10 prototypes per class instead of 5 (the paper's CUB setting): the pooled sound embeddings spread along the
# event's level (norm CV 0.5), and 5 centroids per class leave quiet events nearest a noise-burst prototype
# (test accuracy 0.9375 against the CNN's 0.965; 8: 0.955, 10: 0.9675, 12: 0.9675; docs/kmex.md).
register_recipe(KMExRecipe(
    name="kmex-sounds",
    dataset="sounds",
    family="kmex",
    shipped=True,
    backbone="cnn-sounds",
    prototypes_per_class=10,
    description="KMEx prototypes (10 per class) and B4/B34/B234 time-frequency prototypes of the frozen cnn-sounds.",
))
