"""``creatures``: our 2D analogue of FunnyBirds (Hesse et al., ICCV 2023), a part-based dataset whose scenes
are drawn from parameters, so that any scene can be drawn again with parts or distractors removed or on
another background: interventions without masking (``shared/reference/funnybirds-notes.md``).

A body common to every class (a round body with a head) carries five spatially separate parts, each with
several variants: ``beak`` (4 shapes), ``eye`` (3), ``wing`` (2 shapes x 3 colours), ``tail`` (3 shapes x 3
colours) and ``legs`` (4). A class is one variant per part. The 48 classes come in 24 pairs that differ in
exactly one part (the part cycles over the pairs), so every class is one part away from another, and every
variant is used by several classes. Pose (position, size, rotation) varies a little; backgrounds are the
textured backgrounds of ``shapes``; up to three background objects (distractors, in the parts' colours)
never touch the creature.

Per image (extras): ``part_map`` ``(N, H, W)`` uint8, the layer each pixel shows (0 background, 1 body,
2..6 the parts in :data:`PARTS` order, 7.. the distractors); ``masks`` (the creature: body and parts),
``part_variants`` ``(N, 5)`` (the class's, drawn or not), ``removed_parts`` ``(N, 5)`` (see below),
``attributes`` (one-hot variants of the parts drawn, ``part::variant`` names) and
``backgrounds``; the scene parameters (``center``, ``scale``, ``angle``, ``background_seed``,
``distractors``) from which :func:`render_scenes` draws any intervention.

Drawing is exact (hard edges, no anti-aliasing) and layered back to front, so removing a part changes only
the pixels it showed: they show what was behind it (the body, another part, or the background).

Training images carry FunnyBirds' augmentation (notes §1.3): half of them (:data:`TRAIN_REMOVAL_FRACTION`)
lose a random set of k parts, k uniform in 0..5, so that the part-removal interventions the benchmark scores
are in the training distribution; test images are always complete. ``removed_parts`` ``(N, 5)`` records
it (all False in test), ``part_map``, ``masks`` and ``attributes`` show only the parts drawn, and
``render_scenes(scenes_of(split), remove_parts=extras["removed_parts"])`` redraws every image exactly.
Deliberate difference: FunnyBirds trains on the set of classes consistent with the visible parts (CE
averaged over them, or a multi-hot BCE target); our training engine takes one int label per image, so a
training image keeps the class it was drawn from. Because every class is equally frequent and removal is
drawn independently of the class, the classes consistent with what is left are equally likely given the
image, so the expected single-label loss is FunnyBirds' consistent-set loss (CE averaged over the set; for
BCE the per-class target in expectation is 1/|set| on the set instead of 1): the same minimiser for CE,
reached with noisier gradients. :func:`consistent_classes` gives the sets, to score predictions on
intervened images.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from interp_core.data.base import DatasetInfo, Split, cached_arrays, params_hash, uint8_images_to_input
from interp_core.data.shapes import BACKGROUNDS, render_backgrounds, split_code, to_uint8

IMAGE_SIZE = 64
NUM_TRAIN_PER_CLASS = 200
NUM_TEST_PER_CLASS = 40
MAX_DISTRACTORS = 3
#: Share of training images that lose a random set of parts (FunnyBirds: 50%).
TRAIN_REMOVAL_FRACTION = 0.5
_GENERATOR_VERSION = 3

PARTS = ("beak", "eye", "wing", "tail", "legs")
_COLOURS = {"red": (0.85, 0.12, 0.10), "green": (0.12, 0.70, 0.18), "blue": (0.15, 0.30, 0.95)}
#: The variants of every part, in order: (name, shape, colour).
VARIANTS: dict[str, tuple[tuple[str, str, tuple[float, float, float]], ...]] = {
    "beak": tuple((s, s, (0.96, 0.80, 0.10)) for s in ("short", "long", "hooked", "wide")),
    "eye": (("dot", "dot", (0.05, 0.05, 0.05)), ("ring", "ring", (0.97, 0.97, 0.97)), ("bar", "bar", (0.05, 0.05, 0.05))),
    "wing": tuple((f"{s}-{c}", s, rgb) for s in ("round", "pointed") for c, rgb in _COLOURS.items()),
    "tail": tuple((f"{s}-{c}", s, rgb) for s in ("fan", "long", "forked") for c, rgb in _COLOURS.items()),
    "legs": tuple((s, s, (0.80, 0.45, 0.12)) for s in ("thin", "thick", "bent", "long")),
}
_BODY_RGB = np.array([0.58, 0.47, 0.36], dtype=np.float32)
_PUPIL_RGB = np.array([0.05, 0.05, 0.05], dtype=np.float32)
_DISTRACTOR_RGB = np.array([*_COLOURS.values(), (0.96, 0.80, 0.10)], dtype=np.float32)
#: The creature's centre on the canvas (row, column) before jitter, for a 64-pixel image.
_CENTRE = (30.0, 31.0)

BODY_LAYER = 1
#: ``part_map`` value of part ``p`` is ``FIRST_PART_LAYER + p``; of distractor ``d``, ``FIRST_DISTRACTOR_LAYER + d``.
FIRST_PART_LAYER = 2
FIRST_DISTRACTOR_LAYER = FIRST_PART_LAYER + len(PARTS)


def _class_table(seed: int = 0, pairs: int = 24) -> np.ndarray:
    """``(2 * pairs, 5)`` variant indices: ``pairs`` random classes, each with a twin that differs in exactly
    one part (the part cycles), all distinct, every variant used by at least two classes (seeded search)."""
    counts = [len(VARIANTS[p]) for p in PARTS]
    for attempt in itertools.count():
        rng = np.random.default_rng([seed, attempt])
        table: list[tuple[int, ...]] = []
        for k in range(pairs):
            base = tuple(int(rng.integers(c)) for c in counts)
            part = k % len(PARTS)
            twin = list(base)
            twin[part] = (base[part] + 1 + int(rng.integers(counts[part] - 1))) % counts[part]
            table += [base, tuple(twin)]
        array = np.array(table, dtype=np.int64)
        distinct = len({tuple(r) for r in table}) == len(table)
        shared = all(np.bincount(array[:, p], minlength=counts[p]).min() >= 2 for p in range(len(PARTS)))
        if distinct and shared:
            return array
    raise AssertionError("unreachable")


CLASS_VARIANTS = _class_table()
CLASS_NAMES = tuple(f"c{c:02d} " + "·".join(VARIANTS[p][v][0] for p, v in zip(PARTS, row))
                    for c, row in enumerate(CLASS_VARIANTS))
ATTRIBUTE_NAMES = tuple(f"{p}::{name}" for p in PARTS for name, _, _ in VARIANTS[p])


@dataclass(frozen=True)
class CreatureScenes:
    """The parameters of ``n`` scenes (every field has ``n`` rows): ``variants`` ``(n, 5)`` part variants,
    ``center`` ``(n, 2)`` (row, column, pixels), ``scale`` ``(n,)``, ``angle`` ``(n,)`` (radians),
    ``background`` ``(n,)`` background ids and ``background_seed`` ``(n,)`` (the texture's own seed), and
    ``distractors`` ``(n, MAX_DISTRACTORS, 5)`` float: present, kind (0 disc, 1 square, 2 triangle), colour
    index, row, column, radius (columns 0..5; absent ones are zeros)."""

    variants: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    angle: np.ndarray
    background: np.ndarray
    background_seed: np.ndarray
    distractors: np.ndarray

    def __len__(self) -> int:
        return int(self.variants.shape[0])

    def take(self, index) -> "CreatureScenes":
        return CreatureScenes(*(np.asarray(getattr(self, f))[index] for f in self.__dataclass_fields__))


@dataclass(frozen=True)
class Rendered:
    """Drawn scenes: ``images`` ``(n, H, W, 3)`` uint8 and ``part_map`` ``(n, H, W)`` uint8 (see the module)."""

    images: np.ndarray
    part_map: np.ndarray


# ----------------------------------------------------------------------------- geometry (creature coordinates)
# Creature coordinates: x to the right (the beak's side), y down, in pixels at scale 1 of a 64-pixel image.

def _inside_polygon(x: np.ndarray, y: np.ndarray, vertices) -> np.ndarray:
    """Even-odd rule for a convex or concave polygon ``[(x, y), ...]``."""
    inside = np.zeros(x.shape, dtype=bool)
    points = list(vertices)
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = (x2 - x1) * (y - y1) / (y2 - y1) + x1
        inside ^= crosses & (x < at)
    return inside


def _inside_ellipse(x, y, cx, cy, ax, ay) -> np.ndarray:
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0


def _near_segment(x, y, a, b, width) -> np.ndarray:
    (x1, y1), (x2, y2) = a, b
    dx, dy = x2 - x1, y2 - y1
    t = np.clip(((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return (x - x1 - t * dx) ** 2 + (y - y1 - t * dy) ** 2 <= (width / 2) ** 2


def _body(x, y) -> np.ndarray:
    return _inside_ellipse(x, y, 0.0, 0.0, 11.0, 7.0) | _inside_ellipse(x, y, 11.0, -6.0, 5.0, 5.0)


def _part(part: str, shape: str, x, y) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels of one part variant ``(..)`` bool, and of a dark detail drawn on it (the eye's pupil) or None."""
    if part == "beak":
        tips = {"short": [(15.0, -8.0), (15.0, -4.0), (20.0, -6.0)], "long": [(15.0, -7.5), (15.0, -4.5), (24.5, -6.0)],
                "hooked": [(15.0, -8.0), (15.0, -4.0), (18.0, -3.0), (21.0, -1.5), (19.5, -5.5)],
                "wide": [(15.0, -10.0), (15.0, -2.0), (19.5, -6.0)]}
        return _inside_polygon(x, y, tips[shape]), None
    if part == "eye":
        if shape == "dot":
            return _inside_ellipse(x, y, 12.5, -7.5, 2.1, 2.1), None
        if shape == "ring":
            return _inside_ellipse(x, y, 12.5, -7.5, 2.6, 2.6), _inside_ellipse(x, y, 12.5, -7.5, 1.1, 1.1)
        return (np.abs(x - 12.5) <= 3.0) & (np.abs(y + 7.5) <= 0.75), None
    if part == "wing":
        if shape == "round":
            return _inside_ellipse(x, y, -1.5, -1.0, 6.5, 3.8), None
        return _inside_polygon(x, y, [(-8.0, -2.5), (5.5, -4.5), (-1.0, 2.5)]), None
    if part == "tail":
        shapes = {"fan": [[(-10.0, 0.0), (-18.5, -7.0), (-18.5, 5.0)]],
                  "long": [[(-10.0, -1.5), (-21.0, -3.0), (-21.0, 0.0), (-10.0, 1.5)]],
                  "forked": [[(-10.0, -0.5), (-19.0, -6.5), (-16.0, -0.5)], [(-10.0, 0.5), (-16.0, 0.5), (-19.0, 6.5)]]}
        return np.logical_or.reduce([_inside_polygon(x, y, p) for p in shapes[shape]]), None
    legs = {"thin": (1.2, [((-3.0, 6.0), (-3.0, 12.5)), ((3.0, 6.0), (3.0, 12.5))]),
            "thick": (2.8, [((-3.0, 6.0), (-3.0, 12.5)), ((3.0, 6.0), (3.0, 12.5))]),
            "bent": (1.4, [((-3.0, 6.0), (-5.0, 9.5)), ((-5.0, 9.5), (-2.5, 12.5)), ((3.0, 6.0), (1.0, 9.5)), ((1.0, 9.5), (3.5, 12.5))]),
            "long": (1.2, [((-3.0, 6.0), (-6.0, 16.0)), ((3.0, 6.0), (6.0, 16.0))])}
    width, segments = legs[shape]
    return np.logical_or.reduce([_near_segment(x, y, a, b, width) for a, b in segments]), None


#: Back-to-front order of the layers: legs and tail behind the body, wing, eye and beak in front of it.
_BEHIND_BODY = ("legs", "tail")
_IN_FRONT = ("wing", "eye", "beak")


# ----------------------------------------------------------------------------- drawing


def _local_coordinates(scenes: CreatureScenes, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Creature coordinates ``(n, size, size)`` of every pixel centre of every scene."""
    centres = np.arange(size, dtype=np.float32) + 0.5
    rows, cols = np.meshgrid(centres, centres, indexing="ij")
    dy = rows[None] - scenes.center[:, 0, None, None]
    dx = cols[None] - scenes.center[:, 1, None, None]
    cos, sin = np.cos(scenes.angle)[:, None, None], np.sin(scenes.angle)[:, None, None]
    unit = (size / IMAGE_SIZE) * scenes.scale[:, None, None]
    return (cos * dx + sin * dy) / unit, (-sin * dx + cos * dy) / unit


def _distractor_masks(scenes: CreatureScenes, size: int) -> np.ndarray:
    """``(n, MAX_DISTRACTORS, size, size)`` bool pixels of every present distractor."""
    centres = np.arange(size, dtype=np.float32) + 0.5
    rows, cols = np.meshgrid(centres, centres, indexing="ij")
    d = scenes.distractors
    present, kind = d[..., 0] > 0, d[..., 1].astype(np.int64)
    dy, dx, r = (rows - d[..., 3, None, None]), (cols - d[..., 4, None, None]), d[..., 5, None, None]
    disc = dx ** 2 + dy ** 2 <= r ** 2
    square = (np.abs(dx) <= 0.85 * r) & (np.abs(dy) <= 0.85 * r)
    triangle = (dy <= 0.7 * r) & (dy >= -r + 1.6 * np.abs(dx))
    shapes = np.stack([disc, square, triangle], 0)  # (3, n, D, H, W)
    chosen = np.take_along_axis(shapes, kind[None, ..., None, None], 0)[0]
    return chosen & present[..., None, None]


def render_scenes(scenes: CreatureScenes, *, remove_parts: np.ndarray | None = None, remove_distractors: np.ndarray | None = None,
                  background: np.ndarray | None = None, size: int = IMAGE_SIZE) -> Rendered:
    """Draw ``scenes``: the interventions API. ``remove_parts`` ``(n, 5)`` bool (or ``(5,)`` for all scenes)
    leaves those parts out; ``remove_distractors`` ``(n, MAX_DISTRACTORS)`` (or ``(MAX_DISTRACTORS,)``) those
    background objects; ``background`` ``(n,)`` ids draws another background (a new texture of that id).
    Everything not removed is drawn exactly as in the original scene."""
    n = len(scenes)
    remove_parts = np.broadcast_to(np.zeros(len(PARTS), bool) if remove_parts is None else np.asarray(remove_parts, bool), (n, len(PARTS)))
    remove_distractors = np.broadcast_to(np.zeros(MAX_DISTRACTORS, bool) if remove_distractors is None
                                         else np.asarray(remove_distractors, bool), (n, MAX_DISTRACTORS))
    backgrounds = scenes.background if background is None else np.broadcast_to(np.asarray(background, np.int64), (n,))
    seeds = scenes.background_seed if background is None else scenes.background_seed + 7919 * (backgrounds + 1)
    canvas = np.concatenate([render_backgrounds(np.random.default_rng(int(s)), np.array([b]), size)
                             for s, b in zip(seeds, backgrounds)]) if n else np.zeros((0, size, size, 3), np.float32)
    layer = np.zeros((n, size, size), dtype=np.uint8)
    distractors = _distractor_masks(scenes, size) & ~remove_distractors[..., None, None]
    for k in range(MAX_DISTRACTORS):
        colour = _DISTRACTOR_RGB[scenes.distractors[:, k, 2].astype(np.int64)]
        on = distractors[:, k]
        canvas[on] = np.broadcast_to(colour[:, None, None, :], canvas.shape)[on]
        layer[on] = FIRST_DISTRACTOR_LAYER + k
    x, y = _local_coordinates(scenes, size)

    def paint(mask: np.ndarray, rgb: np.ndarray, value: int) -> None:
        canvas[mask] = np.broadcast_to(rgb[:, None, None, :] if rgb.ndim == 2 else rgb, canvas.shape)[mask]
        layer[mask] = value

    def draw_part(part: str) -> None:
        p = PARTS.index(part)
        for v, (_, shape, rgb) in enumerate(VARIANTS[part]):
            rows = (scenes.variants[:, p] == v) & ~remove_parts[:, p]
            if not rows.any():
                continue
            mask, detail = _part(part, shape, x[rows], y[rows])
            full = np.zeros((n, size, size), dtype=bool)
            full[rows] = mask
            paint(full, np.asarray(rgb, np.float32), FIRST_PART_LAYER + p)
            if detail is not None:  # the pupil belongs to the eye
                full[rows] = detail
                paint(full, _PUPIL_RGB, FIRST_PART_LAYER + p)

    for part in _BEHIND_BODY:
        draw_part(part)
    paint(_body(x, y), _BODY_RGB, BODY_LAYER)
    for part in _IN_FRONT:
        draw_part(part)
    return Rendered(to_uint8(canvas), layer)


def part_masks(part_map: np.ndarray) -> np.ndarray:
    """``(n, 5, H, W)`` bool: the pixels each part shows, from ``part_map`` ``(n, H, W)``."""
    return np.stack([part_map == FIRST_PART_LAYER + p for p in range(len(PARTS))], 1)


def distractor_masks(part_map: np.ndarray) -> np.ndarray:
    """``(n, MAX_DISTRACTORS, H, W)`` bool: the pixels each distractor shows."""
    return np.stack([part_map == FIRST_DISTRACTOR_LAYER + k for k in range(MAX_DISTRACTORS)], 1)


def consistent_classes(variants: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """``(n, C)`` bool: the classes whose part variants agree with every part still drawn, from ``variants``
    ``(n, 5)`` and ``removed`` ``(n, 5)`` bool (or ``(5,)`` for all); a removed part matches any variant
    (FunnyBirds' consistent label set). The drawn class is always among them."""
    variants = np.asarray(variants)
    removed = np.broadcast_to(np.asarray(removed, bool), variants.shape)
    agree = (CLASS_VARIANTS[None, :, :] == variants[:, None, :]) | removed[:, None, :]
    return agree.all(-1)


# ----------------------------------------------------------------------------- sampling scenes


def sample_scenes(rng: np.random.Generator, labels: np.ndarray, size: int = IMAGE_SIZE) -> CreatureScenes:
    """Scenes for ``labels`` ``(n,)``: a small pose jitter, a background, and 0..3 distractors placed where
    they do not touch the creature (drawn first without distractors to know where it is)."""
    n = len(labels)
    centre = np.array(_CENTRE, dtype=np.float32) * size / IMAGE_SIZE
    scenes = CreatureScenes(
        variants=CLASS_VARIANTS[labels],
        center=(centre + rng.uniform(-3.5, 3.5, (n, 2)) * size / IMAGE_SIZE).astype(np.float32),
        scale=rng.uniform(0.9, 1.08, n).astype(np.float32),
        angle=rng.uniform(-0.22, 0.22, n).astype(np.float32),
        background=rng.integers(0, len(BACKGROUNDS), n).astype(np.int64),
        background_seed=rng.integers(0, 2**31 - 1, n).astype(np.int64),
        distractors=np.zeros((n, MAX_DISTRACTORS, 6), dtype=np.float32),
    )
    creature = render_scenes(scenes, size=size).part_map > 0
    grown = creature.copy()  # keep one free pixel between a distractor and the creature
    grown[:, 1:] |= creature[:, :-1]
    grown[:, :-1] |= creature[:, 1:]
    grown[:, :, 1:] |= creature[:, :, :-1]
    grown[:, :, :-1] |= creature[:, :, 1:]
    centres = np.arange(size, dtype=np.float32) + 0.5
    rows, cols = np.meshgrid(centres, centres, indexing="ij")
    counts = rng.choice(MAX_DISTRACTORS + 1, n, p=[0.3, 0.3, 0.25, 0.15])
    for i in range(n):
        taken = grown[i].copy()
        for k in range(int(counts[i])):
            for _ in range(30):  # rejection sampling of a free spot; a crowded scene keeps fewer distractors
                radius = rng.uniform(2.5, 4.5) * size / IMAGE_SIZE
                r, c = rng.uniform(radius, size - radius, 2)
                spot = (rows - r) ** 2 + (cols - c) ** 2 <= (radius + 1.5) ** 2
                if not (spot & taken).any():
                    scenes.distractors[i, k] = (1.0, rng.integers(3), rng.integers(len(_DISTRACTOR_RGB)), r, c, radius)
                    taken |= spot
                    break
    return scenes


def training_removals(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, 5)`` bool, FunnyBirds' training augmentation: a share :data:`TRAIN_REMOVAL_FRACTION` of the
    images lose k random parts, k uniform in 0..5 (so some of those keep all of them, some lose all)."""
    chosen = rng.random(n) < TRAIN_REMOVAL_FRACTION
    counts = rng.integers(0, len(PARTS) + 1, n)
    ranks = rng.random((n, len(PARTS))).argsort(1).argsort(1)  # a random order of the parts per image
    return chosen[:, None] & (ranks < counts[:, None])


def _generate(split: str, n: int, seed: int, size: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, split_code(split), 77])
    labels = np.arange(n) % len(CLASS_NAMES)
    rng.shuffle(labels)
    scenes = sample_scenes(rng, labels, size)
    # Drawn after the scenes, so that test scenes do not depend on the augmentation.
    removed = training_removals(rng, n) if split == "train" else np.zeros((n, len(PARTS)), dtype=bool)
    drawn = render_scenes(scenes, remove_parts=removed, size=size)
    variants = scenes.variants
    attributes = np.zeros((n, len(ATTRIBUTE_NAMES)), dtype=np.uint8)
    offset = np.cumsum([0] + [len(VARIANTS[p]) for p in PARTS])[:-1]
    attributes[np.arange(n)[:, None], offset[None, :] + variants] = ~removed  # only the parts drawn
    return {"images": drawn.images, "labels": labels.astype(np.int64), "part_map": drawn.part_map,
            "masks": (drawn.part_map >= BODY_LAYER) & (drawn.part_map < FIRST_DISTRACTOR_LAYER),
            "part_variants": variants, "removed_parts": removed, "attributes": attributes,
            "backgrounds": scenes.background, "center": scenes.center, "scale": scenes.scale, "angle": scenes.angle,
            "background_seed": scenes.background_seed, "distractors": scenes.distractors}


def creatures_info(size: int = IMAGE_SIZE) -> DatasetInfo:
    return DatasetInfo(
        name="creatures", kind="image", class_names=CLASS_NAMES, input_shape=(3, size, size),
        attribute_names=ATTRIBUTE_NAMES, background_names=BACKGROUNDS,
        description="Part-based creatures (our 2D FunnyBirds): one body, five parts with variants, 48 classes of "
                    "part variants in one-part-apart pairs; pose jitter, textured backgrounds, distractors; scenes "
                    "re-render with parts or distractors removed (interventions without masking).")


def scenes_of(split: Split, index=None) -> CreatureScenes:
    """The scene parameters of ``split``'s samples ``index`` (all when None), for :func:`render_scenes`."""
    e = split.extras
    index = slice(None) if index is None else index
    return CreatureScenes(e["part_variants"][index], e["center"][index], e["scale"][index], e["angle"][index],
                          e["backgrounds"][index], e["background_seed"][index], e["distractors"][index])


def load_creatures(split: str = "train", *, seed: int = 0, num_samples: int | None = None, size: int = IMAGE_SIZE) -> Split:
    """Generate (or load from the cache) one split of ``creatures``; see the module for its extras."""
    split_code(split)
    per_class = NUM_TRAIN_PER_CLASS if split == "train" else NUM_TEST_PER_CLASS
    n = num_samples or per_class * len(CLASS_NAMES)
    params = dict(v=_GENERATOR_VERSION, split=split, n=n, seed=seed, size=size)
    arrays = cached_arrays(f"creatures-{params_hash(params)}", lambda: _generate(split, n, seed, size))
    extras = {k: arrays[k] for k in ("part_map", "masks", "part_variants", "removed_parts", "attributes", "backgrounds",
                                     "center", "scale", "angle", "background_seed", "distractors")}
    return Split(info=creatures_info(size), data=arrays["images"], labels=arrays["labels"], to_input=uint8_images_to_input,
                 extras=extras)
