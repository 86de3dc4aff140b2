"""A ceiling for mask IoU against bin-level ground truth (see :func:`energy_oracle_iou`): what a mask could
score if it were told where the event is, used to read ``mixture_mask_iou`` of ``piq-sounds``."""
from __future__ import annotations

import numpy as np
import torch

from interp_core.data import load_split
from interp_core.metrics.faithfulness import mask_iou


def energy_oracle_iou(dataset: str, *, dilation: int = 3, samples: int = 200, thresholds: int = 16,
                      max_threshold: float = 0.3) -> dict[str, float]:
    """A ceiling for mask IoU on a dataset of sounds (or any input with ``masks``): a mask *told* the true
    region to within ``dilation // 2`` bins (the ground truth max-pooled by ``dilation``) that keeps the
    bins whose energy, divided by the input's maximum, passes one threshold, the best of ``thresholds``
    values in [0, ``max_threshold``] for the whole split. No interpreter of a classifier knows the region
    this well, so its mask IoU should not be expected above this."""
    import torch.nn.functional as F

    split = load_split(dataset, "test")
    index = np.arange(min(samples, len(split)))
    x = split.inputs(index).float()
    x = x / x.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
    truth = torch.from_numpy(np.asarray(split.extras["masks"][index])).float()[:, None]
    region = F.max_pool2d(truth, dilation, 1, dilation // 2) > 0 if dilation > 1 else truth > 0
    energy = x.amax(1, keepdim=True)
    best = max((float(np.mean(mask_iou((region & (energy > t))[:, 0].numpy(), truth[:, 0].numpy() > 0.5))), float(t))
               for t in np.linspace(0.0, max_threshold, thresholds))
    return {"iou": best[0], "threshold": best[1], "dilation": dilation, "n": len(index)}
