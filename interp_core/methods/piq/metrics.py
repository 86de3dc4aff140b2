"""PIQ's evaluation on a recipe's test data (Sec. 3.2, Table 1; the reference's AI/AD/AG), with Grad-CAM
and LIME baselines on the same classifier, and mask IoU against our ground truth, also on mixtures.

The interpretation of an input ``x`` is ``x_int = mask ⊙ x`` (PIQ's MNIST and audio setting, App. C/G:
the soft sigmoid mask, as the reference); the scores are :mod:`interp_core.metrics.faithfulness`'s.
Baselines: the Grad-CAM and LIME maps for the classifier's decision, thresholded to the *same area* as
PIQ's mask of the same input (``round(Σ mask)`` pixels, :func:`top_area_masks`), so that only *where* the
mask lies differs. Mask IoU binarises PIQ's mask by the same rule, its own ``round(Σ mask)`` highest
pixels: for the near-binary image masks that is ``mask > 0.5`` up to a few pixels, while a soft,
under-confident mask (the audio interpreter's sigmoid stays below 0.5 on sparse event masks) is not
scored as empty.

Mixtures (Sec. 3.3): on the dataset's contaminated counterpart (``digits`` -> ``digits-overlap``,
``sounds`` -> ``sounds-mix``, ``shapes`` -> ``shapes-multi`` scenes) the mask for the classifier's decision
is compared with the ground-truth mask of the source of that class (``mixture_mask_iou``) and with the
best-matching other source (``mixture_other_iou``); mixtures whose decision is none of their sources are
left out (``mixture_n`` counts the rest). ``mixture_chosen_iou``: the mask asked for the *other* source's
class against that source.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from interp_core.data import load_split
from interp_core.data.base import Split
from interp_core.methods.base import get_explainer
from interp_core.methods.piq.model import PIQModel
from interp_core.methods.piq.recipes import CONTAMINATED
from interp_core.metrics.faithfulness import (
    average_drop,
    average_gain,
    average_increase,
    faithfulness,
    fidelity_in,
    frechet_distance,
    mask_iou,
    top_area_masks,
)
from interp_core.store.card import ModelCard

#: The contaminated counterpart of each dataset (``CONTAMINATED``): (dataset, source-label extra, source-mask extra).
MIXTURES = {
    "digits": (CONTAMINATED["digits"], "source_labels", "source_masks"),
    "sounds": (CONTAMINATED["sounds"], "source_labels", "source_masks"),
    "shapes": (CONTAMINATED["shapes"], "object_labels", "object_masks"),
}


def _scores(prefix: str, p: torch.Tensor, o: torch.Tensor, q: torch.Tensor) -> dict[str, float]:
    return {f"{prefix}fidelity_in": fidelity_in(p, o), f"{prefix}faithfulness": faithfulness(p, q),
            f"{prefix}ai": average_increase(p, o), f"{prefix}ad": average_drop(p, o), f"{prefix}ag": average_gain(p, o)}


class _Collector:
    """Per-method lists of kept/removed probabilities, IoUs and embeddings over batches."""

    def __init__(self):
        self.parts: dict[str, list[torch.Tensor | np.ndarray]] = {}

    def add(self, key: str, value) -> None:
        self.parts.setdefault(key, []).append(value.detach().cpu() if isinstance(value, torch.Tensor) else value)

    def cat(self, key: str):
        values = self.parts[key]
        return torch.cat(values) if isinstance(values[0], torch.Tensor) else np.concatenate(values)

    def __contains__(self, key: str) -> bool:
        return key in self.parts


def evaluate_piq(model: PIQModel, dataset: str, card: ModelCard, *, test_samples: int | None = None, lime_samples: int = 16,
                 mixture_samples: int | None = 200, batch_size: int = 100) -> dict[str, Any]:
    """Every PIQ score on the test split of ``dataset`` (the first ``test_samples``; None: all), with
    Grad-CAM baselines on all of them and LIME on the first ``lime_samples``; mixture scores on the
    first ``mixture_samples`` contaminated test inputs. ``card``: the backbone classifier's card.

    Keys: ``accuracy`` (the classifier's), ``n``, ``fidelity_in``, ``faithfulness``, ``ai``, ``ad``, ``ag``,
    ``mask_iou`` (when the data has masks), ``mask_area`` (mean of the soft mask), ``frechet_own_features``
    (Fréchet distance between the classifier's pooled embeddings of interpretations and of inputs), the
    same with ``gradcam_`` and ``lime_`` prefixes (``lime_n``), and the ``mixture_*`` scores.
    """
    device = next(model.parameters()).device
    model.eval()
    test = load_split(dataset, "test")
    n = len(test) if test_samples is None else min(int(test_samples), len(test))
    gradcam = get_explainer("gradcam", model.backbone, card)
    lime = get_explainer("lime", model.backbone, card) if lime_samples > 0 else None
    truth = test.extras.get("masks")
    got = _Collector()
    correct = 0
    for start in range(0, n, batch_size):
        index = np.arange(start, min(n, start + batch_size))
        x = test.inputs(index).to(device)
        result = model.interpret(x)
        predicted = result.prediction
        correct += int((predicted.cpu() == torch.from_numpy(test.labels[index])).sum())
        mask = result.mask
        areas = mask.flatten(1).sum(1).round()
        kept = {"": mask}
        kept["gradcam_"] = top_area_masks(gradcam.attribute(x, predicted), areas).to(x)
        n_lime = min(len(index), max(0, lime_samples - start))
        with torch.no_grad():
            got.add("p", card.probabilities(result.logits))
            got.add("embed_x", model.backbone.embed(x))
            for prefix, m in kept.items():
                m = m[:, None]
                got.add(prefix + "o", card.probabilities(model(m * x)))
                got.add(prefix + "q", card.probabilities(model((1 - m) * x)))
                got.add(prefix + "embed", model.backbone.embed(m * x))
        if lime is not None and n_lime > 0:
            lime_mask = top_area_masks(lime.attribute(x[:n_lime], predicted[:n_lime]), areas[:n_lime]).to(x)[:, None]
            with torch.no_grad():
                got.add("lime_p", card.probabilities(result.logits[:n_lime]))
                got.add("lime_o", card.probabilities(model(lime_mask * x[:n_lime])))
                got.add("lime_q", card.probabilities(model((1 - lime_mask) * x[:n_lime])))
            if truth is not None:
                got.add("lime_iou", mask_iou(lime_mask[:, 0].cpu(), truth[index[:n_lime]]))
        if truth is not None:
            got.add("iou", mask_iou(top_area_masks(mask, areas).cpu(), truth[index]))
            got.add("gradcam_iou", mask_iou(kept["gradcam_"].cpu(), truth[index]))
        got.add("area", mask.flatten(1).mean(1))
    p = got.cat("p")
    out: dict[str, Any] = {"accuracy": correct / n, "n": n}
    for prefix in ("", "gradcam_"):
        out.update(_scores(prefix, p, got.cat(prefix + "o"), got.cat(prefix + "q")))
        if truth is not None:
            out[prefix + "mask_iou"] = float(got.cat(prefix + "iou").mean())
        out[prefix + "frechet_own_features"] = frechet_distance(got.cat(prefix + "embed"), got.cat("embed_x"))
    out["mask_area"] = float(got.cat("area").mean())
    if "lime_o" in got:
        out.update(_scores("lime_", got.cat("lime_p"), got.cat("lime_o"), got.cat("lime_q")))
        if "lime_iou" in got:
            out["lime_mask_iou"] = float(got.cat("lime_iou").mean())
        out["lime_n"] = int(len(got.cat("lime_p")))
    if dataset in MIXTURES and mixture_samples != 0:
        out.update(mixture_scores(model, *MIXTURES[dataset], samples=mixture_samples, batch_size=batch_size))
    return out


def own_area_masks(masks: torch.Tensor) -> torch.Tensor:
    """Soft masks ``(N, H, W)`` binarised to their own area: the ``round(Σ mask)`` highest pixels of each."""
    return top_area_masks(masks, masks.flatten(1).sum(1).round())


def source_ious(model: PIQModel, x: torch.Tensor, source_labels: np.ndarray, source_masks: np.ndarray) -> dict[str, np.ndarray]:
    """For inputs ``x`` ``(N, C, H, W)`` made of sources with classes ``source_labels`` ``(N, K)`` (-1: no
    source) and masks ``source_masks`` ``(N, K, H, W)``: per input, whether the decision is one of the
    sources (``hit``), the IoU of the decision's mask with that source (``predicted``) and the best IoU
    with any other source (``other``), and the IoU of the mask asked for the best other source's class
    with that source (``chosen``)."""
    result = model.interpret(x)
    pred = result.prediction.cpu().numpy()
    binary = own_area_masks(result.mask).cpu().numpy()
    n, k = source_labels.shape
    hit = (source_labels == pred[:, None]).any(1)
    slot = np.where(hit, (source_labels == pred[:, None]).argmax(1), 0)
    ious = np.stack([mask_iou(binary, source_masks[:, j]) for j in range(k)], 1)  # (N, K)
    others = np.where((np.arange(k)[None] != slot[:, None]) & (source_labels >= 0), ious, -1.0)
    other_slot = others.argmax(1)
    rows = np.arange(n)
    other_class = torch.as_tensor(source_labels[rows, other_slot], device=x.device)
    chosen = model.interpret(x, other_class.clamp(min=0))
    chosen_iou = mask_iou(own_area_masks(chosen.mask).cpu().numpy(), source_masks[rows, other_slot])
    return {"hit": hit, "predicted": ious[rows, slot], "other": others.max(1), "chosen": chosen_iou}


def mixture_scores(model: PIQModel, dataset: str, labels_key: str, masks_key: str, *, samples: int | None = 200,
                   batch_size: int = 100) -> dict[str, Any]:
    """Mask IoU on contaminated test inputs of ``dataset`` (see the module docstring)."""
    device = next(model.parameters()).device
    split: Split = load_split(dataset, "test")
    n = len(split) if samples is None else min(int(samples), len(split))
    parts: dict[str, list[np.ndarray]] = {"hit": [], "predicted": [], "other": [], "chosen": []}
    for start in range(0, n, batch_size):
        index = np.arange(start, min(n, start + batch_size))
        found = source_ious(model, split.inputs(index).to(device), split.extras[labels_key][index], split.extras[masks_key][index])
        for key, value in found.items():
            parts[key].append(value)
    hit, predicted, other, chosen = (np.concatenate(parts[k]) for k in ("hit", "predicted", "other", "chosen"))
    return {
        "mixture_dataset": dataset,
        "mixture_n": int(hit.sum()),
        "mixture_decision_is_a_source": float(hit.mean()),
        "mixture_mask_iou": float(predicted[hit].mean()) if hit.any() else float("nan"),
        "mixture_other_iou": float(other[hit].mean()) if hit.any() else float("nan"),
        "mixture_predicted_beats_other": float((predicted[hit] > other[hit]).mean()) if hit.any() else float("nan"),
        "mixture_chosen_iou": float(chosen[hit].mean()) if hit.any() else float("nan"),
    }
