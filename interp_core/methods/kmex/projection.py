"""UMAP of embeddings and prototypes (the paper's Fig. 2), cached so a repeated view is instant.

umap-learn is imported lazily (about 17 s on first import). Results are cached in memory and on disk
under ``cache_subdir("umap")`` through the one result cache's array files (:mod:`interp_core.store.results`): :func:`umap_2d` by the exact points and parameters,
:func:`kmex_projection` by the fitted model's content (backbone weights and prototypes), the dataset,
classes and parameters, so a cache hit needs no forward pass and retrained weights never reuse an old
projection. The default projection of each shipped model ships too, as a file of the same cache under
``assets/projections`` (written by ``python -m interp_core ship``), so a cold start needs no UMAP.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from interp_core.methods.kmex.model import KMExModel, weights_fingerprint
from interp_core.methods.kmex.prototypes import embed_split
from interp_core.paths import ASSETS_DIR, cache_subdir
from interp_core.store.results import read_arrays, write_arrays

SHIPPED_PROJECTIONS = ASSETS_DIR / "projections"

# Point kinds in a projection, in the order Fig. 2 draws them.
KINDS = ("train", "test", "classifier", "classifier_rescaled", "kmex")
DEFAULT_UMAP = {"train_per_class": 200, "n_neighbors": 15, "min_dist": 0.1, "seed": 0}

_MEMORY: dict[str, dict[str, np.ndarray]] = {}


@dataclass
class Projection:
    """2-D UMAP coordinates ``points`` ``(n, 2)`` with per-point ``labels`` ``(n,)`` (class) and ``kinds``
    ``(n,)`` (index into :data:`KINDS`): train and test embeddings, the classifier columns ``c_j`` raw and
    rescaled to the mean norm of their class, and the KMEx prototypes, for the chosen ``classes``."""

    classes: np.ndarray
    points: np.ndarray
    labels: np.ndarray
    kinds: np.ndarray

    def of_kind(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """``(points (m, 2), labels (m,))`` of one kind, e.g. ``"kmex"``."""
        keep = self.kinds == KINDS.index(kind)
        return self.points[keep], self.labels[keep]


def _cached(key: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays stored under ``key`` in memory, else in the result cache, else shipped, else computed (and
    cached; a read-only or full cache folder only costs a refit later)."""
    if key in _MEMORY:
        return _MEMORY[key]
    path = cache_subdir("umap") / f"{key}.npz"
    for candidate in (path, SHIPPED_PROJECTIONS / f"{key}.npz"):
        if (arrays := read_arrays(candidate)) is not None:
            _MEMORY[key] = arrays
            return arrays
    arrays = compute()
    try:
        write_arrays(path, **arrays)
    except OSError:
        pass
    _MEMORY[key] = arrays
    return arrays


def umap_2d(points: np.ndarray, *, n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0) -> np.ndarray:
    """UMAP of ``points`` ``(n, D)`` to ``(n, 2)`` float32, cached by content and parameters."""
    points = np.ascontiguousarray(points, dtype=np.float32)
    if points.ndim != 2 or points.shape[0] < 3:
        raise ValueError(f"UMAP needs at least 3 points of shape (n, D), got {points.shape}.")
    digest = hashlib.sha256(points.tobytes())
    digest.update(f"umap_2d|{points.shape}|{n_neighbors}|{min_dist}|{seed}".encode())

    def fit() -> dict[str, np.ndarray]:
        import umap  # lazy: ~17 s on first import

        reducer = umap.UMAP(
            n_components=2, n_neighbors=min(n_neighbors, points.shape[0] - 1), min_dist=min_dist, random_state=seed, n_jobs=1
        )
        return {"points": reducer.fit_transform(points).astype(np.float32)}

    return _cached(digest.hexdigest()[:24], fit)["points"].copy()


def select_projection_samples(train_y: np.ndarray, test_y: np.ndarray, classes: Sequence[int], train_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of at most ``train_per_class`` training samples per class (seeded) and of every test
    sample of ``classes``: the embeddings Fig. 2 shows."""
    rng = np.random.default_rng(seed)
    train_idx = []
    for c in classes:
        idx = np.flatnonzero(train_y == c)
        if len(idx) == 0:
            raise ValueError(f"class {c} has no training samples to project.")
        train_idx.append(np.sort(rng.choice(idx, min(train_per_class, len(idx)), replace=False)))
    test_idx = np.flatnonzero(np.isin(test_y, list(classes)))
    return np.concatenate(train_idx), test_idx


def projection_inputs(
    classes: Sequence[int],
    train_z: torch.Tensor,
    train_y: np.ndarray,
    test_z: torch.Tensor,
    test_y: np.ndarray,
    classifier_weight: torch.Tensor,
    prototypes: torch.Tensor,
    prototype_classes: torch.Tensor,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points ``(n, D)``, labels ``(n,)`` and kinds ``(n,)`` for the Fig. 2 projection of ``classes``:
    the given embeddings, ``c_j`` raw, ``c_j`` rescaled to the mean norm of class ``j``'s training
    embeddings, and the KMEx prototypes of those classes."""
    cls = torch.as_tensor(list(classes), dtype=torch.long)
    train_z, test_z = train_z.detach().float().cpu(), test_z.detach().float().cpu()
    c_j = classifier_weight.detach().float().cpu()[cls]
    class_norm = torch.stack([train_z[torch.as_tensor(train_y == c)].norm(dim=1).mean() for c in classes])
    keep = torch.isin(prototype_classes.cpu(), cls)
    groups = [
        (train_z, np.asarray(train_y), "train"),
        (test_z, np.asarray(test_y), "test"),
        (c_j, cls.numpy(), "classifier"),
        (c_j / c_j.norm(dim=1, keepdim=True) * class_norm.view(-1, 1), cls.numpy(), "classifier_rescaled"),
        (prototypes.detach().float().cpu()[keep], prototype_classes.cpu()[keep].numpy(), "kmex"),
    ]
    points = np.concatenate([g[0].numpy() for g in groups])
    labels = np.concatenate([g[1].astype(np.int64) for g in groups])
    kinds = np.concatenate([np.full(len(g[1]), KINDS.index(g[2]), dtype=np.int64) for g in groups])
    return points, labels, kinds


def compute_projection(model: KMExModel, dataset: str, classes: Sequence[int], *, train_per_class: int, n_neighbors: int, min_dist: float, seed: int) -> Projection:
    """Embed the chosen samples with the model's backbone and fit UMAP on them with all prototypes."""
    from interp_core.data import load_split

    train, test = load_split(dataset, "train"), load_split(dataset, "test")
    train_idx, test_idx = select_projection_samples(train.labels, test.labels, classes, train_per_class, seed)
    was_training = model.training
    model.eval()
    points, labels, kinds = projection_inputs(
        classes, embed_split(model, train, train_idx), train.labels[train_idx], embed_split(model, test, test_idx), test.labels[test_idx],
        model.classifier.weight, model.buffer("prototypes"), model.buffer("prototype_classes"),
    )
    model.train(was_training)
    xy = umap_2d(points, n_neighbors=n_neighbors, min_dist=min_dist, seed=seed)
    return Projection(np.asarray(list(classes), dtype=np.int64), xy, labels, kinds)


def default_classes(n_classes: int) -> list[int]:
    """The classes Fig. 2 shows first: all of them up to ten, else the first six (a readable plot)."""
    return list(range(n_classes if n_classes <= 10 else 6))


def _projection_key(model: KMExModel, dataset: str, classes: list[int], params: list[float]) -> str:
    digest = hashlib.sha256(weights_fingerprint(model.backbone))
    digest.update(model.buffer("prototypes").detach().cpu().numpy().tobytes())
    digest.update(f"kmex_projection|{dataset}|{classes}|{params}".encode())
    return digest.hexdigest()[:24]


def kmex_projection(
    model: KMExModel,
    classes: Sequence[int] | None = None,
    *,
    dataset: str | None = None,
    train_per_class: int = DEFAULT_UMAP["train_per_class"],
    n_neighbors: int = DEFAULT_UMAP["n_neighbors"],
    min_dist: float = DEFAULT_UMAP["min_dist"],
    seed: int = DEFAULT_UMAP["seed"],
) -> Projection:
    """Fig. 2 for a fitted :class:`KMExModel`, cached by the model's weights, the classes and parameters.

    ``classes`` (order and repeats ignored) default to :func:`default_classes`; ``dataset`` to the model's.
    """
    classes = sorted({int(c) for c in (default_classes(model.n_classes) if classes is None else classes)})
    if not classes:
        raise ValueError("Choose at least one class to project.")
    if any(not 0 <= c < model.n_classes for c in classes):
        raise ValueError(f"Classes must lie in 0..{model.n_classes - 1}, got {classes}.")
    dataset = dataset or model.dataset
    if dataset is None:
        raise ValueError("Name the dataset whose embeddings to project (dataset='shapes').")
    params = [float(train_per_class), float(n_neighbors), float(min_dist), float(seed)]

    def compute() -> dict[str, np.ndarray]:
        proj = compute_projection(model, dataset, classes, train_per_class=train_per_class, n_neighbors=n_neighbors, min_dist=min_dist, seed=seed)
        return {"classes": proj.classes, "points": proj.points, "labels": proj.labels, "kinds": proj.kinds}

    arrays = _cached(_projection_key(model, dataset, classes, params), compute)
    return Projection(arrays["classes"], arrays["points"], arrays["labels"], arrays["kinds"])


def ship_default_projection(model: KMExModel) -> Path:
    """Write the default projection of ``model`` (computed now or taken from the cache) into
    ``assets/projections`` under its cache key, so a fresh install shows Fig. 2 without fitting UMAP."""
    classes = default_classes(model.n_classes)
    params = [float(DEFAULT_UMAP[k]) for k in ("train_per_class", "n_neighbors", "min_dist", "seed")]
    key = _projection_key(model, model.dataset, classes, params)
    projection = kmex_projection(model, classes)
    path = SHIPPED_PROJECTIONS / f"{key}.npz"
    write_arrays(path, classes=projection.classes, points=projection.points, labels=projection.labels, kinds=projection.kinds)
    return path
