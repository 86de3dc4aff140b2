"""What a GPU-sized recipe costs, for the CPU estimate that refuses it (torch-free): one registry of
sizings, filled by :mod:`interp_core.external.recipes` and read by :mod:`interp_core.external.estimate`."""
from __future__ import annotations

from dataclasses import dataclass

from interp_core.registry import Registry


@dataclass(frozen=True)
class GpuSizing:
    """What a GPU-sized recipe costs, for the CPU estimate: ``train_samples`` of the published training
    split, the model's ``input_shape`` and ``num_classes``, and ``passes``: forward+backward passes over
    the training split the whole recipe makes (epochs, plus fine-tuning and feature extraction)."""

    train_samples: int
    input_shape: tuple[int, ...]
    num_classes: int
    passes: float


#: Recipe name -> its sizing; ``train`` refuses these on a CPU.
GPU_RECIPES: Registry[GpuSizing] = Registry("GPU-sized recipe", ("interp_core.external.recipes",))
