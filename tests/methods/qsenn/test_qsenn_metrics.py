"""Tables 1/4 metrics on hand-made inputs: diversity@5 (Eq. 6), dependence (Eqs. 7-8), alignment (Eqs. 9-10),
binary features, and the Feature Diversity Loss (Eq. 2)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from interp_core.methods.qsenn.diversity import feature_diversity_loss
from interp_core.methods.qsenn.metrics import alignment_matrix, alignment_r, binary_feature_share, dependence, diversity_at_k


def _peaked(n_f: int, positions: list[int], size: int = 4, height: float = 50.0) -> torch.Tensor:
    maps = torch.zeros(1, n_f, size, size)
    for j, p in enumerate(positions):
        maps[0, j].view(-1)[p] = height
    return maps


def test_diversity_is_one_for_five_maps_at_five_places_and_one_fifth_when_they_overlap():
    weight = torch.tensor([[1.0, 1, 1, 1, 1, 0, 0]])
    apart = _peaked(7, [0, 3, 6, 9, 12, 0, 0])
    together = _peaked(7, [5, 5, 5, 5, 5, 0, 0])
    pred = torch.tensor([0])
    assert float(diversity_at_k(apart, weight, pred)) == pytest.approx(1.0, abs=1e-6)
    assert float(diversity_at_k(together, weight, pred)) == pytest.approx(0.2, abs=1e-6)
    # Uniform maps: every softmax is 1/16 everywhere, the max over maps sums to 1, divided by 5.
    assert float(diversity_at_k(torch.ones(1, 7, 4, 4), weight, pred)) == pytest.approx(0.2)


def test_diversity_ranks_nonzero_weights_by_signed_value_and_skips_classes_with_fewer_than_five():
    # Class 0: four positives and one negative (feature 6); zero-weight features never enter.
    weight = torch.tensor([[1.0, 1, 1, 1, 0, 0, -1], [1.0, 1, 0, 0, 0, 0, 0]])
    maps = _peaked(7, [0, 1, 2, 3, 4, 5, 15])
    values = diversity_at_k(maps.expand(2, -1, -1, -1), weight, torch.tensor([0, 1]))
    assert float(values[0]) == pytest.approx(1.0, abs=1e-6)
    assert math.isnan(float(values[1]))


def test_dependence():
    e = torch.tensor([[3.0, -1.0, 0.0], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    assert dependence(e) == pytest.approx((0.75 + 0.5) / 2)


def test_alignment_matrix_and_r_on_a_planted_attribute():
    rng = np.random.default_rng(0)
    attributes = rng.integers(0, 2, (400, 3))
    attributes[:, 2] = 1  # present everywhere: skipped
    f0 = attributes[:, 0] * 2.0 + 1.0  # exactly attribute 0, shifted and scaled
    f1 = rng.random(400)
    features = np.stack([f0, f1], 1)
    matrix = alignment_matrix(features, attributes)
    assert matrix.shape == (2, 3) and np.isnan(matrix[:, 2]).all()
    assert matrix[0, 0] == pytest.approx(2.0) and matrix[0, 1] == pytest.approx(0.0, abs=0.3)
    # Eq. 10 for feature 0: 2 / mean(f0 - 1) = 2 / (2 * share of attribute 0)
    share = attributes[:, 0].mean()
    r0 = 2.0 / (2.0 * share)
    r1 = np.nanmax(matrix[1]) / (f1 - f1.min()).mean()
    assert alignment_r(features, attributes) == pytest.approx((r0 + r1) / 2)
    assert alignment_r(features * 7 + 3, attributes) == pytest.approx(alignment_r(features, attributes))


def test_binary_features_counts_two_mode_features():
    rng = np.random.default_rng(0)
    two = np.where(rng.random(1000) < 0.5, rng.normal(0, 0.05, 1000), rng.normal(3, 0.05, 1000))
    one = rng.normal(0, 1, 1000)
    assert binary_feature_share(np.stack([two, one], 1)) == 0.5


def test_feature_diversity_loss_by_hand():
    maps = _peaked(2, [0, 15], size=4, height=60.0)  # two channels peaked at opposite corners, equal means
    weight = torch.tensor([[3.0, 4.0]])
    # w = (0.6, 0.8) (up to 1e-5); each peak's softmax is ~1 and the scale is 1: loss = -(0.6 + 0.8).
    assert float(feature_diversity_loss(maps, weight, torch.tensor([0]))) == pytest.approx(-1.4, abs=1e-4)
    same = _peaked(2, [0, 0], size=4, height=60.0)
    assert float(feature_diversity_loss(same, weight, torch.tensor([0]))) == pytest.approx(-0.8, abs=1e-4)
