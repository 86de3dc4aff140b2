"""Reference figures printed by ``eval`` beside Q-SENN's Tables 1/4 (:mod:`interp_core.store.references`).

**diversity@5 over every tie-break.** Eq. 6 scores "the 5 highest-weighted features" of the predicted
class. In a ternary layer every positive weight of a class is the same +α, so a class with more than 5
positive weights (or fewer than 5, and more negative ones than the remainder) has no single top 5: which
features count is a tie, and :func:`interp_core.methods.qsenn.metrics.diversity_at_k` (the shipped
``diversity_at_5``) takes whatever order ``torch.topk`` returns among equal values. Here the tie-break is
defined on purpose: **the mean over every admissible top-5 set**, i.e. the expected value under a uniformly
random tie-break, which does not depend on how the features happen to be numbered
(``diversity_at_5_tie_mean``). Beside it, the range of the test-split mean over all tie-breaks
(``diversity_at_5_tie_range``): a tie-break is a property of a class's weight row, so every image predicted
as one class shares its class's choice, and the extremes pick each class's lowest- or highest-scoring set.
``diversity_at_5_tie_range_per_image`` is the wider envelope of tie-breaks that may differ from image to
image (e.g. ranking tied features by their activation), each image at its lowest or highest set.
Everything else is as in ``metrics.py``: the non-zero weights ranked by signed value (negatives only when
fewer than 5 are positive), images whose class has fewer than 5 non-zero weights skipped, ties meaning
equal weight values. A class whose tie admits more than ``max_sets`` sets is scored on ``max_sets`` seeded
random ones (``diversity_at_5_exhaustive`` false); no model of ours comes near (at most C(11, 5) = 462).

**Non-zero weights per class.** "5 per class" means 5·C non-zeros in the whole layer (Eq. 3 keeps the 5·C
largest of the matrix), not 5 in every row: ``nonzero_per_class_range`` gives the smallest and largest row
count and ``classes_below_5_nonzero`` the classes with fewer than 5, whose images drop out of diversity@5.

The same figures are computed for the models a recipe is compared with (prefixes as in the metrics:
``dense_``, ``glm_saga5_``, ``sldd_``).
"""
from __future__ import annotations

from itertools import combinations
from math import comb
from typing import Any

import numpy as np
import torch

from interp_core.data import load_split
from interp_core.data.base import Split
from interp_core.methods.qsenn.model import QSENNModel
from interp_core.methods.qsenn.training import _prefix
from interp_core.store.models import ModelNotTrainedError, load_model
from interp_core.store.recipes import get_recipe
from interp_core.store.references import register_references


def nonzero_per_class(weight: torch.Tensor, k: int = 5) -> dict[str, Any]:
    """``nonzero_per_class_range`` ``[min, max]`` of the non-zero weights per row of ``weight`` ``(C, n_f)`` and
    ``classes_below_{k}_nonzero``, the rows with fewer than ``k``."""
    counts = (weight.detach() != 0).sum(1)
    return {"nonzero_per_class_range": [int(counts.min()), int(counts.max())], f"classes_below_{k}_nonzero": int((counts < k).sum())}


def top_k_sets(row: torch.Tensor, k: int = 5, *, max_sets: int = 20000, seed: int = 0) -> tuple[torch.Tensor | None, bool]:
    """Every admissible top-``k`` set of a weight row ``(n_f,)``: ``(S, k)`` feature indices (None when the row
    has fewer than ``k`` non-zero weights), and whether the sets are all of them (see the module docstring)."""
    row = row.detach().cpu()
    nonzero = torch.nonzero(row != 0).flatten()
    if nonzero.numel() < k:
        return None, True
    values = row[nonzero]
    cut = values.sort(descending=True).values[k - 1]  # the k-th highest value decides the tie
    certain, tied = nonzero[values > cut].tolist(), nonzero[values == cut].tolist()
    need = k - len(certain)
    if comb(len(tied), need) <= max_sets:
        chosen, exhaustive = [list(c) for c in combinations(tied, need)], True
    else:
        rng = np.random.default_rng(seed)
        chosen, exhaustive = [sorted(rng.choice(tied, need, replace=False).tolist()) for _ in range(max_sets)], False
    return torch.tensor([certain + c for c in chosen], dtype=torch.long).view(-1, k), exhaustive


@torch.no_grad()
def diversity_over_tie_breaks(model: QSENNModel, test: Split, device: torch.device | str = "cpu", *, k: int = 5,
                              batch_size: int = 250, max_sets: int = 20000) -> dict[str, Any]:
    """Eq. 6 on ``test`` under every tie-break of the top-``k`` features (module docstring): ``tie_mean``,
    ``tie_range`` ``[min, max]``, ``tied_classes`` (classes with more than one admissible set), ``images``
    (the images scored) and ``exhaustive``."""
    was_training = model.training
    model.eval()
    weight = model.decision_weight.detach()
    sets = [top_k_sets(weight[c], k, max_sets=max_sets, seed=c) for c in range(weight.shape[0])]
    totals = [torch.zeros(len(s), dtype=torch.float64) if s is not None else None for s, _ in sets]
    counts = torch.zeros(weight.shape[0], dtype=torch.long)
    per_image = torch.zeros(2, dtype=torch.float64)  # sums of each image's lowest and highest value
    for start in range(0, len(test), batch_size):
        maps = model.feature_maps(test.inputs(np.arange(start, min(len(test), start + batch_size))).to(device))
        predicted = model.decide(model.normalise(maps.mean((2, 3)))).argmax(1).cpu()
        soft = maps.flatten(2).softmax(-1).cpu()  # (B, n_f, hw)
        for c in predicted.unique().tolist():
            if totals[c] is None:
                continue
            rows = soft[predicted == c]
            counts[c] += rows.shape[0]
            low = torch.full((rows.shape[0],), float("inf"), dtype=torch.float64)
            high = torch.full((rows.shape[0],), float("-inf"), dtype=torch.float64)
            for offset in range(0, len(totals[c]), 64):  # 64 sets at a time: (n_c, 64, k, hw) stays small
                chunk = sets[c][0][offset:offset + 64]
                value = rows[:, chunk].amax(2).sum(-1).double() / k  # (n_c, s)
                totals[c][offset:offset + len(chunk)] += value.sum(0)
                low, high = torch.minimum(low, value.amin(1)), torch.maximum(high, value.amax(1))
            per_image += torch.stack([low.sum(), high.sum()])
    model.train(was_training)
    scored = [c for c in range(weight.shape[0]) if totals[c] is not None and counts[c] > 0]
    images = int(sum(int(counts[c]) for c in scored))
    if images == 0:
        nan = [float("nan"), float("nan")]
        return {"tie_mean": nan[0], "tie_range": nan, "tie_range_per_image": nan, "tied_classes": 0, "images": 0, "exhaustive": True}
    low = sum(float(totals[c].min()) for c in scored) / images
    high = sum(float(totals[c].max()) for c in scored) / images
    mean = sum(float(totals[c].mean()) for c in scored) / images
    tied = sum(1 for s, _ in sets if s is not None and len(s) > 1)
    return {"tie_mean": mean, "tie_range": [low, high], "tie_range_per_image": (per_image / images).tolist(),
            "tied_classes": tied, "images": images, "exhaustive": all(exhaustive for _, exhaustive in sets)}


def _model_references(model: QSENNModel, test: Split, device: torch.device, k: int = 5) -> dict[str, Any]:
    ties = diversity_over_tie_breaks(model, test, device, k=k)
    return {**nonzero_per_class(model.decision_weight, k), f"diversity_at_{k}_tie_mean": ties["tie_mean"],
            f"diversity_at_{k}_tie_range": ties["tie_range"], f"diversity_at_{k}_tie_range_per_image": ties["tie_range_per_image"],
            f"diversity_at_{k}_tied_classes": ties["tied_classes"],
            f"diversity_at_{k}_exhaustive": ties["exhaustive"]}


def qsenn_references(recipe, model: QSENNModel, device: torch.device) -> dict[str, Any]:
    """The module docstring's figures for ``model`` and for the recipe's dense and ``compare`` models
    (prefixed as in the metrics; a comparison that is not trained is left out)."""
    test = load_split(recipe.dataset, "test")
    out = _model_references(model, test, device)
    for name, prefix in [(recipe.dense, "dense_")] + [(n, _prefix(get_recipe(n).method)) for n in recipe.compare]:
        try:
            other = load_model(name, device, train_if_missing=False, show_bar=False)
        except ModelNotTrainedError:
            continue
        out.update({prefix + key: value for key, value in _model_references(other.model, test, device).items()})
    return out


register_references("qsenn", qsenn_references)
