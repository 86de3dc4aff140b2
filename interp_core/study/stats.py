"""Statistics of a rating study, from the long-format answers of :meth:`StudyStore.responses`.

A condition is a method on a model (``"gradcam on cnn-digits"``); "method" below means condition.

* MOS with a 95% confidence interval (Student t on all ratings of a group: mean ± t(0.975, n-1)·s/√n),
  per method and per method and class (the PIQ paper's Table 3 and Figs. 5/6).
* Friedman test over methods and pairwise Wilcoxon signed-rank tests with Holm's correction. The unit
  is the participant (their mean rating of each method), since ratings of one person are not
  independent; only participants who rated every method of a comparison take part in it.
* Model simulation: accuracy per method and a one-sided binomial test against chance (1 / choices).
* Pairwise preference: wins per pair and a two-sided binomial test against 1/2.
* Krippendorff's α (ordinal) of the ratings: participants are coders, (item, condition) pairs the units.
* Attention checks: each participant's failures; flagged participants stay in every number unless
  the caller asks to leave them out (``exclude_flagged``), and the report says how many were left out.

scipy.stats and the ``krippendorff`` package do the statistics; only Holm's step-down adjustment, which
scipy lacks, is written here.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
RATING_VALUES = (1, 2, 3, 4, 5)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order: sorted ascending, the i-th (0-based) of m
    is multiplied by (m - i), made monotone with a running maximum, capped at 1."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def mean_ci(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, float, float]:
    """(mean, standard deviation, CI low, CI high): Student t interval; NaN bounds for fewer than 2 values."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ["participant", "item", "question", "class_name", "attention", "expected", "condition", "value", "correct",
               "choices", "slot", "part", "pair"]
    frame = pd.DataFrame(rows)
    for col in columns:
        if col not in frame:
            frame[col] = pd.Series(dtype=object)
    return frame


def attention_report(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per participant: attention checks answered, failed, and whether they are flagged (any failure)."""
    frame = _frame(rows)
    checks = frame[frame["attention"].fillna(False).astype(bool)]
    out = []
    for participant in sorted(frame["participant"].dropna().unique()):
        mine = checks[checks["participant"] == participant]
        failed = int((mine["value"] != mine["expected"]).sum())
        out.append({"participant": participant, "checks": int(len(mine)), "failed": failed, "flagged": failed > 0})
    return out


def _ratings(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame["question"] == "rating") & ~frame["attention"].fillna(False).astype(bool)]


def mos_table(rows: list[dict[str, Any]], by: tuple[str, ...] = ("condition",)) -> list[dict[str, Any]]:
    """MOS ± 95% CI of the ratings grouped by ``by`` (``("condition",)`` or ``("condition", "class_name")``)."""
    ratings = _ratings(_frame(rows))
    out = []
    for key, group in ratings.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        mean, sd, low, high = mean_ci(group["value"].to_numpy())
        out.append({**dict(zip(by, key)), "n": int(len(group)), "mos": mean, "sd": sd, "ci_low": low, "ci_high": high,
                    "participants": int(group["participant"].nunique())})
    return out


def participant_means(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Participants × conditions table of each participant's mean rating (only complete rows)."""
    ratings = _ratings(_frame(rows))
    if ratings.empty:
        return pd.DataFrame()
    return ratings.pivot_table(index="participant", columns="condition", values="value", aggfunc="mean").dropna()


def friedman(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Friedman test over methods on participants' mean ratings; None (with no test) below 3 methods or
    3 complete participants."""
    from scipy import stats

    table = participant_means(rows)
    if table.shape[1] < 3 or table.shape[0] < 3:
        return None
    result = stats.friedmanchisquare(*(table[c].to_numpy() for c in table.columns))
    return {"statistic": float(result.statistic), "p": float(result.pvalue), "participants": int(table.shape[0]),
            "methods": list(table.columns)}


def pairwise_wilcoxon(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two-sided Wilcoxon signed-rank test of every pair of methods on participants' mean ratings, with
    Holm-adjusted p-values over all pairs."""
    from scipy import stats

    ratings = _ratings(_frame(rows))
    if ratings.empty:
        return []
    means = ratings.pivot_table(index="participant", columns="condition", values="value", aggfunc="mean")
    out = []
    for a, b in itertools.combinations(sorted(means.columns), 2):
        pair = means[[a, b]].dropna()
        diff = pair[a] - pair[b]
        if len(pair) < 2 or not diff.any():
            out.append({"a": a, "b": b, "n": int(len(pair)), "median_difference": float(diff.median()) if len(pair) else math.nan,
                        "statistic": math.nan, "p": 1.0})
            continue
        result = stats.wilcoxon(pair[a], pair[b])
        out.append({"a": a, "b": b, "n": int(len(pair)), "median_difference": float(diff.median()),
                    "statistic": float(result.statistic), "p": float(result.pvalue)})
    for row, adjusted in zip(out, holm([r["p"] for r in out])):
        row["p_holm"] = adjusted
    return out


def simulation_accuracy(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: answers, correct, accuracy, chance level and the one-sided binomial test p-value
    (is the accuracy above chance?)."""
    from scipy import stats

    frame = _frame(rows)
    sim = frame[(frame["question"] == "simulation") & ~frame["attention"].fillna(False).astype(bool)]
    out = []
    for condition, group in sim.groupby("condition", sort=True):
        n, k = int(len(group)), int(group["correct"].astype(bool).sum())
        chance = float((1.0 / group["choices"].astype(float)).mean())
        test = stats.binomtest(k, n, chance, alternative="greater")
        out.append({"condition": condition, "n": n, "correct": k, "accuracy": k / n, "chance": chance, "p": float(test.pvalue)})
    return out


def preference_counts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per pair of methods (from the items' answers): wins of each and a two-sided binomial test against 1/2."""
    from scipy import stats

    frame = _frame(rows)
    pref = frame[frame["question"] == "preference"]
    if pref.empty:
        return []
    pairs: dict[tuple[str, str], dict[str, int]] = {}
    for _, r in pref.iterrows():
        pair = tuple(sorted(str(r.get("pair") or "").split("|")))
        if len(pair) != 2:
            continue
        pairs.setdefault(pair, {pair[0]: 0, pair[1]: 0})[r["condition"]] += 1
    out = []
    for (a, b), wins in sorted(pairs.items()):
        n = wins[a] + wins[b]
        out.append({"a": a, "b": b, "wins_a": wins[a], "wins_b": wins[b], "n": n,
                    "p": float(stats.binomtest(wins[a], n, 0.5).pvalue)})
    return out


def krippendorff_alpha(rows: list[dict[str, Any]]) -> float | None:
    """Krippendorff's α (ordinal, values 1-5) of the ratings; None when no unit has two ratings."""
    import krippendorff

    ratings = _ratings(_frame(rows))
    if ratings.empty:
        return None
    table = ratings.pivot_table(index="participant", columns=["item", "condition"], values="value", aggfunc="first")
    if table.shape[0] < 2 or not (table.notna().sum(axis=0) >= 2).any():
        return None
    return float(krippendorff.alpha(reliability_data=table.to_numpy(dtype=float), level_of_measurement="ordinal",
                                    value_domain=list(RATING_VALUES)))


def study_results(rows: list[dict[str, Any]], exclude_flagged: bool = False) -> dict[str, Any]:
    """Everything the Results view and ``study results`` show, JSON-ready."""
    attention = attention_report(rows)
    flagged = {a["participant"] for a in attention if a["flagged"]}
    used = [r for r in rows if r["participant"] not in flagged] if exclude_flagged else list(rows)
    return {
        "participants": len({r["participant"] for r in rows}),
        "answers": len(rows),
        "flagged_participants": sorted(flagged),
        "excluded_participants": sorted(flagged) if exclude_flagged else [],
        "attention": attention,
        "mos": mos_table(used),
        "mos_by_class": mos_table(used, ("condition", "class_name")),
        "friedman": friedman(used),
        "wilcoxon": pairwise_wilcoxon(used),
        "simulation": simulation_accuracy(used),
        "preference": preference_counts(used),
        "alpha_ordinal": krippendorff_alpha(used),
    }
