"""How well attribution maps fall on ground-truth masks: the time-frequency masks of sound events, the
object masks of scenes. Pure scoring: maps and masks in, per-sample scores out, no I/O.

Every map ``(N, H, W)`` is scored against its own boolean mask ``(N, H, W)`` at the same resolution:

- ``pointing``: a pointing-game-style hit, whether the map's maximum lies in the mask (Zhang et al.'s
  pointing game with the exact mask instead of a box; for sounds the grid pointing game has no grid to
  play). When several locations share the maximum, as on the piecewise-constant maps of KMEx, the hit is
  the share of them inside the mask: the expected hit of a random tie-break, not of the first by position.
- ``mass``: the share of the map's positive part inside the mask (Arras et al.'s relevance mass accuracy,
  Score-CAM's energy-based pointing game); 0 for a map with no positive value.
- ``iou``: IoU of the map's ``|mask|`` highest locations with the mask, i.e. every map thresholded to the
  mask's own area, as PIQ compares methods at equal area (its precision is Arras et al.'s relevance rank
  accuracy). Locations tied at the threshold count fractionally, never by position.
- ``area``: the mask's share of the input, the chance level: a map that ignores the input scores it in
  ``pointing`` and ``mass`` in expectation, and ``area / (2 - area)`` in ``iou``.

A sample whose mask is empty has no ground truth to hit: NaN in every score, left out by
:func:`summarize_overlaps`.
"""
from __future__ import annotations

import numpy as np
import torch

#: The per-sample scores of :func:`mask_overlap_scores`, in the order tables show them.
SCORES = ("pointing", "mass", "iou", "area")


def _flat(maps, masks) -> tuple[torch.Tensor, torch.Tensor]:
    maps = torch.as_tensor(maps).detach().double().cpu()
    masks = torch.as_tensor(masks).detach().cpu().bool()
    if maps.shape != masks.shape or maps.dim() != 3:
        raise ValueError(f"Expected maps and masks of one shape (N, H, W), got {tuple(maps.shape)} and {tuple(masks.shape)}.")
    return maps.reshape(len(maps), -1), masks.reshape(len(masks), -1)


def fractional_top_area(maps, areas) -> torch.Tensor:
    """Weights ``(N, H, W)`` in [0, 1] that keep the ``areas[i]`` highest locations of each map ``(N, H, W)``:
    1 above the threshold value, 0 below, and the locations tied at it share what is left, so every
    map's weights sum to its area whatever the ties."""
    maps = torch.as_tensor(maps).detach().double()
    n = len(maps)
    flat = maps.reshape(n, -1)
    k = torch.as_tensor(areas).long().clamp(0, flat.shape[1]).view(-1)
    ordered = flat.sort(1, descending=True).values
    threshold = ordered.gather(1, (k - 1).clamp_min(0).view(-1, 1))
    above = flat > threshold
    tied = flat == threshold
    left = (k - above.sum(1)).double().view(-1, 1)
    weights = above.double() + tied.double() * left / tied.sum(1, keepdim=True).clamp_min(1)
    weights[k == 0] = 0.0
    return weights.reshape(maps.shape)


def mask_overlap_scores(maps, masks) -> dict[str, np.ndarray]:
    """``{score: (N,) float64}`` for maps ``(N, H, W)`` against boolean masks ``(N, H, W)`` (see the module
    docstring for ``pointing``, ``mass``, ``iou`` and ``area``)."""
    flat, truth = _flat(maps, masks)
    size = truth.sum(1).double()
    inside = truth.double()
    top = flat == flat.max(1, keepdim=True).values
    pointing = (top & truth).sum(1) / top.sum(1)
    positive = flat.clamp_min(0)
    total = positive.sum(1)
    mass = torch.where(total > 0, (positive * inside).sum(1) / total.clamp_min(1e-300), torch.zeros_like(total))
    weights = fractional_top_area(flat, size)
    intersection = (weights * inside).sum(1)
    iou = intersection / (weights.sum(1) + size - intersection).clamp_min(1e-12)
    empty = size == 0
    out = {"pointing": pointing.double(), "mass": mass, "iou": iou, "area": size / truth.shape[1]}
    return {k: torch.where(empty, torch.full_like(v, float("nan")), v).numpy() for k, v in out.items()}


def summarize_overlaps(scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean of each score over the samples that have ground truth, and their number ``n``."""
    valid = ~np.isnan(np.asarray(scores["area"], dtype=np.float64))
    out = {k: float(np.mean(np.asarray(v, dtype=np.float64)[valid])) if valid.any() else float("nan") for k, v in scores.items()}
    out["n"] = int(valid.sum())
    return out
