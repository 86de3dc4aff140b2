"""The Feature Diversity Loss (SLDD-Model, ECCV 2022; Q-SENN Eq. 2) as a loss term of the training engine.

For each sample, with feature maps M_j(p) and the predicted class c (argmax of the logits, not the label):
w = |W_c| / (||W_c|| + 1e-5); S_j = spatial softmax of M_j; S^_j = S_j * m_j / max(max_k m_k, 1e-6) with
m_j the mean of M_j; the loss is -(1/N) sum_samples sum_p max_j w_j S^_j(p). Minimising it spreads the
highly weighted, highly active features of a class over different places (method-notes §2.3).

Deliberate difference from the reference: W enters detached. The loss is meant to shape where the features
fire; leaving the decision layer to the cross-entropy keeps the term from growing the weights of whichever
channels already dominate.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from interp_core.training.engine import LossTerm


def feature_diversity_loss(maps: torch.Tensor, weight: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """The unweighted loss (a scalar, <= 0) for maps ``(N, n_f, h, w)``, the layer ``(C, n_f)`` and the
    predicted classes ``(N,)``."""
    n, k = maps.shape[:2]
    flat = maps.reshape(n, k, -1)
    rows = weight.detach()[predicted].abs()
    rows = rows / (rows.norm(dim=1, keepdim=True) + 1e-5)  # (N, n_f)
    softmax = flat.softmax(dim=-1)
    mean = flat.mean(-1)
    scale = mean / mean.max(dim=1, keepdim=True).values.clamp_min(1e-6)  # (N, n_f)
    weighted = rows[:, :, None] * softmax * scale[:, :, None]  # (N, n_f, hw)
    return -weighted.max(dim=1).values.sum(-1).mean()


class FeatureDiversityLoss(LossTerm):
    """``beta`` * the Feature Diversity Loss on the maps the model kept from its forward (``last_maps``)
    and its decision layer (``decision_weight``); see :class:`~interp_core.methods.qsenn.model.QSENNModel`."""

    name = "fdl"

    def __init__(self, beta: float):
        self.beta = float(beta)

    def __call__(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        maps = getattr(model, "last_maps", None)
        if maps is None:
            raise RuntimeError("The Feature Diversity Loss needs the model's feature maps from this forward (last_maps).")
        return self.beta * feature_diversity_loss(maps, model.decision_weight, logits.detach().argmax(1))
