"""The embedded ``shapes-multi`` dataset: 2-3 objects of distinct classes per scene, possibly overlapping.

Objects are the ``shapes`` objects (same renderer, same classes and concepts, 70% of the area), drawn
in order onto a textured background, later ones on top. Ground truth per scene: multi-hot labels, the
class of every object, one mask per object of its visible pixels (disjoint), and the most prominent
object (largest visible area), which is also ``labels``; captions name the objects and their spatial
relations. A placement that hides more than 60% of an object is drawn again, so every object stays
recognisable (the PIQ paper's overlapping sources, in images).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from interp_core.data.base import DatasetInfo, Split, cached_arrays, params_hash, uint8_images_to_input
from interp_core.data.captions import scene_captions
from interp_core.data.shapes import (
    ATTRIBUTE_NAMES, BACKGROUNDS, CLASS_NAMES, IMAGE_SIZE, attribute_matrix, draw_objects, render_backgrounds,
    sample_objects, shapes_info, split_code, to_uint8,
)

MAX_OBJECTS = 3
NUM_TRAIN, NUM_TEST = 4_000, 1_000
_AREA_SCALE = 0.7
_MIN_VISIBLE = 0.4  # fraction of an object's own area that must stay visible
_MAX_TRIES = 30
_CHUNK = 500
_GENERATOR_VERSION = 1


def _draw_scenes(rng: np.random.Generator, backgrounds: np.ndarray, object_labels: np.ndarray) -> dict[str, np.ndarray]:
    """Draw the objects ``object_labels`` ``(n, K)`` (-1: none) of each scene onto its background
    ``(n, H, W, 3)``, slot by slot. Returns images, visible masks ``(n, K, H, W)``, visible spot pixels
    ``(n, H, W)``, full object areas ``(n, K)`` and object attributes ``(n, K, A)`` (no background)."""
    n, slots = object_labels.shape
    size = backgrounds.shape[1]
    images = backgrounds.copy()
    visible = np.zeros((n, slots, size, size), dtype=bool)
    parts = np.zeros((n, size, size), dtype=bool)
    areas = np.zeros((n, slots), dtype=np.int64)
    attributes = np.zeros((n, slots, len(ATTRIBUTE_NAMES)), dtype=np.uint8)
    for k in range(slots):
        rows = np.flatnonzero(object_labels[:, k] >= 0)
        objects = sample_objects(rng, object_labels[rows, k], size, area_scale=_AREA_SCALE)
        drawn, mask, part = draw_objects(rng, images[rows], objects)
        images[rows] = drawn
        visible[rows, :k] &= ~mask[:, None]
        visible[rows, k] = mask
        parts[rows] = (parts[rows] & ~mask) | part
        areas[rows, k] = mask.sum((1, 2))
        attributes[rows, k] = attribute_matrix(objects.values())
    return {"images": images, "visible": visible, "parts": parts, "areas": areas, "attributes": attributes}


def _render_chunk(rng: np.random.Generator, backgrounds: np.ndarray, object_labels: np.ndarray, size: int) -> dict:
    """Scenes of one chunk; a scene where an object shows less than ``_MIN_VISIBLE`` of itself is drawn
    again with new positions (up to ``_MAX_TRIES`` times)."""
    canvas = render_backgrounds(rng, backgrounds, size)
    out: dict[str, np.ndarray] = {}
    pending = np.arange(len(backgrounds))
    for attempt in range(_MAX_TRIES):
        drawn = _draw_scenes(rng, canvas[pending], object_labels[pending])
        present = object_labels[pending] >= 0
        shown = drawn["visible"].sum((2, 3)) >= _MIN_VISIBLE * np.maximum(drawn["areas"], 1)
        ok = (shown | ~present).all(1) | (attempt == _MAX_TRIES - 1)
        for key, value in drawn.items():
            out.setdefault(key, np.zeros((len(backgrounds),) + value.shape[1:], dtype=value.dtype))[pending[ok]] = value[ok]
        pending = pending[~ok]
        if not pending.size:
            break
    return out


def _generate(split: str, n: int, seed: int, size: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, split_code(split), 2])
    counts = rng.integers(2, MAX_OBJECTS + 1, n)
    # Distinct classes within a scene, so that multi-hot labels count every object.
    object_labels = np.argsort(rng.random((n, len(CLASS_NAMES))), axis=1)[:, :MAX_OBJECTS].astype(np.int64)
    object_labels[np.arange(MAX_OBJECTS)[None, :] >= counts[:, None]] = -1
    backgrounds = rng.integers(0, len(BACKGROUNDS), n).astype(np.int64)
    chunks = [_render_chunk(rng, backgrounds[s:s + _CHUNK], object_labels[s:s + _CHUNK], size) for s in range(0, n, _CHUNK)]
    drawn = {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}

    visible = drawn["visible"]
    visible_area = visible.sum((2, 3))
    prominent = visible_area.argmax(1)
    rows = np.arange(n)
    coords = np.arange(size, dtype=np.float64) + 0.5
    with np.errstate(invalid="ignore", divide="ignore"):  # a missing object's centroid is NaN
        row = (visible.sum(3) * coords).sum(2) / visible_area
        col = (visible.sum(2) * coords).sum(2) / visible_area
    present = object_labels >= 0
    multi_labels = (object_labels[..., None] == np.arange(len(CLASS_NAMES))).any(1).astype(np.uint8)
    background_attributes = attribute_matrix({"background": backgrounds})
    object_attributes = drawn["attributes"] | background_attributes[:, None] * present[..., None]
    return {
        "images": to_uint8(drawn["images"]),
        "labels": object_labels[rows, prominent],
        "multi_labels": multi_labels,
        "object_labels": object_labels,
        "object_masks": visible,
        "object_visibility": (visible_area / np.maximum(drawn["areas"], 1)).astype(np.float32),
        "object_centroids": np.stack([row, col], axis=-1).astype(np.float32),
        "object_attributes": object_attributes,
        "prominent": prominent.astype(np.int64),
        "masks": visible[rows, prominent],
        "part_masks": drawn["parts"],
        "attributes": object_attributes[rows, prominent],
        "backgrounds": backgrounds,
    }


def shapes_multi_info(size: int = IMAGE_SIZE) -> DatasetInfo:
    """The classes, concepts and backgrounds of ``shapes`` (:func:`~interp_core.data.shapes.shapes_info`)."""
    return replace(shapes_info("shapes-multi", size), description=(
        "Synthetic scenes of 2-3 possibly overlapping shapes objects: multi-hot labels, one visible-pixel "
        "mask per object, the most prominent object as label, captions with spatial relations."))


def load_shapes_multi(split: str = "train", *, seed: int = 0, num_samples: int | None = None, size: int = IMAGE_SIZE) -> Split:
    """Generate (or load from cache) one split of ``shapes-multi``.

    ``labels`` ``(N,)``: the most prominent object's class (slot ``extras["prominent"]``). Extras:
    ``multi_labels`` ``(N, 48)`` uint8; per object slot (``K = 3``, -1 / all-False / NaN where a scene
    has two objects): ``object_labels`` ``(N, K)``, ``object_masks`` ``(N, K, H, W)`` visible pixels,
    ``object_visibility`` ``(N, K)`` visible fraction of the object, ``object_centroids`` ``(N, K, 2)``
    (row, column) of the visible pixels, ``object_attributes`` ``(N, K, A)``; for the prominent object
    ``masks`` ``(N, H, W)`` and ``attributes`` ``(N, A)``; ``part_masks`` ``(N, H, W)`` the visible spots
    of all objects; ``backgrounds`` ``(N,)``.
    """
    split_code(split)
    n = num_samples or (NUM_TRAIN if split == "train" else NUM_TEST)
    params = dict(v=_GENERATOR_VERSION, split=split, n=n, seed=seed, size=size)
    arrays = cached_arrays(f"shapes-multi-{params_hash(params)}", lambda: _generate(split, n, seed, size))
    extras = {k: v for k, v in arrays.items() if k not in ("images", "labels")}
    captions = scene_captions(arrays["object_labels"], arrays["object_attributes"], arrays["object_centroids"],
                              arrays["prominent"], arrays["backgrounds"], seed=seed, split=split)
    return Split(info=shapes_multi_info(size), data=arrays["images"], labels=arrays["labels"],
                 to_input=uint8_images_to_input, extras=extras, captions=captions)
