"""Statistics of attribution maps and score vectors that several benchmarks share: the row-wise Spearman rank
correlation (FunnyBirds' single deletion, the model-parameter randomisation test) and the Gini index of a
map (sparseness). Pure: arrays in, numbers out.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def spearman_rows(a, b) -> np.ndarray:
    """Spearman's rank correlation of each row of ``a`` with the same row of ``b`` (both ``(N, M)``),
    ``(N,)``: the Pearson correlation of the ranks, ties ranked by their average. NaN for a row where either
    side is constant (no order to correlate)."""
    a, b = np.atleast_2d(np.asarray(a, np.float64)), np.atleast_2d(np.asarray(b, np.float64))
    if a.shape != b.shape:
        raise ValueError(f"spearman_rows needs arrays of one shape, got {a.shape} and {b.shape}.")
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    norm = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (ra * rb).sum(1) / norm
    return np.where(norm > 0, np.clip(rho, -1.0, 1.0), np.nan)


def gini(maps) -> np.ndarray:
    """Gini index of ``|map|`` for each of ``maps`` ``(N, ...)``, ``(N,)`` in [0, 1): 0 for a constant map,
    towards 1 when the attribution sits on few locations (the sparseness of Chalasani et al., ICML 2020, as
    Quantus' ``Sparseness``: ``sum_i (2i - n - 1) a_(i) / (n sum_i a_i)`` over the sorted ``a``). An all-zero
    map scores 0."""
    flat = np.abs(np.asarray(maps, np.float64).reshape(len(maps), -1))
    n = flat.shape[1]
    ordered = np.sort(flat, axis=1)
    weights = 2 * np.arange(1, n + 1) - n - 1
    total = ordered.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (ordered * weights).sum(1) / (n * total)
    return np.where(total > 0, value, 0.0)
