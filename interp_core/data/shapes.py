"""The embedded ``shapes`` datasets: RGB scenes (default 64x64) of one object on a textured background.

Classes are every combination of shape x colour x pattern (4 x 4 x 3 = 48), so every defining concept
is shared by 12 (a shape, a colour) or 16 (a pattern) classes, as bird parts are shared in CUB. Three
more concept groups vary inside a class with class-dependent rates, as CUB's per-image attributes do:
the object's size, a dark outline, and a white spot in the object's centre (a local concept with its
own part mask). The background is an annotated concept group too.

Every shape of a size class is drawn with the same distribution of areas (a small circle covers as
many pixels as a small cross) and its dark rim covers the same share of it, so colour histograms
cannot tell shapes apart (beyond the within-class rates): explanations have to find shape and pattern. Per sample: label, attribute vector, object mask (exactly the pixels the object was
drawn on), part mask (the spot), background id and a caption (``interp_core.data.captions``).
Generation is vectorised numpy in chunks, seeded and deterministic, and cached on disk.

``interp_core.data.scenes`` draws several of these objects per scene with :func:`sample_objects` and
:func:`draw_objects`; :func:`render_backgrounds` also serves other datasets' textured backgrounds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interp_core.data.base import DatasetInfo, Split, cached_arrays, params_hash, uint8_images_to_input
from interp_core.data.shape_vocabulary import (  # noqa: F401  (the dataset's public vocabulary)
    ATTRIBUTE_GROUPS,
    ATTRIBUTE_NAMES,
    BACKGROUNDS,
    CLASS_NAMES,
    COLORS,
    MARKS,
    OUTLINES,
    PATTERNS,
    SHAPES,
    SIZES,
    WITHIN_CLASS_GROUPS,
    class_attributes,
    group_values,
)

#: shapes-spurious: in train the background stands in for the shape (circle -> water, square -> grass,
#: triangle -> snow, cross -> night) 95% of the time.
SPURIOUS_BACKGROUNDS = np.array([2, 1, 4, 5], dtype=np.int64)
SPURIOUS_RATE = 0.95

IMAGE_SIZE = 64
NUM_TRAIN, NUM_TEST = 10_000, 2_000
_GENERATOR_VERSION = 2
_CHUNK = 500


def _class_parts(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised :func:`class_attributes`: three ``(n,)`` int arrays."""
    return labels // 12, (labels // 3) % 4, labels % 3


def _within_class_rates() -> np.ndarray:
    """``(48, 3)`` probability of the second value of each within-class group (large, dark, spot).

    The level (0.2, 0.5 or 0.8) of a class is ``(s + c + p)``, ``(s + 2c + 2p)`` and ``(2s + 2c + p)``
    mod 3 for its shape, colour and pattern indices: each level holds 16 classes in every group, and no
    single defining concept fixes a rate (the three patterns of a shape and colour see all three levels).
    """
    s, c, p = _class_parts(np.arange(len(CLASS_NAMES)))
    levels = np.array([0.2, 0.5, 0.8], dtype=np.float32)
    return np.stack([levels[(s + c + p) % 3], levels[(s + 2 * c + 2 * p) % 3], levels[(2 * s + 2 * c + p) % 3]], axis=1)


#: ``WITHIN_CLASS_RATES[label, g]``: probability that group ``g`` of ``WITHIN_CLASS_GROUPS`` takes its
#: second value (large, dark outline, spot) in an image of class ``label``.
WITHIN_CLASS_RATES = _within_class_rates()

# Object areas as fractions of the image, per size value; every shape shares them.
_AREA_RANGE = np.array([[0.080, 0.120], [0.140, 0.200]], dtype=np.float32)
# Circumradius / sqrt(area) per shape (circle, square, equilateral triangle, cross with arm half-width
# 0.4 of its half-length): keeps every object fully inside the image.
_CIRCUMRADIUS = np.array([1 / np.sqrt(np.pi), np.sqrt(0.5), 2 / 3 ** 0.75, 0.625 * np.sqrt(1.16)], dtype=np.float32)
# Objects stand roughly upright, as in photos: with free rotations the 12-epoch cnn-shapes recipe
# confused squares with triangles and circles (0.94 test accuracy instead of >= 0.95).
_MAX_TILT = np.pi / 6
_STRIPE_PERIOD, _DOT_PERIOD, _DOT_RADIUS = 0.09, 0.10, 0.03  # fractions of the image size
_RIM_WIDTH, _SPOT_RADIUS = 0.03, 0.045
# Perimeter / sqrt(area) per shape. The rim is drawn as wide as a square's rim times 4 / this, so that
# every shape's dark rim covers the same share of its pixels (no shape cue in colour histograms).
_PERIMETER = np.array([2 * np.sqrt(np.pi), 4.0, 2 * 3 ** 0.75, 5.0], dtype=np.float32)
_PATTERN_SHADE = 0.5  # stripes and dots: the object's colour darkened to this factor
_OBJECT_RGB = np.array([[0.92, 0.12, 0.10], [0.10, 0.85, 0.15], [0.12, 0.35, 1.00], [0.98, 0.88, 0.10]], dtype=np.float32)
_RIM_RGB = np.array([0.06, 0.06, 0.06], dtype=np.float32)
_SPOT_RGB = np.array([1.0, 1.0, 1.0], dtype=np.float32)

_BACKGROUND_RGB = np.array(
    [[0.80, 0.72, 0.56], [0.42, 0.52, 0.36], [0.36, 0.46, 0.58], [0.52, 0.50, 0.48], [0.90, 0.91, 0.94], [0.10, 0.10, 0.20]],
    dtype=np.float32,
)
# Texture amplitudes per background: smooth blotches, pixel grain, waves, wave frequency (cycles per
# image), wave angle (radians), vertical streaks (grass blades), speckles (stars; grey flecks on snow).
_BACKGROUND_TEXTURE = np.array(
    [
        [0.06, 0.06, 0.08, 5.0, 0.7, 0.00, 0.00],   # sand: grain and gentle diagonal dunes
        [0.06, 0.04, 0.00, 0.0, 0.0, 0.20, 0.00],   # grass: vertical blades
        [0.04, 0.03, 0.15, 8.0, 1.57, 0.00, 0.00],  # water: horizontal waves
        [0.20, 0.08, 0.00, 0.0, 0.0, 0.00, 0.00],   # rock: blotches
        [0.03, 0.02, 0.00, 0.0, 0.0, 0.00, -0.30],  # snow: smooth with grey flecks
        [0.10, 0.02, 0.00, 0.0, 0.0, 0.00, 0.75],   # night: stars
    ],
    dtype=np.float32,
)


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates ``(size, size)`` of pixel centres."""
    centres = np.arange(size, dtype=np.float32) + 0.5
    return np.meshgrid(centres, centres, indexing="ij")


def _smooth_noise(rng: np.random.Generator, n: int, size: int, cells_y: int, cells_x: int) -> np.ndarray:
    """``(n, size, size)`` standard-normal noise on a ``cells_y x cells_x`` grid, bilinearly upsampled."""
    coarse = rng.standard_normal((n, cells_y + 1, cells_x + 1)).astype(np.float32)

    def axis_weights(cells: int) -> tuple[np.ndarray, np.ndarray]:
        pos = np.linspace(0, cells, size, dtype=np.float32)
        low = np.minimum(pos.astype(np.int64), cells - 1)
        return low, (pos - low).astype(np.float32)

    iy, fy = axis_weights(cells_y)
    ix, fx = axis_weights(cells_x)
    rows = coarse[:, iy, :] * (1 - fy)[None, :, None] + coarse[:, iy + 1, :] * fy[None, :, None]
    return rows[:, :, ix] * (1 - fx)[None, None, :] + rows[:, :, ix + 1] * fx[None, None, :]


def render_backgrounds(rng: np.random.Generator, backgrounds: np.ndarray, size: int) -> np.ndarray:
    """Textured backgrounds ``(N, size, size, 3)`` float32 in [0, 1] for background ids ``(N,)``.

    Each texture is its base colour (jittered per image) shaded by blotches, grain, waves and streaks
    and dotted with speckles, in the proportions of ``_BACKGROUND_TEXTURE``.
    """
    backgrounds = np.asarray(backgrounds, dtype=np.int64)
    n = backgrounds.shape[0]
    yy, xx = _pixel_grid(size)
    tex = _BACKGROUND_TEXTURE[backgrounds][:, :, None, None]
    blotch = _smooth_noise(rng, n, size, 6, 6)
    grain = rng.standard_normal((n, size, size)).astype(np.float32)
    streak = _smooth_noise(rng, n, size, 2, max(4, size // 3))
    angle = tex[:, 4] + rng.uniform(-0.25, 0.25, (n, 1, 1)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    along = (xx * np.cos(angle) + yy * np.sin(angle)) * (2 * np.pi / size)
    waves = np.sin(tex[:, 3] * along + phase + 0.8 * blotch)
    shade = 1.0 + tex[:, 0] * blotch + tex[:, 1] * grain + tex[:, 2] * waves + tex[:, 5] * streak
    speckles = rng.random((n, size, size), dtype=np.float32) < 0.012
    base = _BACKGROUND_RGB[backgrounds] * rng.uniform(0.9, 1.1, (n, 1)).astype(np.float32)
    base = base + rng.uniform(-0.03, 0.03, (n, 3)).astype(np.float32)
    image = base[:, None, None, :] * shade[..., None] + (tex[:, 6] * speckles)[..., None]
    return np.clip(image, 0.0, 1.0)


@dataclass(frozen=True)
class Objects:
    """One object per image of a batch; every field has ``n`` rows, coordinates are in pixels.

    ``large``, ``outline`` and ``mark`` are the within-class concepts (bool ``(n,)``); ``area`` the
    object's area, ``center`` its ``(row, column)``, ``angle`` its rotation (radians), ``rgb`` its
    jittered colour ``(n, 3)`` and ``texture_phase`` the offset of its stripes or dots ``(n, 2)``.
    """

    shape: np.ndarray
    color: np.ndarray
    pattern: np.ndarray
    large: np.ndarray
    outline: np.ndarray
    mark: np.ndarray
    area: np.ndarray
    center: np.ndarray
    angle: np.ndarray
    rgb: np.ndarray
    texture_phase: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return self.shape * 12 + self.color * 3 + self.pattern

    @property
    def circumradius(self) -> np.ndarray:
        return _CIRCUMRADIUS[self.shape] * np.sqrt(self.area)

    def values(self) -> dict[str, np.ndarray]:
        """Value index ``(n,)`` of every object concept group (all groups but the background)."""
        return {"shape": self.shape, "color": self.color, "pattern": self.pattern, "size": self.large.astype(np.int64),
                "outline": self.outline.astype(np.int64), "mark": self.mark.astype(np.int64)}


def sample_objects(rng: np.random.Generator, labels: np.ndarray, size: int, *, area_scale: float = 1.0) -> Objects:
    """Draw one object of each class in ``labels`` ``(n,)``: within-class concepts from the class's
    rates, area from its size range (times ``area_scale``), a position that keeps it fully inside the
    ``size x size`` image, a tilt of at most 30 degrees and a jittered colour."""
    labels = np.asarray(labels, dtype=np.int64)
    n = labels.shape[0]
    shape, color, pattern = _class_parts(labels)
    within = rng.random((n, len(WITHIN_CLASS_GROUPS)), dtype=np.float32) < WITHIN_CLASS_RATES[labels]
    large, outline, mark = within.T
    lo, hi = _AREA_RANGE[large.astype(np.int64)].T
    area = rng.uniform(lo, hi).astype(np.float32) * area_scale * size * size
    reach = _CIRCUMRADIUS[shape] * np.sqrt(area) + 1.0
    center = rng.uniform(reach[:, None], size - reach[:, None], (n, 2)).astype(np.float32)
    rgb = _OBJECT_RGB[color] + rng.uniform(-0.06, 0.06, (n, 3)).astype(np.float32)
    rgb = np.clip(rgb * rng.uniform(0.9, 1.05, (n, 1)).astype(np.float32), 0.0, 1.0)
    return Objects(
        shape=shape, color=color, pattern=pattern, large=large, outline=outline, mark=mark, area=area, center=center,
        angle=rng.uniform(-_MAX_TILT, _MAX_TILT, n).astype(np.float32), rgb=rgb,
        texture_phase=rng.random((n, 2), dtype=np.float32),
    )


def _inner_depth(shape: int, u: np.ndarray, v: np.ndarray, root_area: np.ndarray) -> np.ndarray:
    """How far ``(u, v)`` (object frame, pixels) lies inside the shape (negative outside), for objects
    of one shape with ``sqrt(area)`` ``root_area`` ``(m, 1, 1)``."""
    if shape == 0:  # circle of area pi r^2
        return root_area / np.sqrt(np.pi) - np.sqrt(u * u + v * v)
    if shape == 1:  # square of side sqrt(area)
        return 0.5 * root_area - np.maximum(np.abs(u), np.abs(v))
    if shape == 2:  # equilateral triangle of area 3 sqrt(3) rho^2 (rho: inradius), three half-planes
        rho = root_area / np.sqrt(3 * np.sqrt(3))
        reach = np.maximum(np.maximum(v, -0.5 * v + 0.866 * u), -0.5 * v - 0.866 * u)
        return rho - reach
    # cross: two bars of half-length L and half-width 0.4 L, area 2.56 L^2
    half_length = 0.625 * root_area
    half_width = 0.4 * half_length
    au, av = np.abs(u), np.abs(v)
    return np.maximum(np.minimum(half_width - au, half_length - av), np.minimum(half_width - av, half_length - au))


def draw_objects(rng: np.random.Generator, canvas: np.ndarray, objects: Objects) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw object ``i`` onto image ``i`` of ``canvas`` ``(n, H, W, 3)`` float32 (not modified).

    Returns the new images, the object masks ``(n, H, W)`` bool (exactly the pixels that now carry the
    object) and the part masks of the spot (all-False where an object has none).
    """
    n, size = canvas.shape[0], canvas.shape[1]
    yy, xx = _pixel_grid(size)
    dy, dx = yy[None] - objects.center[:, 0, None, None], xx[None] - objects.center[:, 1, None, None]
    cos, sin = np.cos(objects.angle)[:, None, None], np.sin(objects.angle)[:, None, None]
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    root_area = np.sqrt(objects.area)[:, None, None]
    depth = np.empty((n, size, size), dtype=np.float32)
    for shape in range(len(SHAPES)):
        sel = np.flatnonzero(objects.shape == shape)
        if sel.size:
            depth[sel] = _inner_depth(shape, u[sel], v[sel], root_area[sel])
    inside = depth >= 0

    phase_u, phase_v = objects.texture_phase[:, 0, None, None], objects.texture_phase[:, 1, None, None]
    stripes = np.mod(u / (_STRIPE_PERIOD * size) + phase_u, 1.0) < 0.5
    grid_u = np.mod(u / (_DOT_PERIOD * size) + phase_u, 1.0) - 0.5
    grid_v = np.mod(v / (_DOT_PERIOD * size) + phase_v, 1.0) - 0.5
    dots = grid_u ** 2 + grid_v ** 2 < (_DOT_RADIUS / _DOT_PERIOD) ** 2
    pattern = objects.pattern[:, None, None]
    dark = ((pattern == 1) & stripes) | ((pattern == 2) & dots)
    shade = np.where(dark, np.float32(_PATTERN_SHADE), np.float32(1.0))
    shade = shade * (1.0 + 0.03 * rng.standard_normal((n, size, size), dtype=np.float32))
    color = objects.rgb[:, None, None, :] * shade[..., None]

    rim_width = _RIM_WIDTH * size * 4.0 / _PERIMETER[objects.shape]
    rim = objects.outline[:, None, None] & (depth < rim_width[:, None, None])
    part = objects.mark[:, None, None] & (u * u + v * v < (_SPOT_RADIUS * size) ** 2) & inside
    color = np.where(rim[..., None], _RIM_RGB, color)
    color = np.where(part[..., None], _SPOT_RGB, color)
    return np.where(inside[..., None], color, canvas), inside, part


def attribute_matrix(values: dict[str, np.ndarray]) -> np.ndarray:
    """Binary attribute vectors ``(n, A)`` uint8 in ``ATTRIBUTE_NAMES`` order from the value index
    ``(n,)`` of each group in ``values`` (a group left out, or a value of -1, sets nothing)."""
    n = next(iter(values.values())).shape[0]
    out = np.zeros((n, len(ATTRIBUTE_NAMES)), dtype=np.uint8)
    offset = 0
    for group, names in ATTRIBUTE_GROUPS.items():
        if group in values:
            index = np.asarray(values[group], dtype=np.int64)
            rows = np.flatnonzero(index >= 0)
            out[rows, offset + index[rows]] = 1
        offset += len(names)
    return out


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] -> uint8 (rounded)."""
    return (np.clip(images, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def split_code(split: str) -> int:
    """0 for train, 1 for test; a clear error otherwise."""
    if split not in ("train", "test"):
        raise ValueError(f"Unknown split {split!r}; expected 'train' or 'test'.")
    return {"train": 0, "test": 1}[split]


def _generate(split: str, n: int, seed: int, spurious: bool, size: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, split_code(split), int(spurious)])
    labels = np.arange(n) % len(CLASS_NAMES)
    rng.shuffle(labels)
    backgrounds = rng.integers(0, len(BACKGROUNDS), n)
    if spurious and split == "train":
        # TravelingBirds: in train the background follows the shape; in test it is random.
        follow = rng.random(n) < SPURIOUS_RATE
        backgrounds = np.where(follow, SPURIOUS_BACKGROUNDS[labels // 12], backgrounds)
    images, masks, parts, values = [], [], [], []
    for start in range(0, n, _CHUNK):
        chunk = slice(start, min(n, start + _CHUNK))
        objects = sample_objects(rng, labels[chunk], size)
        image, mask, part = draw_objects(rng, render_backgrounds(rng, backgrounds[chunk], size), objects)
        images.append(to_uint8(image)), masks.append(mask), parts.append(part), values.append(objects.values())
    per_group = {group: np.concatenate([v[group] for v in values]) for group in values[0]}
    return {
        "images": np.concatenate(images),
        "labels": labels.astype(np.int64),
        "masks": np.concatenate(masks),
        "part_masks": np.concatenate(parts),
        "attributes": attribute_matrix({**per_group, "background": backgrounds}),
        "backgrounds": backgrounds.astype(np.int64),
    }


def shapes_info(name: str = "shapes", size: int = IMAGE_SIZE) -> DatasetInfo:
    spurious = " In train the background stands in for the shape 95% of the time." if name == "shapes-spurious" else ""
    return DatasetInfo(
        name=name,
        kind="image",
        class_names=CLASS_NAMES,
        input_shape=(3, size, size),
        attribute_names=ATTRIBUTE_NAMES,
        background_names=BACKGROUNDS,
        description="Synthetic scenes of one object: 48 shape x colour x pattern classes; size, outline and spot vary "
                    "inside a class; textured backgrounds; object and part masks, captions." + spurious,
    )


def load_shapes(
    split: str = "train",
    *,
    spurious: bool = False,
    seed: int = 0,
    num_samples: int | None = None,
    size: int = IMAGE_SIZE,
    name: str = "shapes",
) -> Split:
    """Generate (or load from cache) one split of ``shapes`` / ``shapes-spurious``.

    Extras: ``attributes`` ``(N, A)`` uint8, ``masks`` and ``part_masks`` ``(N, H, W)`` bool,
    ``backgrounds`` ``(N,)`` int64; ``captions`` one string per sample.
    """
    from interp_core.data.captions import shape_captions  # captions build on this module's vocabulary

    split_code(split)
    n = num_samples or (NUM_TRAIN if split == "train" else NUM_TEST)
    params = dict(v=_GENERATOR_VERSION, split=split, n=n, seed=seed, spurious=spurious, size=size)
    arrays = cached_arrays(f"shapes-{params_hash(params)}", lambda: _generate(split, n, seed, spurious, size))
    return Split(
        info=shapes_info(name, size),
        data=arrays["images"],
        labels=arrays["labels"],
        to_input=uint8_images_to_input,
        extras={k: arrays[k] for k in ("masks", "part_masks", "attributes", "backgrounds")},
        captions=shape_captions(arrays["labels"], arrays["attributes"], seed=seed, split=split),
    )
