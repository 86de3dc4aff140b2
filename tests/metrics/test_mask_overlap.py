"""Overlap of attribution maps with ground-truth masks: hand-computed cases, ties, chance levels."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.metrics.mask_overlap import fractional_top_area, mask_overlap_scores, summarize_overlaps


def _mask(shape, cells):
    mask = np.zeros(shape, dtype=bool)
    for cell in cells:
        mask[cell] = True
    return mask


def test_a_map_peaked_on_the_mask_scores_by_hand():
    maps = np.zeros((1, 4, 4))
    maps[0, 0, 0] = 3.0
    maps[0, 3, 3] = 1.0  # a quarter of the positive mass lies outside
    masks = _mask((1, 4, 4), [(0, 0, 0), (0, 0, 1)])
    scores = mask_overlap_scores(maps, masks)
    assert scores["pointing"][0] == 1.0 and scores["mass"][0] == pytest.approx(0.75)
    # top-2 = (0,0) and (3,3): intersection 1, union 2 + 2 - 1
    assert scores["iou"][0] == pytest.approx(1 / 3) and scores["area"][0] == pytest.approx(2 / 16)


def test_ties_count_by_share_not_by_position():
    """A piecewise-constant map (as KMEx's) whose top segment straddles the mask: half the tied maximum is inside."""
    maps = np.zeros((1, 4, 4))
    maps[0, :, :2] = 1.0  # 8 tied cells on the left half
    masks = _mask((1, 4, 4), [(0, r, c) for r in range(4) for c in (1, 2)])  # columns 1-2: 4 of them inside
    scores = mask_overlap_scores(maps, masks)
    assert scores["pointing"][0] == pytest.approx(0.5) and scores["mass"][0] == pytest.approx(0.5)
    weights = fractional_top_area(torch.as_tensor(maps), [8])
    assert float(weights.sum()) == pytest.approx(8) and torch.all(weights[0, :, :2] == 1)
    # The top-8 are exactly the left half: 4 cells of 8 inside, union 12.
    assert scores["iou"][0] == pytest.approx(4 / 12)
    # Asked for fewer cells than are tied, each tied cell carries the same fraction.
    partial = fractional_top_area(torch.as_tensor(maps), [2])
    assert torch.allclose(partial[0, :, :2], torch.full((4, 2), 0.25, dtype=partial.dtype))


def test_a_flat_map_scores_chance_and_negatives_carry_no_mass():
    masks = _mask((2, 8, 8), [(i, r, c) for i in (0, 1) for r in range(2) for c in range(8)])  # a quarter
    maps = np.stack([np.ones((8, 8)), -np.ones((8, 8))])
    scores = mask_overlap_scores(maps, masks)
    area = 0.25
    assert scores["pointing"] == pytest.approx([area, area]) and scores["iou"] == pytest.approx([area / (2 - area)] * 2)
    assert scores["mass"] == pytest.approx([area, 0.0])  # an all-negative map puts nothing on the event


def test_empty_masks_are_left_out_of_the_summary():
    maps = np.random.default_rng(0).normal(size=(3, 5, 5))
    masks = np.zeros((3, 5, 5), dtype=bool)
    masks[0, 2, 2] = masks[1, 0, 0] = True
    scores = mask_overlap_scores(maps, masks)
    assert np.isnan(scores["iou"][2]) and np.isnan(scores["pointing"][2])
    summary = summarize_overlaps(scores)
    assert summary["n"] == 2 and summary["area"] == pytest.approx(1 / 25)
    assert summary["pointing"] == pytest.approx(np.mean(scores["pointing"][:2]))


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="one shape"):
        mask_overlap_scores(np.zeros((2, 4, 4)), np.zeros((2, 4, 5), dtype=bool))
