"""The embedded ``shapes`` datasets: 64x64 RGB scenes with one object on a textured background.

Classes are combinations of attributes (shape x color x pattern = 24 classes), so concepts are shared
between classes as bird parts are shared in CUB. Every sample carries its ground truth: attribute vector,
object mask and background id. Generation is vectorised numpy, seeded and deterministic.
"""
from __future__ import annotations

import numpy as np

from interp_core.data.base import DatasetInfo, Split, cached_arrays, params_hash, uint8_images_to_input

SHAPES = ("circle", "square", "triangle", "cross")
COLORS = ("red", "green", "blue")
PATTERNS = ("plain", "striped")
SIZES = ("small", "large")
BACKGROUNDS = ("sand", "grass", "water", "rock", "snow", "night")

CLASS_NAMES = tuple(f"{c} {p} {s}" for s in SHAPES for c in COLORS for p in PATTERNS)
ATTRIBUTE_NAMES = (
    tuple(f"shape::{s}" for s in SHAPES)
    + tuple(f"color::{c}" for c in COLORS)
    + tuple(f"pattern::{p}" for p in PATTERNS)
    + tuple(f"size::{z}" for z in SIZES)
)

_OBJECT_RGB = np.array([[0.88, 0.16, 0.14], [0.16, 0.80, 0.22], [0.15, 0.30, 0.92]], dtype=np.float32)
# Muted base colours and texture parameters (noise amplitude, wave amplitude, wave frequency, wave angle).
_BACKGROUND_RGB = np.array(
    [[0.76, 0.68, 0.50], [0.38, 0.50, 0.30], [0.30, 0.42, 0.56], [0.50, 0.48, 0.46], [0.88, 0.89, 0.92], [0.10, 0.10, 0.18]],
    dtype=np.float32,
)
_BACKGROUND_TEXTURE = np.array(
    [[0.18, 0.05, 0.9, 0.3], [0.10, 0.20, 1.6, 1.57], [0.05, 0.22, 0.5, 0.0], [0.30, 0.0, 0.0, 0.0], [0.06, 0.03, 0.3, 0.8], [0.05, 0.0, 0.0, 0.0]],
    dtype=np.float32,
)
IMAGE_SIZE = 64
NUM_TRAIN, NUM_TEST = 10_000, 2_000
_GENERATOR_VERSION = 1


def class_attributes(label: int) -> tuple[int, int, int]:
    """(shape, color, pattern) indices of a class."""
    return label // 6, (label % 6) // 2, label % 2


def _lowfreq_noise(rng: np.random.Generator, n: int, size: int, cells: int = 8) -> np.ndarray:
    coarse = rng.standard_normal((n, cells + 1, cells + 1)).astype(np.float32)
    pos = np.linspace(0, cells, size, dtype=np.float32)
    i0 = np.minimum(pos.astype(np.int64), cells - 1)
    frac = pos - i0
    rows = coarse[:, i0, :] * (1 - frac)[None, :, None] + coarse[:, i0 + 1, :] * frac[None, :, None]
    return rows[:, :, i0] * (1 - frac)[None, None, :] + rows[:, :, i0 + 1] * frac[None, None, :]


def _render(rng: np.random.Generator, labels: np.ndarray, backgrounds: np.ndarray, size: int):
    """Render one chunk. Returns uint8 images (n, size, size, 3), bool masks, large-size flags."""
    n = labels.shape[0]
    shape_id, color_id, pattern_id = labels // 6, (labels % 6) // 2, labels % 2
    yy, xx = np.meshgrid(np.arange(size, dtype=np.float32) + 0.5, np.arange(size, dtype=np.float32) + 0.5, indexing="ij")

    # Background: base colour modulated by low-frequency noise, pixel noise and oriented waves.
    tex = _BACKGROUND_TEXTURE[backgrounds]
    low = _lowfreq_noise(rng, n, size)
    fine = rng.standard_normal((n, size, size)).astype(np.float32)
    angle = tex[:, 3, None, None]
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    waves = np.sin(tex[:, 2, None, None] * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
    shade = 1.0 + 0.12 * low + tex[:, 0, None, None] * fine + tex[:, 1, None, None] * waves
    base = _BACKGROUND_RGB[backgrounds] * rng.uniform(0.9, 1.1, (n, 1)).astype(np.float32)
    image = base[:, None, None, :] * shade[..., None]

    # Object geometry in its own rotated frame (u, v).
    radius = rng.uniform(0.16, 0.28, n).astype(np.float32) * size
    large = radius > 0.22 * size
    margin = radius + 2
    cx = rng.uniform(margin, size - margin).astype(np.float32)
    cy = rng.uniform(margin, size - margin).astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi, n).astype(np.float32)
    dx, dy = xx[None] - cx[:, None, None], yy[None] - cy[:, None, None]
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    r = radius[:, None, None]
    inside = np.zeros((n, size, size), dtype=bool)
    sel = shape_id == 0
    inside[sel] = (u[sel] ** 2 + v[sel] ** 2) <= r[sel] ** 2
    sel = shape_id == 1
    inside[sel] = np.maximum(np.abs(u[sel]), np.abs(v[sel])) <= 0.8 * r[sel]
    sel = shape_id == 2
    tri = np.ones_like(u[sel], dtype=bool)
    for k in range(3):  # equilateral triangle: three half-planes at the inradius r/2
        a = np.pi / 2 + 2 * np.pi * k / 3
        tri &= (u[sel] * np.cos(a) + v[sel] * np.sin(a)) <= 0.5 * r[sel]
    inside[sel] = tri
    sel = shape_id == 3
    au, av, rs = np.abs(u[sel]), np.abs(v[sel]), r[sel]
    inside[sel] = ((au <= 0.33 * rs) & (av <= rs)) | ((av <= 0.33 * rs) & (au <= rs))

    rgb = _OBJECT_RGB[color_id] + rng.uniform(-0.08, 0.08, (n, 3)).astype(np.float32)
    rgb = rgb * rng.uniform(0.8, 1.1, (n, 1)).astype(np.float32)
    stripes = np.sin(2 * np.pi * u / 6.0) > 0
    dark = stripes & (pattern_id == 1)[:, None, None]
    obj = rgb[:, None, None, :] * np.where(dark, 0.4, 1.0)[..., None].astype(np.float32)
    obj = obj * (1.0 + 0.04 * fine[..., None])
    image = np.where(inside[..., None], obj, image)
    image += rng.normal(0, 0.02, image.shape).astype(np.float32)
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), inside, large


def _generate(split: str, n: int, seed: int, spurious: bool, size: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, {"train": 0, "test": 1}[split], int(spurious)])
    labels = np.arange(n) % len(CLASS_NAMES)
    rng.shuffle(labels)
    backgrounds = rng.integers(0, len(BACKGROUNDS), n)
    if spurious and split == "train":
        # TravelingBirds: in train the background follows the class 95% of the time; in test it is random.
        follow = rng.random(n) < 0.95
        backgrounds = np.where(follow, labels % len(BACKGROUNDS), backgrounds)
    images, masks, larges = [], [], []
    for start in range(0, n, 1000):
        stop = min(n, start + 1000)
        img, mask, large = _render(rng, labels[start:stop], backgrounds[start:stop], size)
        images.append(img), masks.append(mask), larges.append(large)
    large = np.concatenate(larges)
    shape_id, color_id, pattern_id = labels // 6, (labels % 6) // 2, labels % 2
    attributes = np.zeros((n, len(ATTRIBUTE_NAMES)), dtype=np.uint8)
    rows = np.arange(n)
    attributes[rows, shape_id] = 1
    attributes[rows, len(SHAPES) + color_id] = 1
    attributes[rows, len(SHAPES) + len(COLORS) + pattern_id] = 1
    attributes[rows, len(SHAPES) + len(COLORS) + len(PATTERNS) + large.astype(int)] = 1
    return {
        "images": np.concatenate(images),
        "labels": labels.astype(np.int64),
        "masks": np.concatenate(masks),
        "attributes": attributes,
        "backgrounds": backgrounds.astype(np.int64),
    }


def caption(label: int, attributes: np.ndarray, background: int) -> str:
    """A caption built from ground truth, e.g. ``"a large red striped circle on sand"``."""
    size = "large" if attributes[-1] else "small"
    return f"a {size} {CLASS_NAMES[label]} on {BACKGROUNDS[background]}"


def shapes_info(name: str = "shapes", size: int = IMAGE_SIZE) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        kind="image",
        class_names=CLASS_NAMES,
        input_shape=(3, size, size),
        attribute_names=ATTRIBUTE_NAMES,
        background_names=BACKGROUNDS,
        description="Synthetic scenes: shape x color x pattern classes on textured backgrounds, with masks.",
    )


def load_shapes(
    split: str = "train",
    *,
    spurious: bool = False,
    captions: bool = False,
    seed: int = 0,
    num_samples: int | None = None,
    size: int = IMAGE_SIZE,
    name: str = "shapes",
) -> Split:
    """Generate (or load from cache) one split of ``shapes``/``shapes-spurious``/``shapes-captions``."""
    if split not in ("train", "test"):
        raise ValueError(f"Unknown split {split!r}; expected 'train' or 'test'.")
    n = num_samples or (NUM_TRAIN if split == "train" else NUM_TEST)
    params = dict(v=_GENERATOR_VERSION, split=split, n=n, seed=seed, spurious=spurious, size=size)
    key = f"shapes-{params_hash(params)}"
    arrays = cached_arrays(key, lambda: _generate(split, n, seed, spurious, size))
    texts = None
    if captions:
        texts = [caption(int(l), a, int(b)) for l, a, b in zip(arrays["labels"], arrays["attributes"], arrays["backgrounds"])]
    return Split(
        info=shapes_info(name, size),
        data=arrays["images"],
        labels=arrays["labels"],
        to_input=uint8_images_to_input,
        extras={k: arrays[k] for k in ("masks", "attributes", "backgrounds")},
        captions=texts,
    )
