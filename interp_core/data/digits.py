"""The embedded ``digits`` dataset: scikit-learn's bundled handwritten digits (real data, 1,797 images),
upsampled from 8x8 to 28x28, with a seeded stratified train/test split; plus :func:`overlay_digits`, the
PIQ paper's digit mixture (the datasets built on it live in ``interp_core.data.digit_mixtures``)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from interp_core.data.base import DatasetInfo, Split, uint8_images_to_input

IMAGE_SIZE = 28
TEST_FRACTION = 0.2
CLASS_NAMES = tuple(str(d) for d in range(10))


def digits_info() -> DatasetInfo:
    return DatasetInfo(
        name="digits",
        kind="image",
        class_names=CLASS_NAMES,
        input_shape=(1, IMAGE_SIZE, IMAGE_SIZE),
        description="scikit-learn handwritten digits (UCI), 8x8 upsampled to 28x28, grayscale.",
    )


def _all_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    big = F.interpolate(small, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    images = (big.clamp(0, 1).mul(255).round().to(torch.uint8)).permute(0, 2, 3, 1).numpy()
    return images, bunch.target.astype(np.int64)


def load_digits_split(split: str = "train", *, seed: int = 0) -> Split:
    """One split of ``digits``: uint8 ``(N, 28, 28, 1)`` images, labels 0-9, stratified 80/20 split."""
    if split not in ("train", "test"):
        raise ValueError(f"Unknown split {split!r}; expected 'train' or 'test'.")
    images, labels = _all_digits()
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        rng.shuffle(idx)
        test[idx[: int(round(TEST_FRACTION * len(idx)))]] = True
    keep = test if split == "test" else ~test
    masks = images[keep, ..., 0] > 64
    return Split(digits_info(), images[keep], labels[keep], uint8_images_to_input, extras={"masks": masks})


def overlay_digits(
    a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray, weights: tuple[float, float] | np.ndarray | None = None
) -> torch.Tensor | np.ndarray:
    """Overlapping digit mixture (PIQ §3.3, Case 1) of two image batches of one shape, torch or numpy.

    Without ``weights``: the pixel-wise maximum. With ``weights`` ``(w_a, w_b)``, or one pair per image
    ``(N, 2)``: the weighted sum ``w_a a + w_b b`` of PIQ's equal-weight (v1) and 0.7/0.3 (v2) mixtures,
    which stays in the images' range when the weights sum to 1. Integer images give float sums.
    """
    if weights is None:
        return torch.maximum(a, b) if isinstance(a, torch.Tensor) else np.maximum(a, b)
    if isinstance(a, torch.Tensor):
        w = torch.as_tensor(weights, dtype=a.dtype if a.is_floating_point() else torch.float32, device=a.device)
    else:
        w = np.asarray(weights)
    if w.ndim == 2:
        w = w.reshape(w.shape[:1] + (1,) * (a.ndim - 1) + (2,))
    return w[..., 0] * a + w[..., 1] * b
