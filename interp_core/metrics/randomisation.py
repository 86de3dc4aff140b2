"""Cascading model-parameter randomisation test (Adebayo et al., "Sanity checks for saliency maps", NeurIPS
2018): re-draw the parameters of a model layer by layer, from the output towards the input, explain the same
inputs after every step, and correlate each map with the map of the trained model. A map that stays the
same while the model it claims to explain is destroyed explains the data, not the model. Pure scoring: a
model, an explainer factory and inputs in, correlations out; no I/O.

Choices, on purpose:

* **Generic randomisation.** Every parameter tensor of a layer is re-drawn from a fixed seed as
  ``mean + std * z`` (``z`` standard normal; the tensor's own mean and standard deviation), not through
  ``reset_parameters``: B-cos layers have none, so a test built on it finds nothing to randomise in a B-cos
  network. Keeping each tensor's scale keeps activations in range; a one-element tensor has no spread and
  keeps its value. Buffers (normalisation statistics, fitted prototypes) are not parameters and stay.
* **Layers and their order.** A layer is a module that owns parameters. The order is the order in which
  the explanation itself runs them (forward hooks, recorded while the trained model's maps are computed):
  the module that finishes last is the output side and is randomised first. Modules the explanation never
  calls through their ``forward`` come first (they can only be top-level wrappers or unused heads).
* **Similarity.** Spearman's rank correlation of ``|map|`` (Adebayo's "absolute value" variant): several
  methods give sign-free maps (Grad-CAM, masks, prototype similarities), and a sign flip of the whole map
  by a randomised last layer is not an explanation of the trained model either. NaN where a map is constant.
"""
from __future__ import annotations

import copy
import itertools
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from interp_core.metrics.map_statistics import spearman_rows

#: ``make_attribute(module) -> attribute(inputs (N, ...), target (N,)) -> maps (N, H, W)``: an explainer of
#: the given (randomised) module.
AttributeFactory = Callable[[nn.Module], Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]


def owns_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False))


def redraw_parameters(module: nn.Module, seed: int) -> None:
    """Re-draw every parameter tensor the module owns (not its children's) as ``mean + std * z``, in place."""
    with torch.no_grad():
        for i, (_, param) in enumerate(sorted(module.named_parameters(recurse=False))):
            if param.numel() < 2:
                continue
            generator = torch.Generator().manual_seed(int(seed) * 1009 + i)
            z = torch.randn(param.shape, generator=generator, dtype=torch.float64)
            mean, std = param.double().mean(), param.double().std(unbiased=False)
            param.copy_((mean.cpu() + std.cpu() * z).to(param.device, param.dtype))


def layer_order(model: nn.Module, run: Callable[[], object]) -> list[str]:
    """Names of the modules of ``model`` that own parameters, output side first: those ``run()`` never calls
    (in reverse registration order), then the called ones from the last to finish to the first."""
    finished: dict[str, int] = {}
    clock = itertools.count()
    owners = [(name, module) for name, module in model.named_modules() if owns_parameters(module)]
    handles = [module.register_forward_hook(lambda *_, name=name: finished.__setitem__(name, next(clock)))
               for name, module in owners]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    never = [name for name, _ in reversed(owners) if name not in finished]
    return never + sorted(finished, key=finished.get, reverse=True)


def _absolute(maps: torch.Tensor) -> np.ndarray:
    return maps.detach().double().abs().reshape(maps.shape[0], -1).cpu().numpy()


def cascading_randomisation(model: nn.Module, make_attribute: AttributeFactory, inputs: torch.Tensor, target: torch.Tensor,
                            seed: int = 0, every_step: bool = True) -> dict:
    """Correlations of the maps of ``inputs`` ``(N, ...)`` for ``target`` ``(N,)`` with the trained model's
    maps, after each cumulative randomisation step (``model`` itself is left untouched; a deep copy is
    randomised). ``every_step=False`` explains only the fully randomised model (the same final state: each
    layer's draw depends on its own seed only), for methods too costly to explain it once per layer.
    Returns ``layers`` (module names, in the order randomised; ``""`` is the model itself), ``evaluated``
    (how many layers were randomised at each row), ``correlations`` ``(rows, N)`` (Spearman of ``|map|``;
    NaN for constant maps) and ``original`` ``(N, H, W)``."""
    attribute = make_attribute(model)
    original: dict[str, torch.Tensor] = {}

    def explain() -> None:
        original["maps"] = attribute(inputs, target)

    order = layer_order(model, explain)
    reference = _absolute(original["maps"])
    randomised = copy.deepcopy(model)
    modules = dict(randomised.named_modules())
    evaluated = list(range(1, len(order) + 1)) if every_step else [len(order)]
    correlations = np.full((len(evaluated), len(inputs)), np.nan)
    for step, name in enumerate(order):
        redraw_parameters(modules[name], seed + step)
        if step + 1 in evaluated:
            maps = make_attribute(randomised)(inputs, target)
            correlations[evaluated.index(step + 1)] = spearman_rows(reference, _absolute(maps))
    return {"layers": order, "evaluated": evaluated, "correlations": correlations, "original": original["maps"].detach().float().cpu()}


def randomisation_summary(correlations: np.ndarray) -> list[float | None]:
    """Mean correlation per step ``(L,)`` over the inputs whose maps had a rank (None where none had)."""
    out = []
    for row in np.asarray(correlations, np.float64):
        kept = row[~np.isnan(row)]
        out.append(float(kept.mean()) if kept.size else None)
    return out
