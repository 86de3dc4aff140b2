"""B-cosified recipes (Arya et al., NeurIPS 2024): a trained classifier recipe converted into a B-cos
network and fine-tuned toward alignment (torch-free).

:class:`BcosifiedRecipe` names the classifier it starts from (``base``); the handler in
:mod:`interp_core.methods.bcos.training` loads its trained weights, converts them with
:func:`interp_core.models.bcos.bcosify.bcosify` (every bias deleted, ``B`` set at once) and fine-tunes the
whole network with the training engine as the named stage ``"bcosify"``. The paper's recipe: AdamW without
weight decay at a tenth of the from-scratch learning rate, a cosine schedule without warm-up, BCE with
uniform off-labels ``1/C`` (``"bce-uniform"``) on logits shifted by ``-log(C-1)``. Our CPU-sized recipes
deviate where measured (see each recipe and ``docs/bcos.md``).

The shipped recipes are registered in :mod:`interp_core.methods.bcos.recipes`. ``derive NAME --families
bcos`` copies ``bcosified-cnn-shapes`` (images) or ``bcosified-cnn-sounds`` (audio) as ``bcos-NAME`` with
``base`` set to the imported model. The from-scratch twin of a recipe is listed in :data:`FROM_SCRATCH`,
not in a recipe field: a field naming a classifier recipe is what ``derive`` rewrites to an imported model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from interp_core.store.recipes import Recipe, register_recipe

#: B-cosified recipe -> the B-cos network trained from scratch on the same data (compared in eval and the view).
FROM_SCRATCH: dict[str, str] = {}


@dataclass(frozen=True)
class BcosifiedRecipe(Recipe):
    """A classifier recipe ``base`` (shipped, trained or imported) B-cosified and fine-tuned.

    Conversion: ``b`` (B of every layer, set at once), ``avg_pool`` (the paper's max-pool -> average-pool
    swap; off: exact conversion), ``input_mean``/``input_std`` (a normalisation the base model expects and
    the data do not apply, folded into the first layer), ``temperature`` (divides the logits before the
    logit bias), ``augment`` (``"none"`` or ``"shift-flip"``, training-time only). Fine-tuning: as
    :class:`~interp_core.methods.standard.recipes.ClassifierRecipe`'s fields of the same names.
    """

    base: str = ""
    b: float = 2.0
    avg_pool: bool = False
    input_mean: tuple[float, ...] = (0.0,)
    input_std: tuple[float, ...] = (1.0,)
    temperature: float = 1.0
    augment: str = "none"
    epochs: int = 6
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.0
    loss: str = "bce-uniform"
    schedule: str = "cosine"
    patience: int = 0
    val_fraction: float = 0.1
    train_subset: int = 0

    kind: str = field(default="bcosified", init=False)
    #: ``derive NAME --families bcos`` registers ``bcos-NAME`` from this family's B-cosified recipe.
    derived_stem: ClassVar[str] = "bcos"

    @property
    def output_activation(self) -> str:
        return "sigmoid"

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.base,)


def register_bcosified(recipe: BcosifiedRecipe, from_scratch: str | None = None) -> BcosifiedRecipe:
    """Register ``recipe``, and its ``from_scratch`` twin in :data:`FROM_SCRATCH`."""
    if from_scratch:
        FROM_SCRATCH[recipe.name] = from_scratch
    return register_recipe(recipe)

