"""Study statistics against values computed by hand (the working is in the comments)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from interp_core.study.quality import ExclusionRules
from interp_core.study.stats import (
    attention_report,
    friedman,
    holm,
    krippendorff_alpha,
    mos_table,
    pairwise_wilcoxon,
    preference_counts,
    simulation_accuracy,
    study_results,
)

# Four participants rate one item under three conditions (one rating each, so participant means = ratings).
RATINGS = {"A": (1, 1, 1, 2), "B": (2, 3, 5, 5), "C": (5, 4, 3, 1)}
T_975_3 = 3.182446305284263  # Student t, 97.5% quantile, 3 degrees of freedom (tables)


def rating_rows(table=RATINGS, item="i1"):
    return [{"participant": f"p{n}", "item": item, "question": "rating", "class_name": "seven", "attention": False,
             "expected": None, "condition": condition, "value": value, "correct": None, "choices": 5}
            for condition, values in table.items() for n, value in enumerate(values)]


def test_mos_and_95_confidence_intervals():
    by = {r["condition"]: r for r in mos_table(rating_rows())}
    # A: mean 5/4; deviations -.25, -.25, -.25, .75 -> s^2 = .75/3 = .25, s = .5; half width t * .5 / 2
    assert by["A"]["mos"] == pytest.approx(1.25)
    assert by["A"]["sd"] == pytest.approx(0.5)
    assert (by["A"]["ci_low"], by["A"]["ci_high"]) == pytest.approx((1.25 - T_975_3 * 0.25, 1.25 + T_975_3 * 0.25))
    # B: mean 15/4; squared deviations 3.0625 + .5625 + 1.5625 + 1.5625 = 6.75 -> s^2 = 2.25, s = 1.5
    assert (by["B"]["mos"], by["B"]["sd"]) == pytest.approx((3.75, 1.5))
    assert by["B"]["ci_high"] - by["B"]["mos"] == pytest.approx(T_975_3 * 1.5 / 2)
    assert by["C"]["mos"] == pytest.approx(3.25) and by["C"]["n"] == 4
    per_class = mos_table(rating_rows(), ("condition", "class_name"))
    assert [(r["condition"], r["class_name"]) for r in per_class] == [("A", "seven"), ("B", "seven"), ("C", "seven")]


def test_friedman_by_hand():
    # ranks per participant (A, B, C): (1,2,3), (1,2,3), (1,3,2), (2,3,1): rank sums 5, 10, 9
    # chi2 = 12 / (n k (k+1)) * sum R^2 - 3 n (k+1) = 12/48 * 206 - 48 = 3.5; 2 df: p = exp(-3.5/2)
    result = friedman(rating_rows())
    assert result["statistic"] == pytest.approx(3.5)
    assert result["p"] == pytest.approx(math.exp(-1.75))


def test_wilcoxon_exact_p_and_holm_by_hand():
    # A-B = -1,-2,-4,-3: W+ = 0, p = 2 * 1/16. A-C = -4,-3,-2,+1: W+ = 1, P(W <= 1) = 2/16, p = 4/16.
    # B-C = -3,-1,+2,+4: W- = 4; subsets of {1,2,3,4} summing to <= 4: 7 of 16, p = 14/16.
    rows = {(r["a"], r["b"]): r for r in pairwise_wilcoxon(rating_rows())}
    assert rows[("A", "B")]["p"] == pytest.approx(2 / 16)
    assert rows[("A", "C")]["p"] == pytest.approx(4 / 16)
    assert rows[("B", "C")]["p"] == pytest.approx(14 / 16)
    # Holm: sorted .125, .25, .875 times 3, 2, 1 -> .375, .5, .875 (already monotone)
    assert [rows[k]["p_holm"] for k in (("A", "B"), ("A", "C"), ("B", "C"))] == pytest.approx([0.375, 0.5, 0.875])


def test_holm_keeps_order_monotone_and_capped():
    # sorted .01, .03, .04 times 3, 2, 1 -> .03, .06, .04; running maximum .03, .06, .06; back in input order
    assert holm([0.04, 0.01, 0.03]) == pytest.approx([0.06, 0.03, 0.06])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])


def test_krippendorff_alpha_ordinal_by_hand():
    # units (item, condition): (1,1), (2,3), (3,3). Coincidences o11 = 2, o23 = o32 = 1, o33 = 2; n1=2, n2=1, n3=3, n=6.
    # ordinal delta^2: d12 = (1.5)^2, d23 = 2^2, d13 = (6 - 2.5)^2 = 12.25
    # D_o = (4 + 4) / 6; D_e = 2 (2*1*2.25 + 2*3*12.25 + 1*3*4) / (6*5) = 6; alpha = 1 - (8/6)/6 = 7/9
    rows = rating_rows({"A": (1, 1), "B": (2, 3), "C": (3, 3)})
    assert krippendorff_alpha(rows) == pytest.approx(7 / 9)


def test_simulation_binomial_against_chance_by_hand():
    rows = [{"participant": f"p{n}", "item": f"s{n}", "question": "simulation", "attention": False, "condition": "A",
             "value": 0, "correct": n < 7, "choices": 4} for n in range(10)]
    [result] = simulation_accuracy(rows)
    # P(X >= 7), X ~ Bin(10, 1/4) = (120*27 + 45*9 + 10*3 + 1) / 4^10
    assert (result["accuracy"], result["chance"]) == pytest.approx((0.7, 0.25))
    assert result["p"] == pytest.approx(3676 / 4**10)


def test_preference_two_sided_binomial_by_hand():
    rows = [{"participant": f"p{n}", "item": f"q{n}", "question": "preference", "attention": False, "pair": "B|A",
             "condition": "A" if n < 7 else "B", "value": 0} for n in range(8)]
    [result] = preference_counts(rows)
    # 7 of 8 for A: 2 * P(X >= 7) = 2 * (8 + 1) / 256
    assert (result["a"], result["wins_a"], result["wins_b"]) == ("A", 7, 1)
    assert result["p"] == pytest.approx(18 / 256)


def test_attention_failures_are_flagged_and_dropped_by_the_rules():
    check = {"item": "attention-0", "question": "rating", "class_name": "seven", "attention": True, "expected": 2,
             "condition": "attention-check", "correct": None, "choices": 5}
    rows = rating_rows() + [{**check, "participant": "p0", "value": 2}, {**check, "participant": "p1", "value": 4}]
    report = {r["participant"]: r for r in attention_report(rows)}
    assert (report["p0"]["flagged"], report["p1"]["flagged"], report["p1"]["failed"]) == (False, True, 1)
    kept = study_results(rows)
    assert kept["flagged_participants"] == ["p1"] and kept["excluded_participants"] == []
    assert {r["condition"] for r in kept["mos"]} == {"A", "B", "C"}  # attention checks are not a condition
    assert next(r for r in kept["mos"] if r["condition"] == "A")["n"] == 4
    dropped = study_results(rows, ExclusionRules())
    assert dropped["excluded_participants"] == ["p1"]
    assert dropped["exclusions"] == [{"participant": "p1", "reasons": ["attention checks: 1 of 1 missed (0 allowed)"]}]
    assert next(r for r in dropped["mos"] if r["condition"] == "A")["n"] == 3


T_975_2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom (tables)


def test_participant_level_ci_by_hand_on_unbalanced_ratings():
    from interp_core.study.stats import clustered_ci

    # p1 rates 1, 3; p2 rates 5; p3 rates 2, 2, 2. Mean 15/6 = 2.5; residual sums per participant -1, 2.5, -1.5.
    # CR1: SE^2 = G/(G-1) * sum(sums^2) / N^2 = 3/2 * 9.5 / 36; t with G - 1 = 2 degrees of freedom.
    rows = [{"participant": p, "item": f"i{n}", "question": "rating", "class_name": "c", "attention": False, "expected": None,
             "condition": "A", "value": v, "correct": None, "choices": 5, "stimulus": f"s{n}"}
            for n, (p, v) in enumerate([("p1", 1), ("p1", 3), ("p2", 5), ("p3", 2), ("p3", 2), ("p3", 2)])]
    half = T_975_2 * (1.5 * 9.5 / 36) ** 0.5
    [row] = mos_table(rows)
    assert (row["mos"], row["participants"], row["n"]) == (2.5, 3, 6)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((2.5 - half, 2.5 + half))
    assert row["ci_method"].startswith("participant-level")
    [naive] = mos_table(rows, ci="rating")
    assert naive["ci_high"] - naive["ci_low"] < row["ci_high"] - row["ci_low"]
    assert clustered_ci(np.array([1.0, 2.0]), np.array(["p", "p"]))[2] == 1  # one participant: no interval


def test_with_equal_ratings_per_participant_the_interval_is_the_t_interval_of_participant_means():
    from interp_core.study.stats import mean_ci

    values = {"p0": (1, 2), "p1": (4, 4), "p2": (3, 5), "p3": (2, 2), "p4": (5, 4)}
    rows = [{"participant": p, "item": f"i{n}", "question": "rating", "attention": False, "condition": "A", "value": v,
             "class_name": "c", "stimulus": f"s{n}"} for p, pair in values.items() for n, v in enumerate(pair)]
    _, _, low, high = mean_ci(np.array([np.mean(v) for v in values.values()]))
    [row] = mos_table(rows)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))


def participant_effect_rows(seed: int = 0, participants: int = 12, stimuli: int = 6):
    """Ratings = condition mean (A 2, B 3.5) + a participant's own offset (sd 1) + noise (sd 0.3): the
    situation where treating ratings as independent makes intervals far too narrow."""
    rng = np.random.default_rng(seed)
    offsets = rng.normal(0, 1, participants)
    return [{"participant": f"p{p:02d}", "item": f"i{s}", "stimulus": f"s{s}", "question": "rating", "attention": False,
             "class_name": "c", "condition": c, "value": float(base + offsets[p] + rng.normal(0, 0.3))}
            for p in range(participants) for s in range(stimuli) for c, base in (("A", 2.0), ("B", 3.5))]


def test_mixed_model_recovers_the_condition_means_and_is_wider_than_the_naive_interval():
    rows = participant_effect_rows()
    naive = {r["condition"]: r for r in mos_table(rows, ci="rating")}
    mixed = {r["condition"]: r for r in mos_table(rows, ci="mixed")}
    participant = {r["condition"]: r for r in mos_table(rows)}
    for condition in ("A", "B"):
        # balanced crossed design: the fixed effect of a condition is its mean rating
        assert mixed[condition]["mos"] == pytest.approx(naive[condition]["mos"], abs=1e-6)
        assert mixed[condition]["ci_method"].startswith("linear mixed model")
        width = {name: t[condition]["ci_high"] - t[condition]["ci_low"] for name, t in (("naive", naive), ("mixed", mixed),
                                                                                         ("participant", participant))}
        assert width["participant"] > 2 * width["naive"] and width["mixed"] > 2 * width["naive"]
        assert width["mixed"] == pytest.approx(width["participant"], rel=0.25)


def test_per_item_agreement_by_hand():
    from interp_core.study.stats import item_agreement

    rows = [{"participant": f"p{n}", "item": "i", "stimulus": s, "question": "rating", "attention": False, "condition": c,
             "value": v, "class_name": "c"}
            for s, c, values in (("s1", "A", (2, 3, 4)), ("s1", "B", (3, 3)), ("s2", "A", (1, 5)), ("s2", "B", (4,)))
            for n, v in enumerate(values)]
    table = {(r["stimulus"], r["condition"]): r for r in item_agreement(rows)}
    assert (table[("s1", "A")]["sd"], table[("s1", "A")]["rwg"]) == pytest.approx((1.0, 0.5))  # s^2 = 1: 1 - 1/2
    assert table[("s1", "B")]["rwg"] == 1.0  # full agreement
    assert table[("s2", "A")]["rwg"] == 0.0  # s^2 = 8 > 2: worse than uniform chance, clipped
    assert math.isnan(table[("s2", "B")]["rwg"]) and table[("s2", "B")]["n"] == 1


def test_study_results_name_the_interval_and_count_cells():
    result = study_results(rating_rows())
    assert result["ci_method"].startswith("participant-level") and {r["ci_method"] for r in result["mos"]} == {result["ci_method"]}
    assert {(c["stimulus"], c["condition"]): c["answers"] for c in result["cells"]} == {("i1", "A"): 4, ("i1", "B"): 4, ("i1", "C"): 4}
