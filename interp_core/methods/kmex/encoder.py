"""Explaining the encoder (Sec. 3.3): k-means prototypes on feature activations of several blocks,
explanation maps (segments), predictions from cluster counts, and gradient-free attribution.

Variants are named by the blocks they use, ``"b4"`` (encoder output only, the paper's B4), ``"b34"``,
``"b234"`` (the paper's B234): all outputs from block ``b`` to the last block ``B``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from interp_core.methods.kmex.prototypes import ClasswisePrototypes


def variant_name(start_block: int, n_blocks: int) -> str:
    """``variant_name(2, 4) == "b234"``; blocks are numbered from 1 as in the paper."""
    if not 1 <= start_block <= n_blocks:
        raise ValueError(f"start block {start_block} is outside 1..{n_blocks}.")
    return "b" + "".join(str(b) for b in range(start_block, n_blocks + 1))


def variant_start(name: str) -> int:
    """``variant_start("b234") == 2``."""
    if not (name.startswith("b") and name[1:].isdigit()):
        raise ValueError(f"Unknown encoder variant {name!r}; expected e.g. 'b4' or 'b234'.")
    return int(name[1])


BLOCK_SCALES = ("dim", "sqrt_dim", "none")


def combine_blocks(outputs: Sequence[torch.Tensor], start_block: int, block_scale: str = "dim") -> torch.Tensor:
    """The composite feature map ``h-check`` ``(N, sum_b D_b, H', W')`` of blocks ``start_block .. B``.

    ``outputs``: every block's output ``(N, D_b, H_b, W_b)`` (``model.block_outputs(x)``). The shared
    resolution ``R'`` is the finest among the used blocks, so no block loses detail. Each location's
    feature vector of each block is L2-normalised (Eq. 8 read per row: the norm runs over the channels
    of one location) and divided by ``D_b`` (``block_scale="dim"``, the paper), ``sqrt(D_b)`` or 1
    (``"none"``: every block weighs the same in the distance). With ``"dim"`` the shallow, narrow
    blocks dominate the distances, which is where B234 loses accuracy.
    """
    if block_scale not in BLOCK_SCALES:
        raise ValueError(f"block_scale must be one of {BLOCK_SCALES}, got {block_scale!r}.")
    used = list(outputs[start_block - 1 :])
    if not used:
        raise ValueError(f"start block {start_block} is beyond the {len(outputs)} blocks of the model.")
    size = max((u.shape[-2], u.shape[-1]) for u in used)
    parts = []
    for u in used:
        if u.shape[-2:] != size:
            u = F.interpolate(u, size=size, mode="bilinear", align_corners=False)  # Paper Eq. 7: Upsample(x^(b))
        scale = {"dim": u.shape[1], "sqrt_dim": u.shape[1] ** 0.5, "none": 1.0}[block_scale]
        # Paper Eq. 8: u^(b) / (D_b ||u^(b)||), then concatenate.
        parts.append(u / (scale * u.norm(dim=1, keepdim=True).clamp_min(1e-6)))
    return torch.cat(parts, 1)


def pixel_rows(features: torch.Tensor) -> torch.Tensor:
    """``(N, D, H, W)`` -> ``(N, H * W, D)``."""
    return features.flatten(2).transpose(1, 2)


class EncoderKMEx(ClasswisePrototypes):
    """Per-class k-means on the pixel rows of the composite feature map (Sec. 3.3, Eqs. 9-10).

    ``features(block_outputs)`` builds the composite map of blocks ``start_block .. B`` (Eqs. 7-8);
    ``fit(rows, y)`` clusters rows ``(n, D)`` whose image belongs to class ``y`` ``(n,)`` (ground truth)
    into ``prototypes_per_class`` prototypes per class. The fitted object segments feature maps
    (every location goes to its nearest prototype: the explanation map) and predicts the class whose
    prototypes collect most locations.

    Fitted attributes: ``prototypes_`` ``(K, D)`` class-major, ``prototype_classes_`` ``(K,)``,
    ``cluster_sizes_`` ``(K,)``, ``inertia_``, ``n_classes_``.
    """

    fit_call = "fit(rows, labels)"

    def __init__(self, start_block: int = 4, prototypes_per_class: int = 5, *, block_scale: str = "dim", n_init: int = 3, max_iter: int = 300, tol: float = 1e-4, seed: int = 0, backend: str = "auto"):
        super().__init__(prototypes_per_class, n_init=n_init, max_iter=max_iter, tol=tol, seed=seed, backend=backend)
        self.start_block = start_block
        self.block_scale = block_scale

    def features(self, outputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """This variant's composite features ``(N, D, H', W')`` from all block outputs (Eqs. 7-8)."""
        return combine_blocks(outputs, self.start_block, self.block_scale)

    def fit(self, rows: torch.Tensor, y: torch.Tensor, n_classes: int | None = None) -> "EncoderKMEx":
        """``rows`` ``(n, D)``: locations of composite features; ``y`` ``(n,)``: their image's true class."""
        rows = torch.as_tensor(rows).float()
        y = torch.as_tensor(y, device=rows.device).long()
        return self._fit_rows(rows, y, n_classes)

    @classmethod
    def from_prototypes(cls, start_block: int, prototypes: torch.Tensor, n_classes: int, block_scale: str = "dim") -> "EncoderKMEx":
        """A fitted estimator from stored class-major prototypes ``(K, D)``."""
        if prototypes.shape[0] % n_classes:
            raise ValueError(f"{prototypes.shape[0]} stored prototypes cannot be split evenly over {n_classes} classes.")
        per_class = prototypes.shape[0] // n_classes
        est = cls(start_block, per_class, block_scale=block_scale)
        est.prototypes_ = prototypes.float()
        est.prototype_classes_ = torch.arange(n_classes, device=prototypes.device).repeat_interleave(per_class)
        est.n_classes_ = n_classes
        return est

    @property
    def n_prototypes(self) -> int:
        return int(self.prototypes_.shape[0])

    def segment(self, features: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor:
        """Explanation map ``(N, H', W')`` of prototype indices for composite features ``(N, D, H', W')``.

        By default every location goes to the nearest of all ``K`` prototypes (Eq. 9). With ``classes``
        ``(N,)``, row ``i`` only uses the prototypes of ``classes[i]`` (indices stay global).
        """
        self._check()
        n, _, height, width = features.shape
        protos = self.prototypes_.to(features.device)
        # ||h_r||^2 is the same for every prototype, so the argmin only needs ||p_k||^2 - 2 p_k . h_r;
        # (K, D) @ (N, D, R) needs no transposed copy of the features.
        dist = protos.pow(2).sum(1, keepdim=True) - 2 * (protos @ features.flatten(2))  # (N, K, R)
        if classes is None:
            return dist.argmin(1).view(n, height, width)  # Paper Eq. 9: argmin_k ||h_r - p_k||
        per_class = self.prototypes_per_class
        dist = dist.view(n, self.n_classes_, per_class, -1)
        own = dist.gather(1, classes.view(n, 1, 1, 1).expand(n, 1, per_class, dist.shape[-1])).squeeze(1)  # (N, M, R)
        return (own.argmin(1) + classes.view(n, 1) * per_class).view(n, height, width)

    def class_scores(self, segments: torch.Tensor) -> torch.Tensor:
        """``(N, C)`` average count per class of its prototypes' segments (Eq. 10)."""
        n = segments.shape[0]
        counts = torch.zeros(n, self.n_prototypes, device=segments.device)
        counts.scatter_add_(1, segments.view(n, -1), torch.ones_like(segments.view(n, -1), dtype=counts.dtype))
        # Paper Eq. 10: y = avg.pool(sum_r s_r; K/C), non-overlapping windows of K/C prototypes.
        return counts.view(n, self.n_classes_, -1).mean(-1)

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        """``(N,)`` class whose prototypes own the most locations."""
        return self.class_scores(self.segment(features)).argmax(1)


def classifier_attribution(encoder_output: torch.Tensor, weight: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CAM-like score of every location of the encoder output ``(N, D, H, W)`` for class ``target`` ``(N,)``.

    ``weight`` ``(C, D)`` is the classifier weight (row ``j`` is the paper's column ``c_j``). Returns
    ``(N, H, W)``; a location equal to ``c_j`` scores exactly 1.
    """
    c = weight[target]  # (N, D)
    # Paper Eq. 11: att(h_wh, c_j) = h_wh . c_j / ||c_j||^2
    return torch.einsum("ndhw,nd->nhw", encoder_output, c) / c.pow(2).sum(1).view(-1, 1, 1)


def segment_average(values: torch.Tensor, segments: torch.Tensor, n_segments: int | None = None) -> torch.Tensor:
    """Replace each value by the mean over its segment, per image: ``(N, H, W)`` -> ``(N, H, W)``.

    ``segments`` ``(N, H, W)`` holds integer ids in ``[0, n_segments)`` (default: up to the largest id);
    the per-segment means (and so the image's total) are preserved.
    """
    n = values.shape[0]
    n_ids = int(segments.max()) + 1 if n_segments is None else n_segments
    offsets = n_ids * torch.arange(n, device=values.device).view(-1, 1)
    ids = (segments.reshape(n, -1).long() + offsets).view(-1)
    sums = torch.bincount(ids, weights=values.reshape(-1).float(), minlength=n * n_ids)
    counts = torch.bincount(ids, minlength=n * n_ids)
    return (sums / counts.clamp_min(1))[ids].view_as(values)


def propagate_attribution(attribution: torch.Tensor, segment_maps: Sequence[torch.Tensor], n_segments: int | None = None) -> torch.Tensor:
    """Carry a coarse attribution map up to finer explanation maps by segment-wise averaging.

    ``attribution`` ``(N, H_B, W_B)`` at the encoder output; ``segment_maps`` the explanation maps
    ``s^(b)`` ``(N, H_b, W_b)`` from the deepest depth to the shallowest. At each depth the current map
    is upsampled (bilinear) to that depth's resolution and averaged within each segment, so the result
    is piecewise constant on the last map's segments (Sec. 3.3, "Feature Importance", steps 1-3).
    ``n_segments``: the number of prototypes, when known (spares a pass over the maps).
    """
    att = attribution
    for segments in segment_maps:
        if att.shape[-2:] != segments.shape[-2:]:
            att = F.interpolate(att.unsqueeze(1), size=segments.shape[-2:], mode="bilinear", align_corners=False).squeeze(1)
        att = segment_average(att, segments, n_segments)
    return att
