"""What a prototype looks like: a fixed colour per prototype and its representative training patch.

The explanation map colours each segment with its prototype's colour, and the representative patch of
that prototype is framed in the same colour (Fig. 1), so the two can be matched by eye.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
import torch

_GOLDEN = 0.618033988749895


def prototype_palette(n_classes: int, per_class: int) -> np.ndarray:
    """Fixed colours ``(C * per_class, 3)`` in [0, 1] for class-major prototypes.

    The prototypes of one class get evenly spaced hues (they share a map most often); each class
    rotates the hue wheel by the golden ratio so neighbouring classes differ too.
    """
    colors = np.empty((n_classes * per_class, 3), dtype=np.float32)
    for c in range(n_classes):
        for m in range(per_class):
            hue = (c * _GOLDEN + m / per_class) % 1.0
            saturation = 0.75 if c % 2 == 0 else 0.55
            value = 0.95 if (c // 2) % 2 == 0 else 0.8
            colors[c * per_class + m] = colorsys.hsv_to_rgb(hue, saturation, value)
    return colors


def segment_box(segments: np.ndarray, prototype: int, location: tuple[int, int], input_size: tuple[int, int], min_fraction: float = 0.25) -> np.ndarray:
    """Bounding box ``(y0, x0, y1, x1)`` in input pixels of the connected segment of ``prototype`` that
    contains ``location`` (row, col) on the low-resolution map ``segments`` ``(h, w)``.

    The box grows (centred, clipped to the image) to at least ``min_fraction`` of the input side so a
    one-cell segment still shows some context.
    """
    from scipy import ndimage

    h, w = segments.shape
    height, width = input_size
    mask = segments == prototype
    if not mask[location]:
        mask = np.zeros_like(mask)
        mask[location] = True
    components, _ = ndimage.label(mask)
    rows, cols = np.nonzero(components == components[location])
    sy, sx = height / h, width / w
    box = [rows.min() * sy, cols.min() * sx, (rows.max() + 1) * sy, (cols.max() + 1) * sx]
    for lo, hi, side in ((0, 2, height), (1, 3, width)):
        need = min_fraction * side - (box[hi] - box[lo])
        if need > 0:
            box[lo], box[hi] = box[lo] - need / 2, box[hi] + need / 2
            shift = max(0.0, -box[lo]) - max(0.0, box[hi] - side)
            box[lo], box[hi] = box[lo] + shift, box[hi] + shift
    return np.array([max(0, round(box[0])), max(0, round(box[1])), min(height, round(box[2])), min(width, round(box[3]))], dtype=np.int64)


@dataclass
class PrototypePatch:
    """The representative of one prototype: the training image ``image_index`` (train split) and the
    ``box`` ``(y0, x0, y1, x1)`` of its closest segment; ``color`` matches the explanation map."""

    prototype: int
    label: int
    image_index: int
    box: tuple[int, int, int, int]
    color: tuple[float, float, float]
    patch: np.ndarray | None = None

    @staticmethod
    def crop(image: torch.Tensor, box: tuple[int, int, int, int]) -> np.ndarray:
        """``(C, H, W)`` model input -> ``(h, w, C)`` float32 patch in [0, 1] (grey stays one channel)."""
        y0, x0, y1, x1 = box
        return image[:, y0:y1, x0:x1].permute(1, 2, 0).clamp(0, 1).cpu().numpy().astype(np.float32)
