"""Statistics of a rating study, from the long-format answers of :meth:`StudyStore.responses`.

A condition is a method on a model (``"gradcam on cnn-digits"``); "method" below means condition. A
cell is one (stimulus, condition) pair.

* MOS with a 95% confidence interval per method and per method and class (the PIQ paper's Table 3 and
  Figs. 5/6). Ratings of one person are not independent, so the default interval is participant-level
  (``ci="participant"``): MOS ± t(0.975, G-1)·SE with the standard error clustered by participant (CR1,
  G participants); when every participant gave a condition the same number of ratings this is exactly
  the Student t interval of the participants' mean ratings. ``ci="mixed"`` fits a linear mixed model
  (statsmodels ``MixedLM``: one fixed mean per condition, crossed random intercepts for participant and
  stimulus) and reports its Wald intervals; ``ci="rating"`` is the naive interval that treats every
  rating as independent (too narrow: kept for comparison). Each table row names its interval.
* Friedman test over methods and pairwise Wilcoxon signed-rank tests with Holm's correction
  (statsmodels ``multipletests``). The unit is the participant (their mean rating of each method);
  only participants who rated every method of a comparison take part in it.
* Model simulation: accuracy per method and a one-sided binomial test against chance (1 / choices).
* Pairwise preference: wins per pair and a two-sided binomial test against 1/2.
* Agreement: Krippendorff's α (ordinal) over all ratings (participants are coders, cells the units), and
  per cell the standard deviation and r_wg (James, Demaree & Wolf 1984: 1 - s² / σ²_EU, σ²_EU = (A² - 1)/12
  = 2 for A = 5 options; 0 when the raters disagree more than uniform chance).
* Quality control: every participant's missed check items, and the exclusions of the design's rules
  (:mod:`.exclusion`); every number above is computed after exclusions, and the excluded participants
  are listed with their reasons.

scipy.stats, statsmodels and the ``krippendorff`` package do the statistics.
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
    """Holm-Bonferroni adjusted p-values, in the input order (statsmodels ``multipletests``)."""
    from statsmodels.stats.multitest import multipletests

    return [float(p) for p in multipletests(pvalues, method="holm")[1]] if len(pvalues) else []


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


#: The confidence intervals :func:`mos_table` can give, and how each is named in the tables.
CI_METHODS = {
    "participant": "participant-level t interval (SE clustered by participant)",
    "mixed": "linear mixed model (random intercepts: participant, stimulus)",
    "rating": "rating-level t interval (every rating independent)",
}


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ["participant", "item", "question", "class_name", "attention", "expected", "condition", "value", "correct",
               "choices", "slot", "part", "pair", "stimulus", "kind", "tolerance"]
    frame = pd.DataFrame(rows)
    for col in columns:
        if col not in frame:
            frame[col] = pd.Series(dtype=object)
    frame["stimulus"] = frame["stimulus"].fillna(frame["item"])
    return frame


def attention_report(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per participant: check items (attention, gold, trap) answered and missed, and ``flagged`` (any miss)."""
    from interp_core.study.exclusion import check_report

    return check_report(rows)


def _ratings(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame["question"] == "rating") & ~frame["attention"].fillna(False).astype(bool)]


def clustered_ci(values: np.ndarray, clusters: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, int]:
    """(low, high, clusters) of the mean of ``values`` with its standard error clustered by ``clusters``
    (CR1: SE² = G/(G-1) · Σ_g (Σ_i∈g (y_i - ȳ))² / N²) and Student t with G-1 degrees of freedom."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    frame = pd.DataFrame({"residual": values - values.mean(), "cluster": clusters})
    sums = frame.groupby("cluster")["residual"].sum().to_numpy()
    g = len(sums)
    if g < 2:
        return math.nan, math.nan, g
    se = math.sqrt(g / (g - 1) * float((sums ** 2).sum())) / len(values)
    half = float(stats.t.ppf(0.5 + confidence / 2, g - 1)) * se
    return float(values.mean()) - half, float(values.mean()) + half, g


def mixed_model_ci(rows: list[dict[str, Any]], confidence: float = CONFIDENCE) -> dict[str, tuple[float, float, float]]:
    """``condition -> (estimate, low, high)`` from a linear mixed model of the ratings: a fixed mean per
    condition, crossed random intercepts for participant and stimulus (statsmodels MixedLM, REML, Wald
    intervals). Empty when the model cannot be fitted (too few participants, or a singular fit)."""
    import warnings

    import statsmodels.formula.api as smf

    ratings = _ratings(_frame(rows))[["value", "condition", "participant", "stimulus"]].dropna()
    if ratings["participant"].nunique() < 2:
        return {}
    data = ratings.assign(value=ratings["value"].astype(float), group=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = smf.mixedlm("value ~ 0 + C(condition)", data, groups="group", re_formula="0",
                                vc_formula={"participant": "0 + C(participant)", "stimulus": "0 + C(stimulus)"})
            fit = model.fit(reml=True)
        bounds = fit.conf_int(alpha=1 - confidence)
    except (ValueError, np.linalg.LinAlgError):
        return {}
    out = {}
    for name, estimate in fit.fe_params.items():
        condition = str(name)[len("C(condition)["):-1]
        low, high = bounds.loc[name]
        if not all(np.isfinite([estimate, low, high])):
            return {}
        out[condition] = (float(estimate), float(low), float(high))
    return out


def mos_table(rows: list[dict[str, Any]], by: tuple[str, ...] = ("condition",), ci: str = "participant") -> list[dict[str, Any]]:
    """MOS ± 95% CI of the ratings grouped by ``by`` (``("condition",)`` or ``("condition", "class_name")``);
    ``ci``: one of :data:`CI_METHODS` (the mixed model only per condition; other groupings, and a model
    that cannot be fitted, fall back to the participant-level interval). Every row names its interval."""
    if ci not in CI_METHODS:
        raise ValueError(f"ci must be one of {', '.join(CI_METHODS)}")
    ratings = _ratings(_frame(rows))
    mixed = mixed_model_ci(rows) if ci == "mixed" and by == ("condition",) else {}
    out = []
    for key, group in ratings.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        mean, sd, low, high = mean_ci(group["value"].to_numpy())
        method = "rating"
        if ci == "mixed" and key[0] in mixed:
            mean, low, high = mixed[key[0]]
            method = "mixed"
        elif ci != "rating":
            low, high, _ = clustered_ci(group["value"].to_numpy(), group["participant"].to_numpy())
            method = "participant"
        out.append({**dict(zip(by, key)), "n": int(len(group)), "participants": int(group["participant"].nunique()), "mos": mean,
                    "sd": sd, "ci_low": low, "ci_high": high, "ci_method": CI_METHODS[method]})
    return out


def item_agreement(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per cell (stimulus, condition): ratings, mean, SD and r_wg = max(0, 1 - s²/2) (5-point scale)."""
    ratings = _ratings(_frame(rows))
    out = []
    for (stimulus, condition), group in ratings.groupby(["stimulus", "condition"], sort=True):
        values = group["value"].astype(float).to_numpy()
        sd = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        out.append({"stimulus": stimulus, "condition": condition, "n": len(values), "mean": float(values.mean()), "sd": sd,
                    "rwg": max(0.0, 1 - sd ** 2 / 2) if len(values) > 1 else math.nan})
    return out


def cell_counts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answers so far per cell (stimulus, condition) and question, check items left out: the lead's live
    view of how balanced the collection is."""
    frame = _frame(rows)
    main = frame[~frame["attention"].fillna(False).astype(bool)]
    if main.empty:
        return []
    counts = main.groupby(["stimulus", "condition", "question"], sort=True).size()
    return [{"stimulus": s, "condition": c, "question": q, "answers": int(n)} for (s, c, q), n in counts.items()]


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
    with np.errstate(invalid="ignore", divide="ignore"):
        result = stats.friedmanchisquare(*(table[c].to_numpy() for c in table.columns))
    if not math.isfinite(result.statistic):  # every participant rated every method alike
        return None
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
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = float(krippendorff.alpha(reliability_data=table.to_numpy(dtype=float), level_of_measurement="ordinal",
                                         value_domain=list(RATING_VALUES)))
    return alpha if math.isfinite(alpha) else None  # every rating the same: no disagreement to measure


def study_results(rows: list[dict[str, Any]], rules=None, participants: list[dict[str, Any]] | None = None,
                  ci: str = "participant") -> dict[str, Any]:
    """Everything the Results view and ``study results`` show, JSON-ready. ``rules``
    (:class:`~.quality.ExclusionRules`; None: nobody excluded) are applied first; ``participants``
    (:func:`~.exclusion.participant_summaries`) adds the "did not finish" rule and the screened-out list."""
    from interp_core.study.exclusion import exclusions, screened_out

    attention = attention_report(rows)
    excluded = exclusions(rows, rules, participants) if rules is not None else []
    left_out = {e["participant"] for e in excluded}
    used = [r for r in rows if r["participant"] not in left_out]
    return {
        "participants": len({r["participant"] for r in rows}),
        "answers": len(rows),
        "flagged_participants": sorted(a["participant"] for a in attention if a["flagged"]),
        "excluded_participants": sorted(left_out),
        "exclusions": excluded,
        "screened_out": screened_out(participants),
        "attention": attention,
        "ci_method": CI_METHODS[ci],
        "mos": mos_table(used, ci=ci),
        "mos_by_class": mos_table(used, ("condition", "class_name"), ci="participant" if ci == "mixed" else ci),
        "friedman": friedman(used),
        "wilcoxon": pairwise_wilcoxon(used),
        "simulation": simulation_accuracy(used),
        "preference": preference_counts(used),
        "alpha_ordinal": krippendorff_alpha(used),
        "agreement": item_agreement(used),
        "cells": cell_counts(rows),
    }
