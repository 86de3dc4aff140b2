"""FunnyBirds' metrics on a synthetic additive model whose true part importances are known exactly: the
oracle scores at the top, a random map near chance, an anti-oracle at the bottom, and each metric follows
the paper's definition on hand-checked cases."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.metrics.funnybirds import (
    THRESHOLDS,
    Importances,
    Outcomes,
    contrast_pairs,
    explained_targets,
    funnybirds_scores,
    important_items,
    item_regions,
    minimal_sufficient_sets,
    region_masses,
    shared_parts,
)
from interp_core.metrics.funnybirds_references import item_weight_maps, oracle_importances, random_item_weights

#: Part weights of the additive model (distinct, so the drops have one order).
W = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
#: Distractor effects on the label's output: the first matters, the second does not.
U = np.array([2.5, 0.0])


def additive_outcomes(table: np.ndarray, labels: np.ndarray) -> Outcomes:
    """Outputs of ``f_c(x) = sum_{kept p} W_p [table[c, p] == table[y, p]] + sum_{present d} U_d``: removing
    part ``p`` lowers the label's output by ``W_p``, distractor ``d`` every output by ``U_d`` (it never
    decides the class)."""
    n, p = len(labels), table.shape[1]
    keep = ((np.arange(2**p)[:, None] >> np.arange(p)) & 1).astype(float)  # (S, P)
    match = (table[None, :, :] == table[labels][:, None, :]).astype(float)  # (N, C, P)
    parts = np.einsum("sp,ncp,p->nsc", keep, match, W)
    keep_logits = parts + U.sum()
    removal = keep_logits[:, -1][:, None, :] - U[None, :, None]
    return Outcomes(labels, keep_logits, removal, np.ones((n, len(U)), bool))


def masses(signed: np.ndarray, targets: np.ndarray, outside: float = 0.0) -> Importances:
    """Importances from signed masses ``(N, 4, R)`` (``outside``: positive mass off every item)."""
    positive = np.clip(signed, 0, None)
    return Importances(targets, signed, positive, signed.sum(2) + outside, positive.sum(2) + outside)


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    from interp_core.data.creatures import CLASS_VARIANTS

    return np.asarray(CLASS_VARIANTS)


@pytest.fixture(scope="module")
def setup(table):
    labels = np.arange(400) % len(table)
    outcomes = additive_outcomes(table, labels)
    targets = explained_targets(labels, outcomes.predictions, contrast_pairs(table))
    return outcomes, targets


def test_exclusive_dilation_gives_a_contested_pixel_to_one_item():
    item_map = np.zeros((1, 1, 7), np.int64)
    item_map[0, 0, 1], item_map[0, 0, 4] = 1, 2  # items 0 and 1, two free pixels apart
    regions = item_regions(item_map, 2, dilation=1)
    assert regions[0, 0].tolist() == [0, 0, 0, 1, 1, 1, -1]  # pixel 2 borders item 0 only, pixel 3 item 1 only
    tight = np.zeros((1, 1, 5), np.int64)
    tight[0, 0, 1], tight[0, 0, 3] = 1, 2  # pixel 2 is next to both: the first item takes it, once
    assert item_regions(tight, 2, dilation=1)[0, 0].tolist() == [0, 0, 0, 1, 1]
    assert item_regions(tight, 2, dilation=2)[0, 0].tolist() == [0, 0, 0, 1, 1]
    assert np.array_equal(item_regions(tight, 2, dilation=0), tight - 1)


def test_region_masses_sum_each_region_and_the_whole_map():
    regions = np.array([[[0, 0, -1], [1, -1, 1]]])
    maps = np.array([[[1.0, -2.0, 4.0], [0.5, -8.0, 3.0]]])
    out = region_masses(maps, regions, 2)
    assert out["signed"].tolist() == [[-1.0, 3.5]] and out["positive"].tolist() == [[1.0, 3.5]]
    assert out["total_signed"].tolist() == [-1.5] and out["total_positive"].tolist() == [8.5]


def test_minimal_sufficient_sets_by_hand():
    table = np.array([[0, 0, 0], [0, 1, 0], [1, 1, 1]])
    sets = minimal_sufficient_sets(table)
    assert sets[0].tolist() == [0b010]  # only its part 1 tells class 0 from both others
    assert sorted(sets[1].tolist()) == [0b011, 0b110]
    assert sorted(sets[2].tolist()) == [0b001, 0b100]


def test_contrast_pairs_share_two_disjoint_parts(table):
    pairs = contrast_pairs(table)
    assert (pairs[:, 0] >= 0).sum() >= len(table) - 2
    for y, (c1, c2) in enumerate(pairs):
        if c1 < 0:
            continue
        s1, s2 = shared_parts(table, y, c1), shared_parts(table, y, c2)
        assert bin(s1).count("1") == 2 and bin(s2).count("1") == 2 and s1 & s2 == 0 and c1 < c2


def test_signed_rule_flips_with_a_negative_total_and_the_positive_rule_does_not():
    # one part with mass 1, the rest of the map strongly negative: signed total -9
    imp = masses(np.array([[[1.0, 0.0]] * 4]), np.zeros((1, 4), np.int64), outside=0.0)
    imp.total_signed[:] = -9.0
    signed = important_items(imp, 0, THRESHOLDS, "signed")
    positive = important_items(imp, 0, THRESHOLDS, "positive")
    assert signed[0, :, 1].all()  # a part with no attribution is "important" at every threshold: 0 > t * (-9)
    assert not positive[0, :, 1].any() and positive[0, :, 0].all()


def test_oracle_tops_and_anti_oracle_bottoms_every_explanation_metric(setup, table):
    outcomes, targets = setup
    assert (outcomes.predictions == outcomes.labels).all()
    oracle = funnybirds_scores(outcomes, oracle_importances(outcomes, targets), class_table=table)
    anti_importances = oracle_importances(outcomes, targets)
    anti = funnybirds_scores(outcomes, masses(-anti_importances.signed, targets), class_table=table)
    assert oracle["sd"] == pytest.approx(1.0) and anti["sd"] == pytest.approx(0.0)
    assert oracle["ts"] == pytest.approx(1.0) and oracle["counts"]["ts_filtered"] == 0
    # at the best threshold the oracle is complete; the sweep mean also counts thresholds above its largest
    # share (5 / 17.5), where nothing is important and every check fails
    assert oracle["completeness_best"] > 0.99 and 0.6 < oracle["completeness"] < oracle["completeness_best"]
    assert oracle["bi"] == pytest.approx(0.5)  # one of the two distractors lowers the label's output
    assert oracle["d"] > 0.9  # it never flags the irrelevant distractor
    for key in ("csdc", "pc", "dc"):
        assert oracle[key] > anti[key] or anti[key] is None
    # summaries follow the paper's formulas at the same threshold
    best = THRESHOLDS.tolist().index(oracle["best_threshold"])
    assert oracle["completeness_best"] == pytest.approx(
        ((oracle["curves"]["csdc"][best] + oracle["curves"]["pc"][best] + oracle["curves"]["dc"][best]) / 3
         + oracle["curves"]["d"][best]) / 2, abs=1e-4)
    assert oracle["correctness"] == oracle["sd"] and oracle["contrastivity"] == oracle["ts"]


def test_random_map_lands_near_chance(setup, table):
    outcomes, targets = setup
    rng = np.random.default_rng(0)
    signed = rng.random((len(targets), 4, 7))
    scores = funnybirds_scores(outcomes, masses(signed, targets), class_table=table)
    assert scores["sd"] == pytest.approx(0.5, abs=0.05)
    assert scores["ts"] == pytest.approx(0.5, abs=0.06)
    oracle = funnybirds_scores(outcomes, oracle_importances(outcomes, targets), class_table=table)
    assert scores["completeness"] < oracle["completeness"] - 0.1
    assert scores["completeness_best"] < oracle["completeness_best"] - 0.3


def test_trivial_all_parts_explanation_maxes_the_checks_but_not_distractibility(setup, table):
    outcomes, targets = setup
    everything = masses(np.ones((len(targets), 4, 7)), targets)  # every part and distractor equally important
    at = funnybirds_scores(outcomes, everything, class_table=table)["curves"]
    low = 0  # t = 0.01: all seven items are above 1/7 of the mass
    assert at["csdc"][low] == 1.0 and at["pc"][low] == 1.0
    assert at["dc"][low] > 0.95  # the bare body ties every class: only class 0's images keep their prediction
    assert at["d"][low] == 0.0  # the irrelevant distractor is flagged on every image


def test_target_sensitivity_filters_images_the_model_fails(setup, table):
    outcomes, targets = setup
    flat = Outcomes(outcomes.labels, np.zeros_like(outcomes.keep_logits), np.zeros_like(outcomes.removal_logits), outcomes.present)
    scores = funnybirds_scores(flat, oracle_importances(outcomes, targets), class_table=table)
    assert scores["ts"] is None and scores["counts"]["ts_filtered"] == scores["counts"]["ts_images"] > 0
    assert scores["sd"] == pytest.approx(1.0) or scores["counts"]["sd_dropped"] == len(targets)


def test_without_a_class_table_csdc_ts_and_completeness_are_none(setup):
    outcomes, targets = setup
    scores = funnybirds_scores(outcomes, oracle_importances(outcomes, targets))
    assert scores["csdc"] is None and scores["ts"] is None and scores["completeness"] is None
    assert scores["pc"] is not None and scores["sd"] == pytest.approx(1.0)


def test_weight_maps_put_each_weight_on_its_item_and_random_weights_depend_on_the_seed_only():
    item_map = np.array([[[0, 1, 1], [2, 0, 3]]])
    maps = item_weight_maps(item_map, np.array([[4.0, -1.0, 0.0]]))
    assert maps.tolist() == [[[0.0, 2.0, 2.0], [-1.0, 0.0, 0.0]]]
    with_rest = item_weight_maps(item_map, np.array([[4.0, -1.0, 0.0]]), rest=np.array([3.0]))
    assert with_rest.tolist() == [[[1.5, 2.0, 2.0], [-1.0, 1.5, 0.0]]]
    a, b = random_item_weights(np.array([[3, 1], [3, 2]]), 5), random_item_weights(np.array([[3, 1]]), 5)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], a[1]) and a.shape == (2, 5)
