"""Fit every KMEx explanation of a frozen CNN on its training set, and measure it (Tables 1 and 2).

:class:`KMExFitter` embeds the non-augmented training split in eval mode (not the test split: the
reference code's MNIST run fitted on test data), fits KMEx on pooled embeddings, the encoder variants on
pixel rows of a seeded per-class image sample, and finds each prototype's representative training patch.
The UMAP projection of Fig. 2 is not part of the fit: it is a view, cached by the model's fingerprint
(:mod:`~interp_core.methods.kmex.projection`).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn as nn

from interp_core.data.base import Split
from interp_core.methods.kmex.encoder import EncoderKMEx, pixel_rows, variant_name
from interp_core.methods.kmex.kmeans import squared_distances
from interp_core.methods.kmex.model import KMExModel, check_backbone, weights_fingerprint
from interp_core.methods.kmex.patches import segment_box
from interp_core.methods.kmex.prototypes import KMEx, embed_split, prototype_cosines

def _report(progress: Callable | None, stage: str, fraction: float, message: str) -> None:
    if progress is not None:
        from interp_core.training.engine import Progress

        progress(Progress(stage, fraction, message))


def class_samples(labels: np.ndarray, n_classes: int, per_class: int, seed: int) -> list[np.ndarray]:
    """Seeded sample of at most ``per_class`` indices of every class (sorted)."""
    rng = np.random.default_rng(seed)
    out = []
    for c in range(n_classes):
        idx = np.flatnonzero(labels == c)
        out.append(np.sort(rng.choice(idx, min(per_class, len(idx)), replace=False)))
    return out


@torch.no_grad()
def _class_features(backbone: nn.Module, split: Split, index: np.ndarray, encoders: dict[str, EncoderKMEx], batch_size: int) -> dict[str, torch.Tensor]:
    """Composite features ``(n, D, H', W')`` of the images ``index`` for every encoder variant."""
    device = next(backbone.parameters()).device
    feats: dict[str, list[torch.Tensor]] = {v: [] for v in encoders}
    for i in range(0, len(index), batch_size):
        outputs = backbone.block_outputs(split.inputs(index[i : i + batch_size]).to(device))
        for v, est in encoders.items():
            feats[v].append(est.features(outputs))
    return {v: torch.cat(f) for v, f in feats.items()}


def _representatives(est: EncoderKMEx, features: torch.Tensor, label: int, input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """For each prototype of class ``label``: (local image index, box) of the closest location among the
    locations of ``features`` ``(n, D, H', W')`` assigned to it; any location if none is."""
    n, _, h, w = features.shape
    segments = est.segment(features).view(n, -1)
    per_class = est.prototypes_per_class
    own = torch.arange(label * per_class, (label + 1) * per_class, device=features.device)
    dist = squared_distances(pixel_rows(features), est.prototypes_[own].to(features.device))  # (n, R, M)
    images, boxes = np.zeros(per_class, dtype=np.int64), np.zeros((per_class, 4), dtype=np.int64)
    seg_np = segments.view(n, h, w).cpu().numpy()
    for m, k in enumerate(own.tolist()):
        d = dist[..., m]
        assigned = segments == k
        if bool(assigned.any()):
            d = torch.where(assigned, d, torch.full_like(d, float("inf")))
        flat = int(d.argmin())
        img, loc = divmod(flat, h * w)
        images[m] = img
        boxes[m] = segment_box(seg_np[img], k, divmod(loc, w), input_size)
    return images, boxes


class KMExFitter:
    """Fits every KMEx explanation of a frozen CNN (scikit-learn shape; the recipe's hyper-parameters).

    ``fit(backbone, train)`` fits KMEx on pooled embeddings (Sec. 3.2), the encoder variants ``b{B}`` ...
    ``b{shallowest_block}..{B}`` on pixel rows (Sec. 3.3) and every prototype's representative training
    patch, and returns ``self`` with ``model_`` (the :class:`KMExModel`) and ``stats_`` (fit statistics).

    ``prototypes_per_class``: K/C for every prototype set. ``n_init``: k-means restarts for the pooled
    embedding (explicit: the reference code silently depended on scikit-learn's default).
    ``shallowest_block``: the deepest encoder variant uses blocks ``shallowest_block .. B`` (2 -> B234);
    every variant in between is fitted too, as the attribution is carried up through them.
    ``block_scale``: per-block weight of the composite features (see ``combine_blocks``). Encoder
    prototypes use ``encoder_images_per_class`` training images per class and a seeded sample of
    ``encoder_pixels_per_image`` locations of each (all when fewer), with ``encoder_n_init`` restarts;
    the paper notes that subsets of the training data keep the performance. ``backend``: ``"auto"``
    (torch k-means on accelerators, scikit-learn on CPU), ``"torch"`` or ``"sklearn"``.
    """

    def __init__(self, prototypes_per_class: int = 5, *, n_init: int = 10, shallowest_block: int = 2, block_scale: str = "dim",
                 encoder_n_init: int = 3, encoder_images_per_class: int = 100, encoder_pixels_per_image: int = 32,
                 max_iter: int = 300, tol: float = 1e-4, seed: int = 0, backend: str = "auto", batch_size: int = 256):
        self.prototypes_per_class = prototypes_per_class
        self.n_init = n_init
        self.shallowest_block = shallowest_block
        self.block_scale = block_scale
        self.encoder_n_init = encoder_n_init
        self.encoder_images_per_class = encoder_images_per_class
        self.encoder_pixels_per_image = encoder_pixels_per_image
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.backend = backend
        self.batch_size = batch_size

    def fit(self, backbone: nn.Module, train: Split, progress: Callable | None = None) -> "KMExFitter":
        """Fit on the non-augmented training split ``train`` with the frozen ``backbone`` (a BlockCNN-like
        model on the device to use; k-means runs there)."""
        check_backbone(backbone)
        backbone.eval()
        self.stats_: dict[str, Any] = {}
        _report(progress, "embed", 0.0, "embedding the training set")
        kmex, prototype_images = self._fit_pooled(backbone, train)
        _report(progress, "encoder", 0.3, "encoder features")
        encoders, samples = self._fit_encoders(backbone, train, progress)
        _report(progress, "patches", 0.75, "representative patches")
        patches = self._patches(backbone, train, encoders, samples)
        self.model_ = self._assemble(backbone, train, kmex, prototype_images, encoders, patches)
        _report(progress, "done", 1.0, "KMEx fitted")
        return self

    def _fit_pooled(self, backbone: nn.Module, train: Split) -> tuple[KMEx, torch.Tensor]:
        device = next(backbone.parameters()).device
        labels = torch.from_numpy(train.labels).to(device)
        start = time.perf_counter()
        z = embed_split(backbone, train, batch_size=self.batch_size)
        self.stats_["embed_seconds"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        kmex = KMEx(self.prototypes_per_class, n_init=self.n_init, max_iter=self.max_iter, tol=self.tol, seed=self.seed,
                    backend=self.backend).fit(z, labels, train.info.num_classes)
        self.stats_["kmex_seconds"] = round(time.perf_counter() - start, 2)
        self.stats_["kmex_inertia"] = kmex.inertia_
        dist = kmex.distances(z)
        dist[kmex.prototype_classes_.view(1, -1) != labels.view(-1, 1)] = float("inf")
        return kmex, dist.argmin(0)  # nearest training image of the prototype's own class

    def _fit_encoders(self, backbone: nn.Module, train: Split, progress: Callable | None) -> tuple[dict[str, EncoderKMEx], list[np.ndarray]]:
        device = next(backbone.parameters()).device
        n_classes = train.info.num_classes
        with torch.no_grad():
            n_blocks = len(backbone.block_outputs(train.inputs(np.arange(1)).to(device)))
        encoders = {
            variant_name(s, n_blocks): EncoderKMEx(s, self.prototypes_per_class, block_scale=self.block_scale, n_init=self.encoder_n_init,
                                                   max_iter=self.max_iter, tol=self.tol, seed=self.seed, backend=self.backend)
            for s in range(n_blocks, self.shallowest_block - 1, -1)
        }
        samples = class_samples(train.labels, n_classes, self.encoder_images_per_class, self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        rows: dict[str, list[torch.Tensor]] = {v: [] for v in encoders}
        row_labels: dict[str, list[torch.Tensor]] = {v: [] for v in encoders}
        start = time.perf_counter()
        for c, index in enumerate(samples):
            _report(progress, "encoder", 0.3 + 0.3 * c / n_classes, f"encoder features of class {c + 1}/{n_classes}")
            for v, feats in _class_features(backbone, train, index, encoders, self.batch_size).items():
                r = pixel_rows(feats)  # (n, R, D)
                if r.shape[1] > self.encoder_pixels_per_image:
                    pick = torch.rand(r.shape[0], r.shape[1], generator=generator).argsort(1)[:, : self.encoder_pixels_per_image].to(device)
                    r = r.gather(1, pick.unsqueeze(-1).expand(-1, -1, r.shape[2]))
                rows[v].append(r.reshape(-1, r.shape[2]))
                row_labels[v].append(torch.full((rows[v][-1].shape[0],), c, device=device, dtype=torch.long))
        for v, est in encoders.items():
            _report(progress, "encoder", 0.6, f"k-means for {v}")
            est.fit(torch.cat(rows[v]), torch.cat(row_labels[v]), n_classes)
            self.stats_[f"{v}_inertia"] = est.inertia_
            self.stats_[f"{v}_rows"] = int(sum(len(r) for r in rows[v]))
        self.stats_["encoder_seconds"] = round(time.perf_counter() - start, 2)
        return encoders, samples

    def _patches(self, backbone: nn.Module, train: Split, encoders: dict[str, EncoderKMEx], samples: list[np.ndarray]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per variant: (training image index ``(K,)``, box ``(K, 4)``) of every prototype's representative patch."""
        start = time.perf_counter()
        k = train.info.num_classes * self.prototypes_per_class
        m = self.prototypes_per_class
        input_size = tuple(train.info.input_shape[-2:])
        out = {v: (torch.zeros(k, dtype=torch.long), torch.zeros(k, 4, dtype=torch.long)) for v in encoders}
        for c, index in enumerate(samples):
            for v, feats in _class_features(backbone, train, index, encoders, self.batch_size).items():
                local, boxes = _representatives(encoders[v], feats, c, input_size)
                out[v][0][c * m : (c + 1) * m] = torch.from_numpy(index[local])
                out[v][1][c * m : (c + 1) * m] = torch.from_numpy(boxes)
        self.stats_["patch_seconds"] = round(time.perf_counter() - start, 2)
        return out

    def _assemble(self, backbone: nn.Module, train: Split, kmex: KMEx, prototype_images: torch.Tensor,
                  encoders: dict[str, EncoderKMEx], patches: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> KMExModel:
        device = next(backbone.parameters()).device
        model = KMExModel(backbone, train.info.num_classes, self.prototypes_per_class, list(encoders), block_scale=self.block_scale,
                          dataset=train.info.name)
        state = model.kmex_state
        state.set("backbone_fingerprint", torch.tensor(list(weights_fingerprint(backbone)), dtype=torch.uint8))
        state.set("prototypes", kmex.prototypes_)
        state.set("prototype_classes", kmex.prototype_classes_)
        state.set("cluster_sizes", kmex.cluster_sizes_)
        state.set("prototype_images", prototype_images)
        for v, est in encoders.items():
            state.set(f"{v}_prototypes", est.prototypes_)
            state.set(f"{v}_sizes", est.cluster_sizes_)
            state.set(f"{v}_patch_images", patches[v][0].to(device))
            state.set(f"{v}_patch_boxes", patches[v][1].to(device))
        model.validate()
        return model


@torch.no_grad()
def evaluate_kmex(model: KMExModel, train: Split, test: Split, *, variants: Sequence[str] = ("b4", "b234"), batch_size: int = 256) -> dict[str, float]:
    """Table 2 accuracies on train and test (CNN, KMEx, encoder variants) and Table 1 cosines on test.

    Keys: ``cnn_accuracy``, ``kmex_accuracy``, ``<variant>_accuracy`` (test) and the same with
    ``_train_accuracy``; ``cos_class_cnn``/``cos_out_cnn`` for the classifier columns,
    ``cos_class_kmex``/``cos_out_kmex`` for the fitted prototypes, ``cos_class_kmex1``/``cos_out_kmex1``
    for KMEx with one prototype per class (fitted here on the training embeddings).
    """
    device = next(model.parameters()).device
    model.eval()
    kmex = model.kmex
    metrics: dict[str, float] = {}
    embeddings = {}
    for name, split in (("train", train), ("test", test)):
        labels = torch.from_numpy(split.labels).to(device)
        correct = {k: 0 for k in ("cnn", "kmex", *variants)}
        zs = []
        for i in range(0, len(split), batch_size):
            idx = np.arange(i, min(len(split), i + batch_size))
            y = labels[idx]
            outputs = model.block_outputs(split.inputs(idx).to(device))
            z = outputs[-1].mean((2, 3))  # the BlockCNN embedding: global average pool of the last block (Eq. 2)
            zs.append(z)
            correct["cnn"] += int((model.classifier(z).argmax(1) == y).sum())
            correct["kmex"] += int((kmex.predict(z) == y).sum())
            for v in variants:
                est = model.encoder(v)
                correct[v] += int((est.predict(est.features(outputs)) == y).sum())
        suffix = "_accuracy" if name == "test" else "_train_accuracy"
        for k, v in correct.items():
            metrics[k + suffix] = v / len(split)
        embeddings[name] = (torch.cat(zs), labels)
    z_test, y_test = embeddings["test"]
    weight = model.classifier.weight
    metrics["cos_class_cnn"], metrics["cos_out_cnn"] = prototype_cosines(weight, torch.arange(weight.shape[0], device=device), z_test, y_test)
    metrics["cos_class_kmex"], metrics["cos_out_kmex"] = prototype_cosines(kmex.prototypes_, kmex.prototype_classes_, z_test, y_test)
    single = KMEx(1, n_init=1).fit(*embeddings["train"], model.n_classes)
    metrics["cos_class_kmex1"], metrics["cos_out_kmex1"] = prototype_cosines(single.prototypes_, single.prototype_classes_, z_test, y_test)
    metrics["prototypes_per_class"] = model.prototypes_per_class
    return metrics
