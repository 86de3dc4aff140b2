"""KMEx's maps on the test split's ground-truth masks, against Grad-CAM on the same frozen CNN.

Where a dataset has exact masks at input resolution (the time-frequency masks of the ``sounds`` events,
the object masks of ``shapes`` scenes, the strokes of ``digits``), every test input is explained for its
true class by the registered ``kmex-b4``/``kmex-b234`` explainers (the gradient-free attribution the view
draws) and by Grad-CAM on the backbone, and each map is scored by
:mod:`interp_core.metrics.mask_overlap` (pointing-game-style hit, positive mass inside, IoU at the mask's
own area).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from interp_core.data.base import Split
from interp_core.metrics.mask_overlap import SCORES, mask_overlap_scores, summarize_overlaps


def has_masks(split: Split) -> bool:
    """Whether ``split`` carries ground-truth masks ``(N, H, W)`` at its inputs' resolution."""
    masks = split.extras.get("masks")
    return masks is not None and tuple(np.shape(masks)[1:]) == tuple(split.info.input_shape[-2:])


def mask_overlap_metrics(recipe, model: torch.nn.Module, test: Split, *, variants: Sequence[str] = ("b4", "b234"),
                         baseline: str = "gradcam", batch_size: int = 50) -> dict[str, float]:
    """``<method>_mask_<score>`` for the KMEx ``variants`` (``b4``, ``b234``) of the fitted ``model`` of
    ``recipe`` and for ``baseline`` (Grad-CAM) on its backbone, on every input of ``test`` explained for its
    label, and ``truth_mask_area`` (the masks' mean share of the input: chance level of ``pointing`` and
    ``mass``); ``mask_n`` inputs with a non-empty mask."""
    from interp_core.methods.base import get_explainer
    from interp_core.store.models import load_model, model_card

    device = next(model.parameters()).device
    card = model_card(recipe, {})
    explainers = {v: get_explainer(f"kmex-{v}", model, card) for v in variants}
    explainers[baseline] = get_explainer(baseline, load_model(recipe.backbone, device, train_if_missing=False, show_bar=False))
    masks = test.extras["masks"]
    scores: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in explainers}
    for start in range(0, len(test), batch_size):
        index = np.arange(start, min(len(test), start + batch_size))
        x = test.inputs(index).to(device)
        y = torch.from_numpy(test.labels[index]).to(device)
        for name, explainer in explainers.items():
            scores[name].append(mask_overlap_scores(explainer.attribute(x, y).cpu(), masks[index]))
    out: dict[str, float] = {}
    for name, parts in scores.items():
        summary = summarize_overlaps({k: np.concatenate([p[k] for p in parts]) for k in SCORES})
        out.update({f"{name}_mask_{k}": summary[k] for k in SCORES if k != "area"})
        out["truth_mask_area"], out["mask_n"] = summary["area"], summary["n"]
    return out
