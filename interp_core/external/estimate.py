"""How long a GPU-sized recipe would take on this CPU: measured now, never guessed from a table.

:func:`estimate_cpu_seconds` builds the recipe's architecture, times a forward and backward pass of a
small batch on this machine's CPU at a reduced input size (32, 64 or 128 px on the longer side, the largest
whose pass stays cheap), divides the floating-point operations of that pass (counted by torch's
``FlopCounterMode`` on the meta device) by its time to get the rate this CPU reaches on this model, and
divides the operations of a pass at the recipe's input size by that rate; times the training samples
and the passes the recipe makes over them (:data:`interp_core.external.sizing.GPU_RECIPES`).
An estimate of the training alone: evaluation, feature extraction and data loading come on top.
"""
from __future__ import annotations

import time
from typing import Any

import torch

from interp_core.progress import format_duration

#: Sides the input is scaled down to (its longer side), tried in order while a pass takes at most
#: CHEAP_PASS_SECONDS (B-cos layers are slow on a CPU: the refusal should still come within seconds).
MEASURED_SIDES = (32, 64, 128)
CHEAP_PASS_SECONDS = 1.0
#: Samples per measured pass (batch norm needs two).
MEASURED_BATCH = 2


def _architecture(recipe) -> tuple[str, dict[str, Any]]:
    """The architecture (name, options) whose passes dominate ``recipe``'s training: its own, or that of the
    recipe it is built on (a sparse layer's dense model, an interpreter's backbone)."""
    from interp_core.store.recipes import get_recipe

    if getattr(recipe, "arch", None):
        return recipe.arch, dict(recipe.arch_kwargs)
    for field in ("dense", "backbone", "init_from"):
        name = getattr(recipe, field, "")
        if name:
            return _architecture(get_recipe(name))
    raise ValueError(f"Recipe {recipe.name!r} names no architecture to measure.")


def _pass_flops(model_fn, channels: int, shape: list[int]) -> float:
    """Floating-point operations of one forward and backward pass per sample, counted on the meta device
    (shapes only, nothing computed)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = model_fn()
        x = torch.rand(MEASURED_BATCH, channels, *shape)
    with FlopCounterMode(display=False) as counter:
        model(x).float().logsumexp(1).sum().backward()
    return counter.get_total_flops() / MEASURED_BATCH


def estimate_cpu_seconds(name: str) -> dict[str, Any]:
    """``{"seconds", "per_sample_seconds", "samples", "passes", "measured_shape", "threads"}`` for the
    GPU-sized recipe ``name`` trained on this CPU."""
    import interp_core.external.architectures  # noqa: F401  (the torchvision builders)
    from interp_core.external.sizing import GPU_RECIPES
    from interp_core.models import build_model
    from interp_core.store.recipes import get_recipe

    sizing = GPU_RECIPES[name]
    arch, kwargs = _architecture(get_recipe(name))
    channels, *spatial = sizing.input_shape

    def model_fn():
        return build_model(arch, in_channels=channels, num_classes=sizing.num_classes, **kwargs).train()

    torch.manual_seed(0)
    model = model_fn()
    for side in MEASURED_SIDES:  # grow the input while a pass stays cheap, so slow layers (B-cos) refuse quickly
        scale = min(1.0, side / max(spatial))
        shape = [max(MEASURED_SIDES[0] // 2, round(s * scale)) for s in spatial]
        x = torch.rand(MEASURED_BATCH, channels, *shape)
        timed = []
        for _ in range(2):  # the first pass also allocates: keep the second
            start = time.perf_counter()
            model(x).float().logsumexp(1).sum().backward()
            timed.append(time.perf_counter() - start)
        if timed[-1] > CHEAP_PASS_SECONDS or scale == 1.0:
            break
    rate = _pass_flops(model_fn, channels, shape) / (timed[-1] / MEASURED_BATCH)  # FLOP/s this CPU reaches on this model
    per_sample = _pass_flops(model_fn, channels, spatial) / rate
    seconds = per_sample * sizing.train_samples * sizing.passes
    return {"seconds": seconds, "per_sample_seconds": per_sample, "samples": sizing.train_samples, "passes": sizing.passes,
            "measured_shape": (channels, *shape), "threads": torch.get_num_threads()}


def cpu_refusal(name: str) -> str:
    """The message ``train`` refuses a GPU-sized recipe with on a machine without CUDA."""
    est = estimate_cpu_seconds(name)
    return (f"{name} is sized for a GPU: on this CPU ({est['threads']} threads) its training alone would take "
            f"{format_duration(est['seconds'], about=True)} ({est['passes']:g} passes over {est['samples']} training "
            f"samples at {est['per_sample_seconds']:.2f} s per sample forward and backward, measured now at "
            f"{'x'.join(map(str, est['measured_shape']))}). Run it where CUDA is available: "
            f"python -m interp_core train {name} (or --nproc N for N GPUs).")
