"""Pure scores of interpretations: how the classifier treats what an interpretation keeps and removes,
how well a mask matches a ground-truth mask, and how far interpretations are from inputs in feature space.

Notation (as the PIQ reference's metrics, method-notes §3.7): ``p = f(x)`` the classifier's class
probabilities on the inputs, ``o = f(x_int)`` on the interpretations (the kept part, "mask-in"),
``q = f(x - x_int)`` on the inputs with the interpretation removed ("mask-out"); ``c`` = argmax p, the
classifier's decision. Every function takes probabilities ``(N, C)`` (tensors or arrays) and returns a
float averaged over the ``N`` rows; nothing here runs a model.

Deliberate differences from the reference code:

* :func:`average_drop` applies no softmax: the reference's ``compute_AD`` applied a second softmax to
  inputs that were already probabilities (its AI and AG did not), which squeezes every drop towards 0.
* Fréchet distances are on features the caller chooses (here: our own classifier's pooled embedding,
  as there are no Inception weights offline); the name of the number should say which.
"""
from __future__ import annotations

import numpy as np
import torch

_EPS = 1e-10


def _np(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().double().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def _decision(p: np.ndarray, predicted) -> np.ndarray:
    return p.argmax(1) if predicted is None else np.asarray(_np(predicted), dtype=np.int64).reshape(-1)


def fidelity_in(p, o) -> float:
    """Fidelity-to-input (PIQ Eq. 3): the fraction of rows whose interpretation gets the input's class,
    ``mean [argmax_c p = argmax_c o]``. In [0, 1] (the paper prints percentages)."""
    p, o = _np(p), _np(o)
    return float(np.mean(p.argmax(1) == o.argmax(1)))


def faithfulness(p, q, predicted=None) -> float:
    """Faithfulness (PIQ Eq. 4, after L2I): ``mean f_c(x) - f_c(x - x_int)`` for the decision ``c``
    (``predicted`` ``(N,)``, default argmax p). High when removing the interpretation removes the evidence."""
    p, q = _np(p), _np(q)
    c = _decision(p, predicted)
    rows = np.arange(len(c))
    return float(np.mean(p[rows, c] - q[rows, c]))


def average_increase(p, o, predicted=None) -> float:
    """AI: percentage of rows in which the interpretation alone raises the decision's probability,
    ``100 mean 1[o_c > p_c]``."""
    p, o = _np(p), _np(o)
    c = _decision(p, predicted)
    rows = np.arange(len(c))
    return float(100 * np.mean(o[rows, c] > p[rows, c]))


def average_drop(p, o, predicted=None) -> float:
    """AD: ``100 mean ReLU(p_c - o_c) / p_c``, how much of the decision's probability is lost by keeping
    only the interpretation (lower is better). On the probabilities as given: the reference's second
    softmax is a bug (module docstring)."""
    p, o = _np(p), _np(o)
    c = _decision(p, predicted)
    rows = np.arange(len(c))
    return float(100 * np.mean(np.maximum(p[rows, c] - o[rows, c], 0) / (p[rows, c] + _EPS)))


def average_gain(p, o, predicted=None) -> float:
    """AG: ``100 mean ReLU(o_c - p_c) / (1 - p_c)``, the share of the possible gain that the
    interpretation alone realises (higher is better)."""
    p, o = _np(p), _np(o)
    c = _decision(p, predicted)
    rows = np.arange(len(c))
    return float(100 * np.mean(np.maximum(o[rows, c] - p[rows, c], 0) / (1 - p[rows, c] + _EPS)))


def mask_iou(predicted_masks, true_masks) -> np.ndarray:
    """Intersection over union ``(N,)`` of boolean masks ``(N, H, W)`` (both empty: 1, by convention)."""
    a = _np(predicted_masks).astype(bool).reshape(len(predicted_masks), -1)
    b = _np(true_masks).astype(bool).reshape(len(true_masks), -1)
    if a.shape != b.shape:
        raise ValueError(f"Masks of different shapes: {a.shape} and {b.shape}.")
    inter = (a & b).sum(1)
    union = (a | b).sum(1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def top_area_masks(maps, areas) -> torch.Tensor:
    """Binary masks ``(N, H, W)`` keeping the ``areas[i]`` highest-valued pixels of each map ``(N, H, W)``
    (ties broken by position): a soft or signed attribution map thresholded to a given area, so that
    methods are compared at equal mask size."""
    maps = torch.as_tensor(maps).detach().float()
    n = maps.shape[0]
    flat = maps.reshape(n, -1)
    areas = torch.as_tensor(areas, device=flat.device).long().clamp(0, flat.shape[1]).view(-1, 1)
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(flat.shape[1], device=flat.device).expand(n, -1).contiguous())
    return (ranks < areas).reshape(maps.shape)


def _sqrtm_trace(a: np.ndarray, b: np.ndarray) -> float:
    """``Tr((A B)^(1/2))`` for symmetric PSD ``A``, ``B``: the eigenvalues of ``A^(1/2) B A^(1/2)``."""
    w, v = np.linalg.eigh(a)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root @ b @ root)
    return float(np.sqrt(np.clip(inner, 0, None)).sum())


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N, D)`` and ``(M, D)``
    (Heusel et al.'s FID formula): ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``."""
    a, b = _np(features_a), _np(features_b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"Expected two feature sets (N, D), (M, D) with at least 2 rows, got {a.shape} and {b.shape}.")
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    sa, sb = np.atleast_2d(sa), np.atleast_2d(sb)
    return float(max(0.0, mu @ mu + np.trace(sa) + np.trace(sb) - 2 * _sqrtm_trace(sa, sb)))
