"""The CLIP feature naming (Q-SENN Eqs. 11-16) on planted matrices whose right answers are known."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from interp_core.methods.clip.alignment import (
    ClipFeatureAlignment,
    NotFittedError,
    certainty_bins,
    concept_groups,
    name_features,
    optimal_static_baseline,
    random_baseline,
    static_order,
    validate_alignment,
    validate_predictions,
)

CONCEPTS = ["shape::circle", "shape::square", "shape::cross", "color::red", "color::blue", "size::small", "size::large"]
GROUPS = concept_groups(CONCEPTS)


def _eq9(features: np.ndarray, attributes: np.ndarray) -> np.ndarray:
    """A_gt by the paper's Eq. 9, written out here independently of the library."""
    a = attributes.astype(bool)
    return np.stack([[features[a[:, k], j].mean() - features[~a[:, k], j].mean() for k in range(a.shape[1])]
                     for j in range(features.shape[1])])


def _planted(n: int = 600, seed: int = 0):
    """Images with one value per concept type; concept k's prompt is the unit vector e_k and each image's CLIP
    embedding points at its concepts; feature i detects concept ``truth[i]`` (plus noise and its own scale)."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(0, 3, n)
    color = rng.integers(0, 2, n)
    size = rng.integers(0, 2, n)
    attributes = np.zeros((n, len(CONCEPTS)), dtype=np.uint8)
    attributes[np.arange(n), shape] = 1
    attributes[np.arange(n), 3 + color] = 1
    attributes[np.arange(n), 5 + size] = 1
    truth = np.array([1, 4, 6, 0, 3])
    features = attributes[:, truth] * rng.uniform(0.5, 3.0, len(truth)) + 0.3 * rng.standard_normal((n, len(truth))) + 5.0
    embeddings = attributes + 0.2 * rng.standard_normal(attributes.shape)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return features, embeddings, np.eye(len(CONCEPTS)), attributes, truth


def test_a_clip_is_v_transpose_s_with_z_scored_features():
    features, embeddings, prompts, _, _ = _planted()
    fit = ClipFeatureAlignment().fit(features, embeddings, prompts)
    v = (features - features.mean(0)) / features.std(0)
    assert fit.alignment_ == pytest.approx(v.T @ (embeddings @ prompts.T) / len(features))
    # Eq. 12 standardises each feature: its scale and offset do not change A_clip
    rescaled = ClipFeatureAlignment().fit(features * np.array([10, 0.1, 3, 7, 1]) - 4, embeddings, prompts)
    assert rescaled.alignment_ == pytest.approx(fit.alignment_)


def test_planted_features_are_named_by_their_concept_and_validate_perfectly():
    features, embeddings, prompts, attributes, truth = _planted()
    fit = ClipFeatureAlignment().fit(features, embeddings, prompts)
    assert fit.best_concepts().tolist() == truth.tolist()
    result = validate_alignment(fit.alignment_, _eq9(features, attributes), GROUPS)
    assert result.pos_full.tolist() == [1.0] * len(truth)
    assert result.pos_pred.tolist() == [1.0] * len(truth)
    assert result.pos_pred_rel.tolist() == [1.0] * len(truth)
    assert result.n_type.tolist() == [3, 2, 2, 3, 2]


def test_a_dead_feature_gets_a_zero_row_and_a_random_position():
    features, embeddings, prompts, attributes, _ = _planted()
    features[:, 2] = 1.5
    fit = ClipFeatureAlignment().fit(features, embeddings, prompts)
    assert np.all(fit.alignment_[2] == 0)
    a_gt = _eq9(features, attributes)
    result = validate_alignment(fit.alignment_, a_gt, GROUPS)
    # all A_gt values of a constant feature tie: the mid-rank is the middle of all 7 positions
    assert result.pos_full[2] == pytest.approx(4.0)


def test_positions_on_a_hand_written_matrix():
    a_gt = np.array([[0.1, 0.9, 0.5, 0.2, 0.8, 0.0, 0.3],
                     [0.4, 0.4, 0.1, 0.7, 0.2, 0.9, 0.3]])
    # feature 0 named "shape::cross" (3rd of all, 2nd of the shapes); feature 1 "shape::circle" (tied 3rd/4th
    # overall -> 3.5, tied 1st/2nd among shapes -> 1.5)
    result = validate_predictions([2, 0], a_gt, GROUPS)
    assert result.pos_full.tolist() == [3.0, 3.5]
    assert result.pos_pred.tolist() == [2.0, 1.5]
    assert result.pos_pred_rel.tolist() == pytest.approx([0.5, 0.75])  # Eq. 15: (n_type - pos_pred) / (n_type - 1)
    assert result.summary() == pytest.approx({"pos_full": 3.25, "pos_pred": 1.75, "pos_pred_rel": 0.625})


def test_random_baseline_is_the_expectation_of_a_random_naming():
    expected = random_baseline(GROUPS)
    assert expected["pos_full"] == 4.0
    assert expected["pos_pred"] == pytest.approx((3 * 2 + 2 * 1.5 + 2 * 1.5) / 7)
    assert expected["pos_pred_rel"] == 0.5
    rng = np.random.default_rng(1)
    a_gt = rng.standard_normal((4000, len(CONCEPTS)))
    sampled = validate_alignment(rng.standard_normal(a_gt.shape), a_gt, GROUPS).summary()
    assert sampled == pytest.approx(expected, rel=0.03)
    # Table 6's random pos_full for CUB's 312 attributes
    assert random_baseline([f"t{i % 28}" for i in range(312)])["pos_full"] == 156.5


def test_the_optimal_static_baseline_names_every_feature_with_the_best_fixed_concept():
    rng = np.random.default_rng(2)
    a_gt = rng.standard_normal((30, len(CONCEPTS)))
    a_gt[:, 4] += 1.5  # "color::blue" goes with most features
    static = optimal_static_baseline(a_gt, GROUPS)
    assert static_order(a_gt)[0] == 4 and set(static.predicted.tolist()) == {4}
    best_fixed = min(validate_predictions(np.full(30, j), a_gt, GROUPS).summary()["pos_full"] for j in range(len(CONCEPTS)))
    assert static.summary()["pos_full"] == pytest.approx(best_fixed)
    # Eq. 16: the static list is sorted by each concept's mean position over the features
    ranks = np.array([[1 + (row > row[j]).sum() for j in range(len(row))] for row in a_gt]).mean(0)
    assert list(static_order(a_gt)) == list(np.argsort(ranks, kind="stable"))


def test_certainty_bins_hold_evenly_sized_groups_sorted_by_max_a_clip():
    certainty = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4])
    rel = np.array([1.0, 0.0, 0.5, 0.0, 1.0, 0.5, 1.0, 0.5])
    bins = certainty_bins(certainty, rel)
    assert [b["features"] for b in bins] == [[1, 5], [3, 7], [2, 4], [6, 0]]
    assert [b["mean"] for b in bins] == [0.25, 0.25, 0.75, 1.0]
    assert bins[0]["low"] == 0.1 and bins[-1]["high"] == 0.9


def test_name_features_reports_labels_values_and_beats_both_baselines():
    features, embeddings, prompts, attributes, truth = _planted()
    naming = name_features(features, embeddings, prompts, _eq9(features, attributes), CONCEPTS)
    assert naming.clip_label == [CONCEPTS[t] for t in truth] == naming.attribute_label
    summary = naming.summary()
    assert summary["pos_full"] == 1.0 and summary["pos_pred_rel"] == 1.0
    assert summary["pos_full"] < summary["static_pos_full"] and summary["pos_full"] < summary["random_pos_full"]
    rows = naming.features()
    assert rows[0]["clip_value"] == pytest.approx(naming.a_clip[0].max()) and rows[0]["attribute_label"] == CONCEPTS[truth[0]]
    assert [r["method"] for r in naming.table6()] == ["Random", "Static w/ min. pos_full", "CLIP alignment (Eqs. 11-13)"]


def test_shuffled_names_do_worse_than_the_true_ones():
    """Naming each feature with another feature's concept must show up as worse positions."""
    features, embeddings, prompts, attributes, truth = _planted()
    a_gt = _eq9(features, attributes)
    good = validate_predictions(truth, a_gt, GROUPS).summary()
    for perm in itertools.islice(itertools.permutations(range(len(truth))), 1, 20):
        wrong = validate_predictions(truth[list(perm)], a_gt, GROUPS).summary()
        assert wrong["pos_full"] > good["pos_full"]


def test_bad_shapes_and_unfitted_use_raise_clear_errors():
    with pytest.raises(NotFittedError, match="fit"):
        ClipFeatureAlignment().best_concepts()
    with pytest.raises(ValueError, match="same training images"):
        ClipFeatureAlignment().fit(np.zeros((5, 2)), np.zeros((4, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="dimensions"):
        ClipFeatureAlignment().fit(np.zeros((5, 2)), np.zeros((5, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="A_gt"):
        name_features(np.random.rand(9, 2), np.random.rand(9, 3), np.random.rand(7, 3), np.zeros((3, 7)), CONCEPTS)
