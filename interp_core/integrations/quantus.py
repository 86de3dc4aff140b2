"""Our explanation methods as Quantus' ``explain_func`` (Hedström et al., JMLR 2023; Quantus 0.6).

Quantus scores explanations with metrics that call ``explain_func(model=..., inputs=..., targets=...,
**explain_func_kwargs)`` on numpy batches, sometimes on models it changed itself (MPRT explains a copy
with randomised layers). :func:`explain` is that function for every method of ours:

* numpy in, numpy out: ``inputs`` ``(N, C, H, W)`` and ``targets`` ``(N,)`` -> maps ``(N, 1, H, W)``
  float32 (one channel, as Quantus expects an image attribution);
* the model card travels in ``explain_func_kwargs`` (:func:`explain_arguments`), because the method is
  chosen by it; on every call the card is given the fingerprint of the weights actually explained, so a
  randomised copy is never taken for the trained model;
* the explainer is rebuilt on each call from the model Quantus passes, so a randomised copy is explained
  by its own weights (building an explainer does no work);
* inputs go to the model's device and maps come back to the CPU (the contract's device move).

Also :func:`quantus_batch` (inputs, labels and ground-truth masks ``(N, 1, H, W)`` of a split, what the
localisation metrics take as ``s_batch``), :func:`randomisable_model` (a copy whose every layer has the
``reset_parameters`` MPRT needs: B-cos layers get it through
:mod:`interp_core.models.bcos.randomise`) and :func:`layers_mprt_skips`.

Known limits of Quantus 0.6.0 with numpy 2.4: its AUC helper calls the removed ``np.trapz`` (the
PixelFlipping, RegionPerturbation and Selectivity AUC scores and IROF fail), and IROF also fails on
three-channel inputs; nothing here relies on those. Its default normalisation divides a batch by the
batch's maximum (not per image): pass ``normalise=False`` where per-image values matter.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn

from interp_core.data.base import Split
from interp_core.methods.base import UnsupportedModelError, explainer_class, get_explainer
from interp_core.models.bcos.randomise import randomisable_copy
from interp_core.store.card import ModelCard, state_fingerprint


def explain(model: nn.Module, inputs: np.ndarray, targets: np.ndarray, *, method: str, card: ModelCard,
            device: str | torch.device | None = None, **params: Any) -> np.ndarray:
    """Quantus' ``explain_func``: the ``method`` maps of ``model`` for ``inputs`` ``(N, C, H, W)`` and
    ``targets`` ``(N,)`` as float32 ``(N, 1, H, W)`` on the CPU. ``card``: the trained model's card (its
    fingerprint is replaced by that of ``model``'s current weights); ``params`` go to the explainer.
    ``device``, which Quantus adds to every call, is not used: inputs go where the model's weights are."""
    card = card.with_fingerprint(state_fingerprint(model.state_dict()))
    explainer = get_explainer(method, model, card, **params)
    x = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
    target = torch.as_tensor(np.asarray(targets, dtype=np.int64).reshape(-1))
    if x.shape[0] != target.shape[0]:
        raise ValueError(f"{target.shape[0]} targets for {x.shape[0]} inputs.")
    maps = explainer.attribute(x, target)
    return maps.float().cpu().numpy()[:, None]


def explain_arguments(card: ModelCard, method: str, **params: Any) -> dict[str, Any]:
    """``explain_func`` and ``explain_func_kwargs`` for a Quantus metric call on the model of ``card``:
    ``metric(model=model, x_batch=..., y_batch=..., **explain_arguments(card, "bcos"))``. Refuses a method
    that does not explain that model (before Quantus runs anything)."""
    if not explainer_class(method).supports(card):
        raise UnsupportedModelError(f"The {method!r} method does not explain {card.recipe!r} ({card.family} {card.kind}).")
    return {"explain_func": explain, "explain_func_kwargs": {"method": method, "card": card, **params}}


def ground_truth_masks(split: Split, index: Sequence[int] | np.ndarray) -> np.ndarray:
    """The split's ground-truth masks of samples ``index`` as float32 ``(N, 1, H, W)`` in {0, 1} (Quantus'
    ``s_batch``); raises ``ValueError`` for a split without masks."""
    masks = split.extras.get("masks")
    if masks is None:
        raise ValueError(f"This {split.info.name!r} split has no ground-truth masks.")
    chosen = np.asarray(masks[np.asarray(index)])
    return (chosen > 0).astype(np.float32)[:, None]


def quantus_batch(split: Split, index: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
    """``x_batch`` ``(N, C, H, W)`` float32, ``y_batch`` ``(N,)`` int64 and ``s_batch`` ``(N, 1, H, W)`` of samples
    ``index`` of ``split``, as Quantus' metrics take them (``s_batch`` only when the split has masks)."""
    index = np.asarray(index)
    batch = {"x_batch": split.inputs(index).float().cpu().numpy(), "y_batch": np.asarray(split.labels[index], dtype=np.int64)}
    if split.extras.get("masks") is not None:
        batch["s_batch"] = ground_truth_masks(split, index)
    return batch


def randomisable_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` that Quantus' MPRT can randomise layer by layer: the same outputs, with
    ``reset_parameters`` on its B-cos layers (torch's own layers have it). ``model`` is left as it is."""
    return randomisable_copy(model)


def layers_mprt_skips(model: nn.Module) -> list[str]:
    """Names of the modules of ``model`` that own parameters but have no ``reset_parameters``: the layers
    Quantus' MPRT leaves untouched without a word (an empty list: every layer is randomised)."""
    return [name for name, module in model.named_modules()
            if any(True for _ in module.parameters(recurse=False)) and not hasattr(module, "reset_parameters")]
