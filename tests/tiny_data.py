"""A tiny image split for tests: each class is a bright square in its own colour channel."""
from __future__ import annotations

import numpy as np

from interp_core.data.base import DatasetInfo, Split, uint8_images_to_input


def tiny_split(n_per_class: int = 10, seed: int = 0, n_classes: int = 3, size: int = 16) -> Split:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    images = rng.integers(0, 60, (len(labels), size, size, 3), dtype=np.uint8)
    for i, y in enumerate(labels):
        top, left = rng.integers(0, size // 2, 2)
        images[i, top : top + size // 2, left : left + size // 2, y % 3] = 230
    info = DatasetInfo("tiny", "image", tuple(f"c{i}" for i in range(n_classes)), (3, size, size))
    return Split(info, images, labels, uint8_images_to_input)
