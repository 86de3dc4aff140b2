"""What the post-hoc methods share: maps from one :meth:`PosthocExplainer.maps` hook, fresh gradient leaves,
and, for the perturbation methods (LIME, RISE), one set of model evaluations per distinct input."""
from __future__ import annotations

import torch
import torch.nn as nn

from interp_core.methods.base import Explainer, ExplainerOutput
from interp_core.store.card import ModelCard


def gradient_leaf(inputs: torch.Tensor) -> torch.Tensor:
    """A fresh leaf that requires grad, so that the caller's tensor is never touched."""
    return inputs.detach().clone().contiguous().requires_grad_(True)


def identical_row_groups(inputs: torch.Tensor) -> list[list[int]]:
    """Indices of rows of ``inputs`` ``(N, ...)`` grouped by identical content, in order of first occurrence."""
    groups: list[list[int]] = []
    for i in range(inputs.shape[0]):
        for group in groups:
            if torch.equal(inputs[i], inputs[group[0]]):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


class PosthocExplainer(Explainer):
    """A post-hoc method: maps from :meth:`maps`; no extras unless the method adds some."""

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute(self, inputs: torch.Tensor, target: torch.Tensor, details: bool) -> ExplainerOutput:
        return ExplainerOutput(self.maps(inputs, target).detach(), [{} for _ in range(inputs.shape[0])])


class PerturbationExplainer(PosthocExplainer):
    """A method that evaluates the model on ``batch_size`` perturbed copies of an input at a time, drawn
    from ``seed``. Rows with the same input (the classes of one pointing-game grid) share one set of
    perturbations and model evaluations: :meth:`shared_maps` explains one input for all their targets."""

    perturbation_based = True
    costly = True

    def __init__(self, model: nn.Module, card: ModelCard, batch_size: int = 50, seed: int = 0):
        super().__init__(model, card)
        self.batch_size, self.seed = batch_size, seed

    def shared_maps(self, x: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Maps ``(T, H, W)`` of one input ``x`` ``(C, H, W)`` for each of ``classes`` ``(T,)``."""
        raise NotImplementedError

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        maps = torch.empty(inputs.shape[0], *inputs.shape[-2:], device=inputs.device)
        for rows in identical_row_groups(inputs):
            maps[rows] = self.shared_maps(inputs[rows[0]].detach(), target[rows]).to(maps)
        return maps
