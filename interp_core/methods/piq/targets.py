"""Where PIQ's training target masks come from (PIQ Fig. 3), by name; one registry, open to users.

A target function takes ``(split, index, inputs, threshold)``: the training split, the sample indices
``(B,)``, their model inputs ``(B, C, H, W)`` and the recipe's ``target_threshold``, and returns masks
``(B, H, W)`` float in [0, 1].

* ``image-threshold``: the image itself in black and white, ``max_c x > threshold`` (Fig. 3 left).
* ``dataset-masks``: the dataset's ground-truth masks (``extras["masks"]``): for ``shapes`` the object
  masks, which stand in for the paper's SAM masks prompted by GroundingDINO boxes (App. D), whose weights
  do not exist here (ours are exact, where App. E shows SAM failing on two classes); for ``sounds`` the
  exact time-frequency masks of the event (ideal binary masks against the background).
* ``spectrogram-threshold``: the log1p-magnitude spectrogram above ``threshold`` times its per-sample
  maximum over time and frequency (Fig. 3 right, App. G, the reference's ``mask_th``).

A mask model of your own (e.g. SAM) becomes a target with ``register_target("sam", fn)`` and a recipe
with ``target="sam"``; the recipe hash then names the target, not the mask model's weights.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from interp_core.data.base import Split
from interp_core.registry import Registry

TargetFunction = Callable[[Split, np.ndarray, torch.Tensor, float], torch.Tensor]

TARGETS: Registry[TargetFunction] = Registry("PIQ target", ("interp_core.methods.piq.targets",))


def register_target(name: str, function: TargetFunction | None = None):
    """Register a target mask source: ``register_target(name, fn)`` or ``@register_target(name)``."""
    return TARGETS.register(name, function)


@register_target("image-threshold")
def image_threshold(split: Split, index: np.ndarray, inputs: torch.Tensor, threshold: float) -> torch.Tensor:
    return (inputs.amax(1) > threshold).float()


@register_target("dataset-masks")
def dataset_masks(split: Split, index: np.ndarray, inputs: torch.Tensor, threshold: float) -> torch.Tensor:
    masks = split.extras.get("masks")
    if masks is None:
        raise ValueError(f"Dataset {split.info.name!r} has no ground-truth masks; choose another PIQ target or register a mask model.")
    return torch.from_numpy(np.asarray(masks[index], dtype=np.float32))


@register_target("spectrogram-threshold")
def spectrogram_threshold(split: Split, index: np.ndarray, inputs: torch.Tensor, threshold: float) -> torch.Tensor:
    spec = inputs[:, 0]
    peak = spec.flatten(1).amax(1).view(-1, 1, 1)
    return (spec > threshold * peak).float()  # PIQ App. G: 0.35 * max(X) per spectrogram X


def target_masks(name: str, split: Split, index: np.ndarray, inputs: torch.Tensor, threshold: float) -> torch.Tensor:
    """Training target masks ``(B, H, W)`` of samples ``index`` from the target source ``name``."""
    masks = TARGETS.get(name)(split, index, inputs, threshold)
    if tuple(masks.shape) != (inputs.shape[0], *inputs.shape[-2:]):
        raise ValueError(f"PIQ target {name!r} gave masks of shape {tuple(masks.shape)} for inputs {tuple(inputs.shape)}.")
    return masks
