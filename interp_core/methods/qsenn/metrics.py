"""The Q-SENN paper's metrics (Tables 1 and 4), computed from a model and the dataset's splits.

* accuracy (Fidelity), total features used, non-zero weights per class;
* diversity@5 (Eq. 6) on the test split: per image, the predicted class's 5 highest-weighted feature maps,
  each softmaxed over space; the sum over positions of their maximum, divided by 5 (in [1/5, 1]);
* dependence gamma (Eqs. 7-8) on the train split: the mean over images of max_j |e_j| / sum_j |e_j| with
  e_j the contribution of feature j to the predicted class;
* alignment r (Eqs. 9-10) on the train split against the dataset's binary attributes;
* binary features (Table 4): the share of features whose training distribution mean shift splits into
  exactly two clusters.

Deliberate choices where the reference and the paper leave room (method-notes §2.9):

* Only features with a non-zero weight count (as the reference restricts the matrix).
* diversity@5 ranks the predicted class's *non-zero* weights by signed value (positives first, negatives
  only when fewer than 5 are positive); the reference's signed ``topk`` over the whole row can pick
  zero-weight features before negative ones. Images whose class has fewer than 5 non-zero weights are
  skipped, as in the reference; every test image is used (the reference skips the last partial batch).
* dependence uses the model's true contributions W_cj * z_j (z the normalised features the layer sees),
  not the raw pooled features: e then sums with the bias to the logit, as the local explanations show.
* alignment r is shift and scale invariant per feature (Eq. 10 divides by mean(F - min F)), so raw and
  normalised features give the same value; attributes present in all or no training images are skipped.
* mean shift: scikit-learn's ``MeanShift`` with ``bin_seeding`` and the bandwidth ``estimate_bandwidth``
  gives at quantile 0.3, on at most 2000 seeded samples per feature (the paper uses a GPU implementation
  whose bandwidth it does not state); seeds come only from bins holding at least 1% of the samples.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from interp_core.data.base import Split


@torch.no_grad()
def extract_features(model, split: Split, device: torch.device | str = "cpu", *, all_channels: bool = False,
                     batch_size: int = 256) -> torch.Tensor:
    """Raw pooled features ``(N, n_f)`` of ``split`` (CPU float32), in eval mode; ``all_channels``: every
    channel of the backbone's last block ``(N, width)`` instead of the selected ones."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(split), batch_size):
        x = split.inputs(np.arange(start, min(len(split), start + batch_size))).to(device)
        maps = model.backbone_maps(x) if all_channels else model.feature_maps(x)
        out.append(maps.mean((2, 3)).float().cpu())
    model.train(was_training)
    return torch.cat(out)


def used_features(weight: torch.Tensor) -> torch.Tensor:
    """Indices of the features with any non-zero weight ``(k,)``."""
    return torch.nonzero((weight != 0).any(0)).flatten()


def diversity_at_k(maps: torch.Tensor, weight: torch.Tensor, predicted: torch.Tensor, k: int = 5) -> torch.Tensor:
    """Eq. 6 per image ``(N,)`` (NaN where the predicted class has fewer than ``k`` non-zero weights) from
    feature maps ``(N, n_f, h, w)``, the layer ``(C, n_f)`` and the predicted classes ``(N,)``."""
    rows = weight[predicted]  # (N, n_f)
    ranked = rows.masked_fill(rows == 0, float("-inf"))
    top = ranked.topk(min(k, rows.shape[1]), dim=1).indices  # (N, k)
    n = maps.shape[0]
    chosen = maps.reshape(n, maps.shape[1], -1).gather(1, top[:, :, None].expand(-1, -1, maps.shape[2] * maps.shape[3]))
    value = chosen.softmax(-1).max(1).values.sum(-1) / k
    enough = (rows != 0).sum(1) >= k
    return torch.where(enough, value, torch.full_like(value, float("nan")))


def dependence(contributions: torch.Tensor) -> float:
    """Eq. 8: mean over images of max_j |e_j| / sum_j |e_j| for contributions ``(N, n_f)`` (rows that are
    all zero are skipped)."""
    e = contributions.abs()
    total = e.sum(1)
    keep = total > 0
    return float((e.max(1).values[keep] / total[keep]).mean()) if bool(keep.any()) else float("nan")


def alignment_matrix(features: torch.Tensor | np.ndarray, attributes: np.ndarray) -> np.ndarray:
    """Eq. 9, A_gt as ``(n_f, A)``: mean of feature j over images with attribute a minus its mean over images
    without it, from features ``(N, n_f)`` and binary attributes ``(N, A)``; NaN for an attribute present in
    all or none of the images."""
    f = np.asarray(features, dtype=np.float64)
    a = np.asarray(attributes).astype(bool)
    present = a.sum(0)
    absent = len(a) - present
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_in = (f.T @ a) / present
        mean_out = (f.T @ ~a) / absent
    out = mean_in - mean_out
    out[:, (present == 0) | (absent == 0)] = np.nan
    return out


def alignment_r(features: torch.Tensor | np.ndarray, attributes: np.ndarray) -> float:
    """Eq. 10: the mean over features of max_a A_gt[j, a] / mean_i (F_ij - min_i F_ij)."""
    f = np.asarray(features, dtype=np.float64)
    scale = (f - f.min(0)).mean(0)
    matrix = alignment_matrix(f, attributes)
    keep = scale > 0
    if not keep.any():
        return float("nan")
    return float(np.mean(np.nanmax(matrix[keep], axis=1) / scale[keep]))


def binary_feature_share(features: torch.Tensor | np.ndarray, seed: int = 0, max_samples: int = 2000) -> float:
    """Share of features ``(N, n_f)`` whose mean shift clustering finds exactly two clusters (Table 4)."""
    from sklearn.cluster import MeanShift, estimate_bandwidth

    f = np.asarray(features, dtype=np.float64)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(f), min(len(f), max_samples), replace=False)
    binary = 0
    for j in range(f.shape[1]):
        x = f[rows, j : j + 1]
        if np.ptp(x) == 0:
            continue
        bandwidth = estimate_bandwidth(x, quantile=0.3, random_state=seed)
        if bandwidth <= 0:
            continue
        # Seeds only from bins holding >= 1% of the samples: a lone tail value is not a mode.
        labels = MeanShift(bandwidth=bandwidth, bin_seeding=True, min_bin_freq=max(1, len(x) // 100)).fit(x).labels_
        binary += int(len(np.unique(labels)) == 2)
    return binary / f.shape[1] if f.shape[1] else float("nan")


@torch.no_grad()
def qsenn_table_metrics(model, train: Split, test: Split, device: torch.device | str = "cpu", *, binary: bool = True,
                        batch_size: int = 256, k: int = 5) -> dict[str, Any]:
    """Tables 1/4 for one model of the family (see the module docstring): ``accuracy``, ``n_features``,
    ``nonzero``, ``nonzero_per_class``, ``ternary`` (every non-zero weight is +alpha or -alpha), ``alpha``,
    ``diversity_at_5``, ``dependence``, ``alignment_r`` and, with ``binary``, ``binary_features``."""
    was_training = model.training
    model.eval()
    weight = model.decision_weight.detach()
    used = used_features(weight)
    correct, diversity = 0, []
    for start in range(0, len(test), batch_size):
        index = np.arange(start, min(len(test), start + batch_size))
        maps = model.feature_maps(test.inputs(index).to(device))
        logits = model.decide(model.normalise(maps.mean((2, 3))))
        predicted = logits.argmax(1)
        correct += int((predicted.cpu() == torch.from_numpy(test.labels[index])).sum())
        diversity.append(diversity_at_k(maps[:, used], weight[:, used], predicted, k).cpu())
    pooled = extract_features(model, train, device, batch_size=batch_size)
    z = model.normalise(pooled.to(device))
    predicted = model.decide(z).argmax(1)
    contributions = (weight[predicted] * z).cpu()
    model.train(was_training)
    diversity_all = torch.cat(diversity)
    alpha = model.alpha
    n_classes = weight.shape[0]
    nonzero = int((weight != 0).sum())
    out: dict[str, Any] = {
        "accuracy": correct / len(test),
        "n_features": int(used.numel()),
        "nonzero": nonzero,
        "nonzero_per_class": nonzero / n_classes,
        "ternary": alpha is not None,
        "alpha": alpha,
        f"diversity_at_{k}": float(np.nanmean(diversity_all.numpy())) if bool(torch.isfinite(diversity_all).any()) else float("nan"),
        f"diversity_images_{k}": int(torch.isfinite(diversity_all).sum()),
        "dependence": dependence(contributions[:, used.cpu()]),
        "alignment_r": alignment_r(pooled[:, used.cpu()], train.extras["attributes"]) if "attributes" in train.extras else float("nan"),
        "n": len(test),
    }
    if binary:
        out["binary_features"] = binary_feature_share(pooled[:, used.cpu()])
    return out
