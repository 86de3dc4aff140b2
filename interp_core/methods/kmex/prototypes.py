"""Prototypes of the pooled embedding ``z``: the classifier's columns (Theorem 1) and KMEx (Sec. 3.2).

Paper: "Post-hoc self-explanation of CNNs" (``shared/papers/kmex-posthoc-self-explanation.txt``), built on
KMEx (Gautam et al., TMLR 2024). Both are scikit-learn-style estimators: hyper-parameters in
``__init__``, learning in ``fit``, learned state in attributes ending in ``_``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from interp_core.data.base import Split
from interp_core.methods.kmex.kmeans import classwise_kmeans, squared_distances


@torch.no_grad()
def embed_split(model: nn.Module, split: Split, index: np.ndarray | None = None, batch_size: int = 256) -> torch.Tensor:
    """Pooled embeddings ``z`` ``(N, D)`` of ``split`` (or its rows ``index``), on the model's device.

    The caller puts the model in eval mode: KMEx embeds the non-augmented data as the model predicts.
    """
    device = next(model.parameters()).device
    index = np.arange(len(split)) if index is None else np.asarray(index)
    parts = [model.embed(split.inputs(index[i : i + batch_size]).to(device)) for i in range(0, len(index), batch_size)]
    return torch.cat(parts).float() if parts else torch.empty(0, model.classifier.in_features, device=device)


class NotFittedError(RuntimeError):
    """A KMEx estimator was used before ``fit`` (or before its fitted state was loaded)."""


def _as_tensor(values, device: torch.device | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    tensor = torch.as_tensor(values)
    return tensor.to(device=device or tensor.device, dtype=dtype or tensor.dtype)



class FittedPrototypes:
    """What every prototype estimator shares: prototypes exist only after ``fit`` (``fit_call`` says how)."""

    fit_call = "fit(...)"

    def _check(self) -> None:
        if not hasattr(self, "prototypes_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call {self.fit_call} first.")


class ClassifierSEM(FittedPrototypes):
    """Theorem 1: a CNN is a self-explainable model whose C prototypes are the classifier columns ``c_j``.

    ``sim`` is the dot product and ``proj`` the average pool, so ``predict_scores`` on the unpooled
    encoder output equals the CNN's logits (Eq. 5; the bias, omitted in the paper, is added back).
    """

    fit_call = "fit(model.classifier)"

    def fit(self, classifier: nn.Linear) -> "ClassifierSEM":
        self.prototypes_ = classifier.weight.detach().clone()  # (C, D): row j is the paper's column c_j
        self.bias_ = classifier.bias.detach().clone() if classifier.bias is not None else torch.zeros(classifier.out_features)
        self.prototype_classes_ = torch.arange(self.prototypes_.shape[0], device=self.prototypes_.device)
        return self

    def similarity(self, h: torch.Tensor) -> torch.Tensor:
        """Per-location similarity ``(N, R, C)`` of encoder rows ``h`` ``(N, R, D)`` to every ``c_j``."""
        self._check()
        return h @ self.prototypes_.T  # Paper Eq. 4: h_r . c_j

    def predict_scores(self, h: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, C)`` from encoder rows ``h`` ``(N, R, D)``: proj = average pool of sim."""
        return self.similarity(h).mean(1) + self.bias_  # Paper Eq. 5: (1/R) sum_r h_r . c_j




class ClasswisePrototypes(FittedPrototypes):
    """The estimators' shared part (scikit-learn shape): hyper-parameters stored by ``__init__``, k-means
    prototypes per class fitted by :meth:`_fit_rows`, :meth:`get_params` read from the signature."""

    def __init__(self, prototypes_per_class: int = 5, *, n_init: int = 10, max_iter: int = 300, tol: float = 1e-4, seed: int = 0,
                 backend: str = "auto"):
        self.prototypes_per_class = prototypes_per_class
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.backend = backend

    def get_params(self) -> dict:
        """The hyper-parameters, by the names ``__init__`` takes."""
        import inspect

        return {name: getattr(self, name) for name in inspect.signature(type(self).__init__).parameters if name != "self"}

    def _fit_rows(self, rows: torch.Tensor, y: torch.Tensor, n_classes: int | None):
        """k-means within each class of ``rows`` ``(n, D)`` with labels ``y`` ``(n,)`` (Paper Eq. 5); sets
        ``prototypes_``, ``prototype_classes_``, ``cluster_sizes_``, ``inertia_``, ``n_classes_``."""
        n_classes = int(y.max()) + 1 if n_classes is None else n_classes
        self.prototypes_, self.prototype_classes_, self.cluster_sizes_, self.inertia_ = classwise_kmeans(
            rows, y, n_classes, self.prototypes_per_class, backend=self.backend, n_init=self.n_init,
            max_iter=self.max_iter, tol=self.tol, seed=self.seed,
        )
        self.n_classes_ = n_classes
        return self


class KMEx(ClasswisePrototypes):
    """KMEx (Sec. 3.2): per-class k-means prototypes on the pooled embedding, nearest-prototype classifier.

    ``fit(z, y)`` runs k-means with ``prototypes_per_class`` centroids on the embeddings of each class,
    using the ground-truth labels ``y`` (as the reference code does). Prototypes are the raw centroids
    (not snapped to data). ``backend``: ``"auto"`` (torch k-means on accelerators, scikit-learn on CPU),
    ``"torch"`` or ``"sklearn"``.

    Fitted attributes: ``prototypes_`` ``(K, D)`` with ``K = C * prototypes_per_class`` in class-major
    order, ``prototype_classes_`` ``(K,)``, ``cluster_sizes_`` ``(K,)`` training samples per centroid,
    ``inertia_``, ``n_classes_``.
    """

    fit_call = "fit(embeddings, labels)"

    def fit(self, z: torch.Tensor, y: torch.Tensor, n_classes: int | None = None) -> "KMEx":
        """``z`` ``(N, D)`` embeddings of the (non-augmented) training set, ``y`` ``(N,)`` true labels."""
        z = _as_tensor(z, dtype=torch.float32)
        y = _as_tensor(y, device=z.device, dtype=torch.long)
        if z.ndim != 2:
            raise ValueError(f"KMEx.fit expects embeddings of shape (N, D), got {tuple(z.shape)}.")
        return self._fit_rows(z, y, n_classes)

    @classmethod
    def from_prototypes(cls, prototypes: torch.Tensor, prototype_classes: torch.Tensor, n_classes: int | None = None) -> "KMEx":
        """A fitted estimator from stored prototypes ``(K, D)`` in class-major order (e.g. a checkpoint)."""
        counts = torch.bincount(prototype_classes.long())
        if len(counts) == 0 or not bool((counts == counts[0]).all()):
            raise ValueError("Stored KMEx prototypes must have the same number of prototypes for every class.")
        per_class = int(counts[0])
        expected = torch.arange(len(counts), device=prototype_classes.device).repeat_interleave(per_class)
        if not torch.equal(prototype_classes.long(), expected):
            raise ValueError("Stored KMEx prototypes must be in class-major order (class c owns rows c*M ... c*M+M-1).")
        est = cls(per_class)
        est.prototypes_ = prototypes.float()
        est.prototype_classes_ = prototype_classes.long()
        est.n_classes_ = n_classes or len(counts)
        return est

    def distances(self, z: torch.Tensor) -> torch.Tensor:
        """Squared Euclidean distances ``(N, K)`` from embeddings ``z`` ``(N, D)`` to every prototype."""
        self._check()
        return squared_distances(z.float(), self.prototypes_.to(z.device))

    def similarity(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, K)``; underflows to 0 far from every prototype, so predictions use distances instead."""
        return torch.exp(-self.distances(z))  # Paper Sec. 3.2 step 2: sim(h, p_k) = exp(-||h - p_k||^2)

    def predict_scores(self, z: torch.Tensor) -> torch.Tensor:
        """Per-class log-similarity ``(N, C)`` of the most similar prototype of each class, ``-min ||z - p||^2``."""
        dist = self.distances(z)
        per_class = dist.view(dist.shape[0], self.n_classes_, -1)
        return -per_class.min(-1).values

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """``(N,)`` class of the nearest prototype."""
        # Paper Sec. 3.2 step 3: proj is one-hot on the class of the most similar prototype.
        return self.prototype_classes_.to(z.device)[self.distances(z).argmin(1)]


def prototype_cosines(prototypes: torch.Tensor, prototype_classes: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Table 1: average cosine of each prototype to the embeddings of its class (*class*) and to all
    other embeddings (*out*), averaged over prototypes.

    ``prototypes`` ``(K, D)``, ``prototype_classes`` ``(K,)``, ``z`` ``(N, D)``, ``y`` ``(N,)``.
    """
    p = nn.functional.normalize(prototypes.float(), dim=1)
    e = nn.functional.normalize(z.float().to(p.device), dim=1)
    cos = p @ e.T  # (K, N)
    same = prototype_classes.to(p.device).view(-1, 1) == y.to(p.device).view(1, -1)
    inside = (cos * same).sum(1) / same.sum(1).clamp_min(1)
    outside = (cos * ~same).sum(1) / (~same).sum(1).clamp_min(1)
    return float(inside.mean()), float(outside.mean())
