"""From dense features to a sparse decision layer: SLDD's feature selection, the glm-saga regularisation
path, SLDD's and glm-saga5's picks from it, and Q-SENN's ternary quantisation with its bias rule.

Every function takes standardised features ``(N, d)`` (float32 CPU tensors) and labels ``(N,)``.

* :class:`FeatureSelector`: the modified group elastic net of SLDD (method-notes §2.5): multinomial
  cross-entropy + lambda [alpha sum_j ||W_:,j|| + (1 - alpha)/2 ||W||^2], alpha 0.8, every lambda of the
  path scaled by 0.1, a proximal step that admits at most one new feature (the unselected column of largest
  norm, if it passes the threshold), and the lambda path restarted from the top after each admission.
  Deliberate differences: full-batch proximal gradient with the step 1/L instead of SAGA (same objective
  and admission rule, deterministic, fast at our sizes); a selected column below the threshold is zeroed,
  not sign-flipped (the reference's factor 1 - t/||w|| turns negative there: a bug, method-notes §2.5).
* :func:`glm_path`: the real ``glm_saga`` package (alpha 0.99, lambda_max down to 1e-3 lambda_max, then 0),
  quiet, on the CPU, always with a validation loader. It runs the path in segments (each warm-starts the
  next with the SAGA state, the same lambdas as one call) so that a pick that only needs the sparse end of
  the path can stop early.
* :func:`sldd_pick`, :func:`glm_saga5_pick`, :func:`quantize_ternary`, :func:`qsenn_bias`.
"""
from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


@contextlib.contextmanager
def single_thread():
    """Run tiny tensor ops (proximal and SAGA steps on (N, d) features) on one thread: with two threads on a
    loaded 2-core machine they waited for each other and ran 20 times slower (measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------- selection
class FeatureSelector:
    """Select ``n_features`` of the columns of ``X`` the way the SLDD-Model does (see the module docstring).

    After :meth:`fit`: ``selected_`` ``(n_features,)`` long, the chosen columns in ascending order;
    ``order_`` the same columns in order of admission; ``weight_`` ``(C, d)`` and ``bias_`` ``(C,)`` the
    group-sparse fit when the last feature was admitted; ``lambdas_`` the path; ``iterations_`` the
    proximal steps taken.
    """

    def __init__(self, n_features: int, alpha: float = 0.8, lambda_scale: float = 0.1, n_lambdas: int = 100,
                 epsilon: float = 1e-3, max_iter: int = 500, tol: float = 1e-5):
        self.n_features = n_features
        self.alpha = alpha
        self.lambda_scale = lambda_scale
        self.n_lambdas = n_lambdas
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: torch.Tensor, y: torch.Tensor, n_classes: int | None = None) -> "FeatureSelector":
        with single_thread():
            return self._fit(X, y, n_classes)

    def _fit(self, X: torch.Tensor, y: torch.Tensor, n_classes: int | None) -> "FeatureSelector":
        X = torch.as_tensor(X, dtype=torch.float32)
        y = torch.as_tensor(y, dtype=torch.long)
        n, d = X.shape
        if not 0 < self.n_features <= d:
            raise ValueError(f"Cannot select {self.n_features} of {d} features.")
        n_classes = int(y.max()) + 1 if n_classes is None else n_classes
        target = F.one_hot(y, n_classes).float()
        # lambda_max: the smallest lambda at which every group is zero (group norm of X^T (Y - Ybar) / n) / alpha.
        lam_max = float((X.t() @ (target - target.mean(0))).norm(dim=1).max()) / n / self.alpha
        lams = torch.logspace(math.log10(lam_max), math.log10(lam_max * self.epsilon), self.n_lambdas) * self.lambda_scale
        # Softmax cross-entropy has curvature <= 1/2 in the logits: L = (||X||_2^2 + n) / (2n) bounds it for (W, b).
        lr = 1.0 / ((torch.linalg.matrix_norm(X, ord=2) ** 2 + n) / (2 * n)).item()
        weight = torch.zeros(n_classes, d)
        bias = torch.zeros(n_classes)
        selected = torch.zeros(d, dtype=torch.bool)
        order: list[int] = []
        iterations = 0
        while len(order) < self.n_features:
            admitted = False
            for lam in lams.tolist():
                for _ in range(self.max_iter):
                    iterations += 1
                    grad = (torch.softmax(X @ weight.t() + bias, dim=1) - target) / n  # (N, C)
                    new_w = self._prox(weight - lr * (grad.t() @ X), lr * lam, selected)
                    bias = bias - lr * grad.sum(0)
                    change = float((new_w - weight).norm())
                    weight = new_w
                    if change <= self.tol * max(1.0, float(weight.norm())):
                        break
                fresh = (weight.abs().sum(0) > 0) & ~selected
                if bool(fresh.any()):
                    j = int(torch.nonzero(fresh)[0])
                    selected[j] = True
                    order.append(j)
                    admitted = True
                    break  # restart the lambda path from the top
            if not admitted:
                # Even the least regularised lambda admits nothing new: take the strongest gradient.
                grad = (torch.softmax(X @ weight.t() + bias, dim=1) - target) / n
                norms = (grad.t() @ X).norm(dim=0).masked_fill(selected, -1.0)
                j = int(norms.argmax())
                selected[j] = True
                order.append(j)
        self.order_ = torch.tensor(order)
        self.selected_ = torch.sort(self.order_).values
        self.weight_, self.bias_, self.lambdas_, self.iterations_ = weight, bias, lams, iterations
        return self

    def _prox(self, weight: torch.Tensor, step: float, selected: torch.Tensor) -> torch.Tensor:
        """Group soft-threshold, keep the selected columns and at most one new one, then shrink (elastic net)."""
        threshold = step * self.alpha
        norms = weight.norm(dim=0)
        out = weight * (1 - threshold / norms.clamp_min(1e-12)).clamp_min(0.0)
        allowed = selected.clone()
        candidates = norms.masked_fill(selected, -1.0)
        best = int(candidates.argmax())
        if candidates[best] > threshold:
            allowed[best] = True
        out = out * allowed.float()
        return out / (1 + step * (1 - self.alpha))


def standardise(features: torch.Tensor, mean: torch.Tensor | None = None, std: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(features - mean) / std`` with the mean and std (clamped at 1e-5, as the reference) of ``features``
    ``(N, d)`` unless given; returns the standardised features, mean and std."""
    mean = features.mean(0) if mean is None else mean
    std = features.std(0).clamp_min(1e-5) if std is None else std
    return (features - mean) / std, mean, std


# ---------------------------------------------------------------------------------------------- glm-saga
@dataclass
class PathPoint:
    """One point of the regularisation path: ``lam``, ``weight`` ``(C, d)``, ``bias`` ``(C,)`` and the
    accuracies glm-saga measured on its train and validation loaders."""

    lam: float
    weight: torch.Tensor
    bias: torch.Tensor
    train_accuracy: float
    val_accuracy: float

    @property
    def nonzero_per_class(self) -> float:
        return float((self.weight != 0).sum()) / self.weight.shape[0]


def glm_path(X: torch.Tensor, y: torch.Tensor, X_val: torch.Tensor, y_val: torch.Tensor, n_classes: int, *,
             alpha: float = 0.99, n_lambdas: int = 100, epsilon: float = 1e-3, epochs: int = 200, lr: float = 0.1,
             lookbehind: int = 5, tol: float = 1e-4, batch_size: int = 256, seed: int = 0, segment: int = 10,
             stop: Callable[[list[PathPoint]], bool] | None = None) -> list[PathPoint]:
    """The elastic-net regularisation path of glm-saga on standardised ``X`` ``(N, d)`` (validation on
    ``X_val``), from the all-zero layer: ``n_lambdas`` log-spaced lambdas from lambda_max to
    ``epsilon`` * lambda_max, then lambda = 0 (glm-saga's ``do_zero``). ``stop(points_so_far)`` is asked
    after every ``segment`` lambdas; True ends the path there."""
    from glm_saga.elasticnet import IndexedTensorDataset, glm_saga, maximum_reg
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    X, X_val = X.float().cpu().contiguous(), X_val.float().cpu().contiguous()
    y, y_val = y.long().cpu(), y_val.long().cpu()
    generator = torch.Generator().manual_seed(seed)
    # Whole batches are indexed at once (batch_size=None + a batch sampler): the default per-sample
    # collation costs more than the SAGA step itself at these sizes.
    sampler = BatchSampler(RandomSampler(range(len(X)), generator=generator), batch_size, drop_last=False)
    loader = DataLoader(IndexedTensorDataset(X, y), sampler=sampler, batch_size=None)
    val_loader = DataLoader(TensorDataset(X_val, y_val), sampler=BatchSampler(range(len(X_val)), 4096, drop_last=False), batch_size=None)
    linear = torch.nn.Linear(X.shape[1], n_classes)
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
    # Same lambdas as one glm_saga call: lambda_max = max_reg / alpha, log-spaced down to epsilon * lambda_max.
    lam_max = maximum_reg(X, y, group=False) / max(0.001, alpha)
    lams = torch.logspace(math.log10(lam_max), math.log10(lam_max * epsilon), n_lambdas).tolist()
    points: list[PathPoint] = []
    state = None
    for start in range(0, n_lambdas, segment):
        chunk = lams[start:start + segment]
        last = start + segment >= n_lambdas
        with _quiet(), single_thread():
            result = glm_saga(linear, loader, lr, epochs, alpha, val_loader=val_loader, n_ex=len(X), n_classes=n_classes,
                              k=len(chunk), epsilon=chunk[-1] / chunk[0] if len(chunk) > 1 else 1.0,
                              metadata={"max_reg": {"nongrouped": chunk[0] * max(0.001, alpha)}}, state=state,
                              tol=tol, lookbehind=lookbehind, do_zero=last, group=False, verbose=None)
        state = result["state"]
        points.extend(PathPoint(float(p["lam"]), p["weight"].clone(), p["bias"].clone(), float(p["metrics"]["acc_tr"]),
                                float(p["metrics"]["acc_val"])) for p in result["path"])
        if not last and stop is not None and stop(points):
            break
    return points


@contextlib.contextmanager
def _quiet():
    """glm-saga prints every lambda and warns about an implicit softmax dimension: silence both."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ---------------------------------------------------------------------------------------------- picks
def top_k_entries(weight: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask ``(C, d)`` of the ``k`` entries of largest |w| among the non-zero ones (ties by position,
    so exactly ``min(k, nonzeros)`` entries)."""
    flat = weight.reshape(-1).abs()
    k = min(k, int((flat > 0).sum()))
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask[torch.argsort(flat, descending=True, stable=True)[:k]] = True
    return mask.view_as(weight)


def sldd_pick(path: list[PathPoint], per_class: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """SLDD (method-notes §2.7): the path point with the most non-zeros per class that is still
    <= ``per_class`` / 0.5, never the all-zero first point; then its ``per_class`` * C largest |w| keep their
    real values. Returns weight ``(C, d)``, that point's bias ``(C,)`` and the point's index."""
    limit = per_class / 0.5
    nonzero = [p.nonzero_per_class for p in path]
    allowed = [i for i, v in enumerate(nonzero) if v <= limit and v > 0]
    index = max(allowed, key=lambda i: (nonzero[i], i)) if allowed else int(torch.tensor(nonzero).argmin())
    point = path[index]
    keep = top_k_entries(point.weight, per_class * point.weight.shape[0])
    return point.weight * keep, point.bias.clone(), index


def glm_saga5_pick(path: list[PathPoint], per_class: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """glm-saga5 (Q-SENN Table 1): the path point with the most non-zeros per class that is <= ``per_class``,
    as it is (no thresholding). Returns weight, bias and the point's index."""
    nonzero = [p.nonzero_per_class for p in path]
    allowed = [i for i, v in enumerate(nonzero) if 0 < v <= per_class]
    index = max(allowed, key=lambda i: (nonzero[i], i)) if allowed else 0
    return path[index].weight.clone(), path[index].bias.clone(), index


def quantize_ternary(weight: torch.Tensor, n_weights: int) -> tuple[torch.Tensor, float]:
    """Q-SENN Eqs. 3-5: keep the ``n_weights`` entries of largest |w| (Eq. 3's threshold, ties broken by
    position so that exactly ``n_weights`` remain), set them to sign(w) * alpha with alpha the mean |w| of
    the kept entries (Eq. 4), zero the rest (Eq. 5). Returns ``W_Q`` ``(C, d)`` and alpha. Unlike the
    reference's ``bucketize``, the most negative weight keeps its sign and counts in the mean."""
    keep = top_k_entries(weight, n_weights)
    alpha = float(weight.abs()[keep].mean()) if bool(keep.any()) else 0.0
    return torch.sign(weight) * keep * alpha, alpha


def qsenn_bias(ternary: torch.Tensor, bias_max: float) -> torch.Tensor:
    """The reference's bias rule (method-notes §2.7): with d_c = #positive - #negative weights of class c,
    b_c = beta_max - (d_c - min d) * 2 beta_max / max(d - min d), clamped to [-beta_max, beta_max]: classes
    with more net positive weights get a lower bias. When every d_c is equal (the reference divides by
    zero there) every bias is 0."""
    d = (ternary > 0).sum(1).float() - (ternary < 0).sum(1).float()
    spread = float((d - d.min()).max())
    if spread == 0:
        return torch.zeros(ternary.shape[0])
    return (bias_max - (d - d.min()) * (2 * bias_max / spread)).clamp(-bias_max, bias_max)
