"""Faithfulness scores against hand-computed values (PIQ Eqs. 3-4, the reference's AI/AD/AG without its
double softmax), mask IoU, equal-area thresholding and the Fréchet distance."""
from __future__ import annotations

import numpy as np
import pytest
import torch

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


def _left_right_classifier(x: torch.Tensor) -> torch.Tensor:
    """Class 0 is the ink in the left half, class 1 the ink in the right half (logits)."""
    w = x.shape[-1] // 2
    return torch.stack([x[..., :w].sum((1, 2, 3)), x[..., w:].sum((1, 2, 3))], 1)


def test_a_mask_that_keeps_the_evidence_gives_fidelity_one_and_removing_it_the_whole_probability():
    x = torch.zeros(4, 1, 4, 4)
    x[:, :, :, :2] = 1.0  # evidence for class 0 only
    keep = torch.zeros(4, 1, 4, 4)
    keep[..., :2] = 1.0
    p = _left_right_classifier(x).softmax(1)
    o = _left_right_classifier(keep * x).softmax(1)
    q = _left_right_classifier((1 - keep) * x).softmax(1)
    assert fidelity_in(p, o) == 1.0
    # removing the evidence leaves equal logits: q = 1/2 for class 0
    assert faithfulness(p, q) == pytest.approx(float(p[0, 0]) - 0.5)
    wrong = _left_right_classifier((1 - keep) * x + keep.flip(-1)).softmax(1)  # a mask on the wrong half
    assert fidelity_in(p, wrong) == 0.0


def test_fidelity_and_faithfulness_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    o = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1]])
    q = np.array([[0.2, 0.5, 0.3], [0.3, 0.6, 0.1]])
    assert fidelity_in(p, o) == 0.5
    assert faithfulness(p, q) == pytest.approx(((0.7 - 0.2) + (0.8 - 0.6)) / 2)
    assert faithfulness(p, q, predicted=[1, 0]) == pytest.approx(((0.2 - 0.5) + (0.1 - 0.3)) / 2)


def test_ai_ad_ag_by_hand_and_ad_without_the_double_softmax():
    p = np.array([[0.8, 0.2], [0.4, 0.6]])
    o = np.array([[0.4, 0.6], [0.2, 0.8]])  # row 0 drops 0.8 -> 0.4; row 1 rises 0.6 -> 0.8
    assert average_increase(p, o) == pytest.approx(50.0)
    assert average_drop(p, o) == pytest.approx(100 * (0.4 / 0.8 + 0) / 2)  # 25
    assert average_gain(p, o) == pytest.approx(100 * (0 + 0.2 / 0.4) / 2)  # 25
    # the reference's bug: softmax of probabilities again gives a much smaller drop
    sp, so = (torch.tensor(a).softmax(1).numpy() for a in (p, o))
    buggy = 100 * np.mean(np.maximum(sp[[0, 1], [0, 1]] - so[[0, 1], [0, 1]], 0) / sp[[0, 1], [0, 1]])
    assert buggy < 0.7 * average_drop(p, o)


def test_mask_iou_by_hand():
    a = np.zeros((3, 2, 2), dtype=bool)
    b = np.zeros((3, 2, 2), dtype=bool)
    a[0, 0] = True          # 2 pixels
    b[0, :, 0] = True       # 2 pixels, 1 shared -> 1/3
    a[1] = b[1] = True      # identical -> 1
    # row 2: both empty -> 1 by convention
    np.testing.assert_allclose(mask_iou(a, b), [1 / 3, 1.0, 1.0])


def test_top_area_masks_keep_exactly_the_highest_pixels():
    maps = torch.tensor([[[0.1, 0.9], [0.5, -1.0]], [[3.0, 2.0], [1.0, 0.0]]])
    masks = top_area_masks(maps, torch.tensor([2, 3]))
    assert masks.tolist() == [[[False, True], [True, False]], [[True, True], [True, False]]]
    assert top_area_masks(maps, [0, 4]).sum((1, 2)).tolist() == [0, 4]


def test_frechet_distance_by_hand():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    shift = np.array([1.0, -2.0, 0.5])
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift @ shift), rel=1e-6)
    # 1-D Gaussians: (sigma_a - sigma_b)^2 for equal means
    x = rng.normal(size=(20000, 1))
    x -= x.mean()
    assert frechet_distance(x, 3 * x) == pytest.approx((np.std(x, ddof=1) * 2) ** 2, rel=1e-6)
