"""Q-SENN and SLDD recipes (torch-free): a dense model trained with the Feature Diversity Loss, and the
sparse decision layers built on it (Norrenbrock et al., Q-SENN AAAI 2024; SLDD-Model ECCV 2022).

Per dataset there are four recipes, all built from the same dense model:

* ``qsenn-dense-<data>`` (:class:`DenseFDLRecipe`, kind ``qsenn-dense``): the backbone with a dense
  linear layer, cross-entropy + beta * Feature Diversity Loss (Eq. 2);
* ``glm-saga5-<data>`` (:class:`SparseLayerRecipe`, ``method="glm-saga5"``): glm-saga on all dense
  features, the path point with at most 5 weights per class, no fine-tuning (the papers' glm-saga5);
* ``sldd-<data>`` (``method="sldd"``): n*_f selected features, SLDD's pick from the path, top 5·C weights
  with their real values, one fine-tuning run with the layer fixed;
* ``qsenn-<data>`` (``method="qsenn"``): the same selection, quantised to 5·C weights of one magnitude
  (Eqs. 3-5) and the bias rule, fine-tuned in ``len(finetune_epochs)`` iterations with a decaying
  learning rate, the layer recomputed on the current features before each.

Feature counts (n*_f < number of classes, as the papers ask): CUB uses 50 features for 200 classes
(a quarter); shapes (48 classes) gets 24, half, and sounds (10 classes) 8 (a quarter would leave 2-3
features, too few for 5 weights per class). A quarter of shapes' classes, 12 features, was measured and
is too few for its class structure (4 shapes x 4 colours x 3 patterns: every feature then serves 20 of the
48 classes): diversity@5 0.72 and alignment r 1.23 against the dense model's 0.84 and 1.21, and on
shapes-spurious 0.349 test accuracy; with 24 features, the same pipeline and the paper's beta gives 0.855,
1.44 and 0.406 (accuracy 0.9925 on shapes).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from interp_core.store.recipes import Recipe, register_recipe

#: What a sparse-layer recipe builds: the paper's model, its predecessor, and the no-selection baseline.
METHODS = ("qsenn", "sldd", "glm-saga5")


@dataclass(frozen=True)
class DenseFDLRecipe(Recipe):
    """The dense model: architecture ``arch`` (``interp_core.models``) whose last block gives the feature
    maps, global average pooling, dropout ``dropout`` and a dense linear layer, trained by the engine
    (AdamW, cosine schedule) on cross-entropy + ``beta`` * Feature Diversity Loss (Eq. 2; beta 0.196 as in
    the paper). ``init_from``: a standard classifier recipe of the same architecture and dataset whose
    weights it starts from, as the paper starts from an ImageNet-pretrained ResNet-50 (empty: from
    scratch); ``epochs`` then count the FDL training on top of it."""

    arch: str = "cnn"
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    init_from: str = ""
    epochs: int = 3
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_epochs: int = 0
    patience: int = 3
    val_fraction: float = 0.1
    beta: float = 0.196
    dropout: float = 0.2

    kind: str = field(default="qsenn-dense", init=False)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.init_from,) if self.init_from else ()


@dataclass(frozen=True)
class SparseLayerRecipe(Recipe):
    """A sparse decision layer on the features of the dense recipe ``dense`` (see the module docstring for
    ``method``). ``n_features``: n*_f selected features (ignored by glm-saga5, which keeps them all);
    ``per_class``: n_wc, non-zero weights per class on average (5·C in all). ``glm_*``: the glm-saga path
    (alpha 0.99, ``glm_lambdas`` log-spaced values from lambda_max down to ``glm_epsilon``·lambda_max, then
    lambda = 0; ``glm_epochs`` at most per lambda, early stop after ``glm_lookbehind`` epochs without
    improvement; the reference runs 100 lambdas, up to 2000 epochs each, batch 256: here 40, 20 and 1024,
    CPU-sized, since the epoch-to-epoch noise of minibatch SAGA keeps the lookbehind stop from firing and the
    epoch cap is what bounds the time). ``select_*``: the group-sparse feature selection (alpha 0.8, lambdas scaled by 0.1).
    ``finetune_epochs``: one entry per fine-tuning run (Q-SENN: one per iteration, at
    ``finetune_lr * lr_decay**i``; SLDD: a single run). ``compare``: recipes whose metrics ``evaluate``
    reports beside this one's, prefixed by their method (``glm_saga5_accuracy``, ``sldd_accuracy``, ...);
    the dense recipe's are always reported (``dense_accuracy``, ...)."""

    dense: str = ""
    method: str = "qsenn"
    n_features: int = 12
    per_class: int = 5
    glm_alpha: float = 0.99
    glm_lambdas: int = 40
    glm_epsilon: float = 1e-3
    glm_epochs: int = 20
    glm_lr: float = 0.1
    glm_lookbehind: int = 5
    glm_batch_size: int = 1024
    select_alpha: float = 0.8
    select_lambda_scale: float = 0.1
    finetune_epochs: tuple[int, ...] = (1, 1, 1, 2)
    finetune_lr: float = 1e-3
    lr_decay: float = 0.9
    batch_size: int = 64
    beta: float = 0.196
    dropout: float = 0.1
    compare: tuple[str, ...] = ()

    kind: str = field(default="qsenn", init=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"Unknown sparse-layer method {self.method!r}; expected one of {METHODS}.")
        if not self.dense:
            raise ValueError(f"Recipe {self.name!r} names no dense recipe (dense=...).")

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.dense,)


def _register_family(data: str, *, arch: str, dense_kwargs: dict[str, Any], n_features: int, qsenn_epochs: tuple[int, ...],
                     sldd_epochs: int, what: str) -> None:
    """The four recipes of one dataset (see the module docstring)."""
    dense = f"qsenn-dense-{data}"
    register_recipe(DenseFDLRecipe(
        name=dense, dataset=data, family="qsenn", shipped=True, arch=arch,
        description=f"Dense {what} trained with the Feature Diversity Loss: the starting point of Q-SENN, SLDD and glm-saga5.",
        **dense_kwargs,
    ))
    register_recipe(SparseLayerRecipe(
        name=f"glm-saga5-{data}", dataset=data, family="qsenn", shipped=True, dense=dense, method="glm-saga5",
        description=f"glm-saga on all features of {dense}, the path point with at most 5 weights per class (no fine-tuning).",
    ))
    register_recipe(SparseLayerRecipe(
        name=f"sldd-{data}", dataset=data, family="qsenn", shipped=True, dense=dense, method="sldd",
        n_features=n_features, finetune_epochs=(sldd_epochs,),
        description=f"SLDD-Model: {n_features} selected features of {dense}, 5 real-valued weights per class, fine-tuned once.",
    ))
    register_recipe(SparseLayerRecipe(
        name=f"qsenn-{data}", dataset=data, family="qsenn", shipped=True, dense=dense, method="qsenn",
        n_features=n_features, finetune_epochs=qsenn_epochs, compare=(f"glm-saga5-{data}", f"sldd-{data}"),
        description=f"Q-SENN: {n_features} selected features of {dense}, ternary layer with 5 weights per class of one "
                    f"magnitude, {len(qsenn_epochs)} iterations.",
    ))


# The dense models start from the shipped standard CNNs and add 3 epochs with the Feature Diversity Loss.
# Fine-tuning budgets keep the reference's proportions (Q-SENN 10/10/10/40 epochs, SLDD 40) at CPU size.
_register_family("shapes", arch="cnn", dense_kwargs=dict(init_from="cnn-shapes"), n_features=24,
                 qsenn_epochs=(1, 1, 1, 2), sldd_epochs=3, what="4-block CNN on shapes (from cnn-shapes)")
_register_family("shapes-spurious", arch="cnn", dense_kwargs=dict(init_from="cnn-shapes-spurious"), n_features=24,
                 qsenn_epochs=(1, 1, 1, 2), sldd_epochs=3, what="4-block CNN on shapes-spurious (from cnn-shapes-spurious)")
_register_family("sounds", arch="audio-cnn", dense_kwargs=dict(init_from="cnn-sounds", batch_size=32), n_features=8,
                 qsenn_epochs=(1, 1, 1, 2), sldd_epochs=3, what="audio CNN on sounds (from cnn-sounds)")
