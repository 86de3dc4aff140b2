"""Q-SENN's reference figures: diversity@5 over every tie-break of a ternary layer (checked against a brute
force over all 5-subsets scored by metrics.diversity_at_k itself), and the per-class non-zero counts."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import torch

from interp_core.methods.qsenn.metrics import diversity_at_k
from interp_core.methods.qsenn.model import build_qsenn_model
from interp_core.methods.qsenn.references import diversity_over_tie_breaks, nonzero_per_class, top_k_sets
from tiny_data import tiny_split

A = 1.5  # the ternary magnitude


def test_top_k_sets_enumerate_exactly_the_tied_choices():
    seven_positive = torch.tensor([A, A, 0, A, A, A, A, -A, A])
    sets, exhaustive = top_k_sets(seven_positive, 5)
    assert exhaustive and sets.shape == (21, 5)  # C(7, 5)
    assert {tuple(sorted(s)) for s in sets.tolist()} == set(combinations([0, 1, 3, 4, 5, 6, 8], 5))
    three_and_four = torch.tensor([A, -A, A, -A, -A, A, -A])
    sets, _ = top_k_sets(three_and_four, 5)  # the 3 positives, then 2 of the 4 negatives
    assert sets.shape == (6, 5) and all({0, 2, 5} <= set(s) for s in sets.tolist())
    assert top_k_sets(torch.tensor([A, A, 0, -A, A]), 5)[0] is None
    real = torch.tensor([0.3, 0.9, -0.2, 0.5, 0.1, 0.7, 0.0])
    sets, _ = top_k_sets(real, 5)
    assert sets.shape == (1, 5) and sorted(sets[0].tolist()) == [0, 1, 3, 4, 5]
    sampled, exhaustive = top_k_sets(torch.full((30,), A), 5, max_sets=50)
    assert not exhaustive and sampled.shape == (50, 5)


def test_nonzero_per_class_counts_rows_not_the_average():
    weight = torch.zeros(3, 12)
    weight[0, :3], weight[1, :11], weight[2, 4:9] = A, -A, A
    assert nonzero_per_class(weight) == {"nonzero_per_class_range": [3, 11], "classes_below_5_nonzero": 1}


@torch.no_grad()
def _tied_model(split):
    """A ternary layer with ties in two classes, its normalisation and biases set on ``split`` so that
    every class is predicted for some of its images."""
    torch.manual_seed(0)
    model = build_qsenn_model("cnn", in_channels=3, num_classes=3, n_features=8, widths=(4, 6, 8, 10)).eval()
    model.set_selection(torch.arange(8))
    weight = torch.tensor([[A, A, A, A, A, A, A, 0],       # 7 positives: C(7, 5) = 21 tie-breaks
                           [A, 0, A, -A, -A, A, -A, 0],    # 3 positives, then 2 of 3 negatives: 3 tie-breaks
                           [A, -A, 0, A, 0, A, A, A]])     # 5 positives: no tie
    pooled = model.pooled_features(split.inputs(np.arange(len(split))))
    model.set_layer(weight, torch.zeros(3), mean=pooled.mean(0), std=pooled.std(0))
    logits = model.decide(model.normalise(pooled))
    model.set_layer(weight, -logits.median(0).values)
    return model, weight


@torch.no_grad()
def test_range_over_tie_breaks_matches_a_brute_force_over_all_subsets():
    split = tiny_split(12)
    model, weight = _tied_model(split)
    result = diversity_over_tie_breaks(model, split, batch_size=7)
    maps = model.feature_maps(split.inputs(np.arange(len(split))))
    predicted = model(split.inputs(np.arange(len(split)))).argmax(1)
    assert len(set(predicted.tolist())) == 3
    class_low = class_high = class_mean = image_low = image_high = 0.0
    for c in range(3):
        rows = maps[predicted == c]
        top = sorted([v for v in weight[c].tolist() if v != 0], reverse=True)[:5]  # non-zero weights only, as metrics.py
        admissible = [list(s) for s in combinations(range(8), 5) if weight[c, list(s)].count_nonzero() == 5
                      and sorted(weight[c, list(s)].tolist(), reverse=True) == top]
        # (n_c, S): metrics' own Eq. 6 on each subset (a weight of ones over exactly those five features)
        values = torch.stack([diversity_at_k(rows[:, s], torch.ones(1, 5), torch.zeros(len(rows), dtype=torch.long)) for s in admissible], 1).double()
        class_low += float(values.sum(0).min())
        class_high += float(values.sum(0).max())
        class_mean += float(values.sum(0).mean())
        image_low += float(values.min(1).values.sum())
        image_high += float(values.max(1).values.sum())
    n = len(split)
    assert result["images"] == n and result["tied_classes"] == 2 and result["exhaustive"]
    assert result["tie_range"] == pytest.approx([class_low / n, class_high / n], rel=1e-5)
    assert result["tie_mean"] == pytest.approx(class_mean / n, rel=1e-5)
    assert result["tie_range_per_image"] == pytest.approx([image_low / n, image_high / n], rel=1e-5)
    assert image_low < class_low < class_high < image_high  # the ties matter on this model
    shipped_rule = float(diversity_at_k(maps, weight, predicted).mean())  # torch.topk's tie order
    assert class_low / n - 1e-6 <= shipped_rule <= class_high / n + 1e-6


@torch.no_grad()
def test_without_ties_the_range_is_the_metric_itself():
    split = tiny_split(6)
    model, weight = _tied_model(split)
    distinct = weight * torch.linspace(1.0, 1.7, 8)  # no two equal values in any row
    model.set_layer(distinct, model.decision_bias.detach())
    result = diversity_over_tie_breaks(model, split)
    x = split.inputs(np.arange(len(split)))
    expected = float(diversity_at_k(model.feature_maps(x), distinct, model(x).argmax(1)).nanmean())
    assert result["tied_classes"] == 0
    assert result["tie_range"] == pytest.approx([expected, expected], rel=1e-5)
    assert result["tie_range_per_image"] == pytest.approx([expected, expected], rel=1e-5)
