"""RISE (Petsiuk et al. 2018), written here: Captum has none."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.methods.base import register_explainer
from interp_core.methods.posthoc.base import PerturbationExplainer
from interp_core.store.card import ModelCard


def rise_masks(n: int, size: tuple[int, int], cells: int = 8, keep_prob: float = 0.1,
               generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """``n`` RISE masks ``(n, H, W)`` in [0, 1] (Petsiuk et al. 2018, Sec. 3.2).

    A ``cells × cells`` binary grid keeps each cell with probability ``keep_prob``; it is bilinearly
    upsampled to ``(cells + 1) · ceil(H / cells)`` pixels and cropped at a random shift of less than one
    cell, so mask edges fall anywhere.
    """
    h, w = size
    ch, cw = math.ceil(h / cells), math.ceil(w / cells)
    grid = (torch.rand(n, 1, cells, cells, generator=generator) < keep_prob).float()
    shift_y = torch.randint(0, ch, (n,), generator=generator)
    shift_x = torch.randint(0, cw, (n,), generator=generator)
    up = F.interpolate(grid.to(device), size=((cells + 1) * ch, (cells + 1) * cw), mode="bilinear", align_corners=False)[:, 0]
    rows = (shift_y[:, None] + torch.arange(h)).to(device)
    cols = (shift_x[:, None] + torch.arange(w)).to(device)
    return up[torch.arange(n, device=device)[:, None, None], rows[:, :, None], cols[:, None, :]]


@register_explainer("rise")
class RiseExplainer(PerturbationExplainer):
    """RISE (Petsiuk et al. 2018): the mask-weighted mean of the class output over random masked inputs.

    ``n_masks`` = 500, ``cells`` s = 8, ``keep_prob`` p = 0.1 (B-cos Supp. C.2). Masked-out pixels are
    zero. Differences from the paper, on purpose: the class output is the **logit** (the quantity every
    explainer here explains; RISE's probabilities do not exist for a model that only has logits) and,
    with ``center=True``, the logit's mean over the masks is subtracted, so the map is
    ``E[(f - E f) · M] / p``: logits, unlike probabilities, carry an offset that would otherwise be added
    to every pixel. Masks are seeded (the same for every input); rows with the same input share the
    model evaluations.
    """

    summary = "RISE, 500 random masks"

    def __init__(self, model: nn.Module, card: ModelCard, n_masks: int = 500, cells: int = 8, keep_prob: float = 0.1,
                 batch_size: int = 50, seed: int = 0, center: bool = True):
        super().__init__(model, card, batch_size, seed)
        self.n_masks = n_masks
        self.cells = cells
        self.keep_prob = keep_prob
        self.center = center

    def shared_maps(self, x: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        weighted = torch.zeros(len(classes), *x.shape[-2:], device=x.device, dtype=torch.float64)
        mask_sum = torch.zeros(*x.shape[-2:], device=x.device, dtype=torch.float64)
        out_sum = torch.zeros(len(classes), device=x.device, dtype=torch.float64)
        for start in range(0, self.n_masks, self.batch_size):
            n = min(self.batch_size, self.n_masks - start)
            masks = rise_masks(n, tuple(x.shape[-2:]), self.cells, self.keep_prob, generator, x.device)
            with torch.no_grad():
                out = self.model(x.unsqueeze(0) * masks.unsqueeze(1).to(x.dtype))[:, classes].double()  # (n, T)
            # Petsiuk et al. Eq. 6: S_c = 1/(N p) Σ_i f_c(I ⊙ M_i) M_i
            weighted += torch.einsum("nt,nhw->thw", out, masks.double())
            mask_sum += masks.double().sum(0)
            out_sum += out.sum(0)
        if self.center:
            weighted -= (out_sum / self.n_masks)[:, None, None] * mask_sum
        return weighted / (self.n_masks * self.keep_prob)
