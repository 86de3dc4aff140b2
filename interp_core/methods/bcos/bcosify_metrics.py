"""What ``eval`` reports for a B-cosified model (B-cosification, Arya et al., NeurIPS 2024), computed now
on the test split, beside the model it was converted from and its from-scratch twin.

* ``accuracy``, ``loss``, ``n``; ``original`` and ``from_scratch``: the base classifier's and the twin's
  test accuracy, computed now, and the gaps.
* ``completeness_error``: the largest relative gap between the contributions' sum and the logit minus the
  logit bias over :data:`COMPLETENESS_SAMPLES` test inputs, computed in float64 (B-cos Eq. 15: zero up to
  rounding once every bias is gone); ``completeness_error_float32`` the same for the float32 maps the
  dashboard draws (their rounding).
* ``mask_iou`` (datasets with ground-truth masks: the shapes' objects, the sounds' time-frequency masks):
  each contribution map's positive top pixels, as many as the mask holds, against the mask (mean IoU), and
  the same for Grad-CAM on the original classifier (``original_gradcam_mask_iou``).
* ``fine_tuning``: the training record of these weights (:func:`fine_tuning_record`): seconds, epochs, and
  when the fine-tuning first reached the from-scratch twin's best validation accuracy.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from interp_core.data import load_split
from interp_core.data.base import Split
from interp_core.methods.base import Explainer, get_explainer
from interp_core.methods.bcos.bcosify_recipes import FROM_SCRATCH, BcosifiedRecipe
from interp_core.metrics.faithfulness import mask_iou, top_area_masks
from interp_core.store.catalog import checkpoint_meta, checkpoint_status
from interp_core.store.models import HANDLERS, ModelNotTrainedError, load_model, model_card
from interp_core.training.engine import evaluate_classifier

#: Test inputs whose contributions are checked against their logits.
COMPLETENESS_SAMPLES = 32
#: Inputs explained per batch for the mask overlap.
BATCH = 50


def completeness_error(explainer: Explainer, inputs: torch.Tensor) -> float:
    """``max |Σ x6·W(x) - (logit - logit bias)| / |logit - logit bias|`` over ``inputs`` ``(N, C, H, W)``,
    each explained for its predicted class by the ``bcos`` ``explainer``, in the explainer model's precision
    (in float32 the sum of thousands of contributions of both signs rounds at about 1e-4 of a small logit)."""
    model = explainer.model
    inputs = inputs.to(explainer.device, next(model.parameters()).dtype)
    with torch.no_grad():
        logits = model(inputs)
    target = logits.argmax(1)
    explained = logits.gather(1, target.view(-1, 1)).squeeze(1).double() - model.logit_layer.bias
    total = explainer.attribute(inputs, target).flatten(1).double().sum(1)
    return float(((total - explained).abs() / explained.abs().clamp_min(1e-12)).max())


def mean_mask_iou(explainer: Explainer, split: Split, masks: np.ndarray) -> float:
    """Mean IoU of each map's top pixels (for the true class; as many as its mask holds) with the mask."""
    ious = []
    for start in range(0, len(split), BATCH):
        index = np.arange(start, min(len(split), start + BATCH))
        truth = masks[index]
        maps = explainer.attribute(split.inputs(index), torch.from_numpy(split.labels[index]).to(explainer.device))
        ious.append(mask_iou(top_area_masks(maps.cpu(), truth.reshape(len(index), -1).sum(1)), truth))
    return float(np.concatenate(ious).mean())


def _reach(history: list[dict[str, Any]], accuracy: float) -> dict[str, Any] | None:
    """The first epoch whose validation accuracy is at least ``accuracy``, with the seconds until then."""
    row = next((r for r in history if r["val_accuracy"] >= accuracy), None)
    return None if row is None else {"epoch": int(row["epoch"]), "seconds": round(float(row["seconds"]), 1)}


def fine_tuning_record(meta: dict[str, Any], from_scratch: str | None) -> dict[str, Any]:
    """From checkpoint metadata ``meta`` of a B-cosified model: ``seconds`` (its recorded training time),
    ``epochs``, ``converted_val_accuracy`` (before the first epoch) and, with a trained ``from_scratch``
    twin, its recorded ``from_scratch_seconds``/``epochs``/``val_accuracy``, ``reached`` (the first epoch
    whose validation accuracy reached the twin's best, and the seconds until then; None: never) and
    ``seconds_ratio`` (fine-tuning / from-scratch training time; the two runs' machines may differ)."""
    fit = meta.get("fit", {})
    record: dict[str, Any] = {"seconds": meta.get("train_seconds"), "epochs": fit.get("epochs_run"),
                              "converted_val_accuracy": fit.get("converted_val_accuracy"),
                              "val_accuracy": fit.get("val_accuracy")}
    twin = checkpoint_meta(from_scratch) if from_scratch else {}
    twin_fit = twin.get("fit", {})
    if twin_fit.get("val_accuracy") is not None:
        target = float(twin_fit["val_accuracy"])
        record.update(from_scratch=from_scratch, from_scratch_seconds=twin.get("train_seconds"),
                      from_scratch_epochs=twin_fit.get("epochs_run"), from_scratch_val_accuracy=target,
                      reached=_reach(fit.get("history", []), target))
        if record["seconds"] and twin.get("train_seconds"):
            record["seconds_ratio"] = round(float(record["seconds"]) / float(twin["train_seconds"]), 3)
    return record


def _own_meta(recipe: BcosifiedRecipe, model: torch.nn.Module, device: torch.device) -> dict[str, Any]:
    """The checkpoint metadata of exactly ``model`` ({} while it is being trained: not written yet)."""
    try:
        loaded = load_model(recipe.name, device, train_if_missing=False, show_bar=False)
    except ModelNotTrainedError:
        return {}
    return loaded.meta if loaded.model is model else {}


def _test_accuracy(name: str, test: Split, device: torch.device) -> float:
    loaded = load_model(name, device, train_if_missing=False, show_bar=False)
    return float(HANDLERS.get(loaded.recipe.kind).evaluate(loaded.recipe, loaded.model, loaded.device)["accuracy"])


def bcosified_metrics(recipe: BcosifiedRecipe, model: torch.nn.Module, device: torch.device) -> dict[str, Any]:
    """Every figure of the module docstring for the B-cosified ``model`` of ``recipe``."""
    test = load_split(recipe.dataset, "test")
    metrics: dict[str, Any] = evaluate_classifier(model, test, device, recipe.loss)
    card = model_card(recipe, {})
    explainer = get_explainer("bcos", model, card)
    checked = test.inputs(np.arange(min(COMPLETENESS_SAMPLES, len(test))))
    metrics["completeness_error"] = completeness_error(get_explainer("bcos", copy.deepcopy(model).double(), card), checked)
    metrics["completeness_error_float32"] = completeness_error(explainer, checked)
    metrics["original"] = {"recipe": recipe.base, "accuracy": _test_accuracy(recipe.base, test, device)}
    metrics["original"]["accuracy_gap"] = round(metrics["original"]["accuracy"] - metrics["accuracy"], 4)
    twin = FROM_SCRATCH.get(recipe.name)
    if twin and checkpoint_status(twin) != "missing":
        accuracy = _test_accuracy(twin, test, device)
        metrics["from_scratch"] = {"recipe": twin, "accuracy": accuracy, "accuracy_gap": round(accuracy - metrics["accuracy"], 4)}
    masks = test.extras.get("masks")
    if masks is not None:
        base = load_model(recipe.base, device, train_if_missing=False, show_bar=False)
        metrics["mask_iou"] = mean_mask_iou(explainer, test, masks)
        metrics["original_gradcam_mask_iou"] = mean_mask_iou(get_explainer("gradcam", base), test, masks)
    meta = _own_meta(recipe, model, device)
    if meta:
        metrics["fine_tuning"] = fine_tuning_record(meta, twin)
    return metrics
