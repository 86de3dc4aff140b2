"""Training-time augmentation of the B-cos networks (parameter-free, so checkpoints do not depend on it)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class RandomShiftFlip(nn.Module):
    """Training-time augmentation of the B-cos paper's CIFAR-10 runs (Supp. C.1: random crops and
    horizontal flips): each image of a training batch is shifted by up to ``max_shift`` pixels in each
    direction (edges replicated) and mirrored left-right with probability 1/2. The identity in eval mode
    and in explanation mode, so it never enters an explanation. Draws from torch's global generator, which
    the training engine seeds. ``(N, C, H, W)`` -> same shape."""

    def __init__(self, max_shift: int = 3, flip: bool = True) -> None:
        super().__init__()
        if max_shift < 0:
            raise ValueError(f"max_shift must be >= 0, got {max_shift}.")
        self.max_shift, self.flip = int(max_shift), bool(flip)

    def extra_repr(self) -> str:
        return f"max_shift={self.max_shift}, flip={self.flip}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or (self.max_shift == 0 and not self.flip):
            return x
        n, c, h, w = x.shape
        s = self.max_shift
        padded = F.pad(x, (s, s, s, s), mode="replicate") if s else x
        rows = torch.randint(0, 2 * s + 1, (n, 1), device=x.device) + torch.arange(h, device=x.device)
        cols = torch.randint(0, 2 * s + 1, (n, 1), device=x.device) + torch.arange(w, device=x.device)
        if self.flip:
            cols = torch.where(torch.rand(n, 1, device=x.device) < 0.5, cols.flip(1), cols)
        batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
        channel = torch.arange(c, device=x.device).view(1, c, 1, 1)
        return padded[batch, channel, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]


AUGMENTATIONS = {"none": None, "shift-flip": RandomShiftFlip}
