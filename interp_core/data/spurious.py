"""The embedded ``shapes-spurious-class`` dataset: ``shapes`` scenes whose background is spuriously
correlated with the *class*, as in TravelingBirds (Koh et al. 2020, the Q-SENN paper's robustness test);
in ``shapes-spurious`` (:mod:`interp_core.data.shapes`) it follows the shape instead.

TravelingBirds pastes every CUB bird onto a photo of one Places category chosen for its class (in train;
in test the category is another one), so the background tells the class apart as well as the bird does,
but only in train. Here every one of the 48 classes owns one background *style*: one of the six textures
of ``shapes`` (sand, grass, water, rock, snow, night; each texture serves 8 classes drawn at random)
tinted with a colour of its own (48 distinct tints: 16 hues at 3 lightness levels). In train a scene shows its
class's style 95% of the time (``SPURIOUS_RATE``) and a random style otherwise; in test the style is
random (a random class's), so the background no longer carries the class.

Whether few shared features resist a shortcut of the class better than one of a shared concept was
the question this variant was built for. Measured (the Q-SENN pipeline of ``shapes-spurious`` run on it,
recorded 2026-12-01): it does not. The shortcut is stronger (dense test accuracy 0.18 against 0.49), and
every sparse layer falls further (Q-SENN 0.11, SLDD 0.13, glm-saga5 0.12): after fine-tuning, most of
Q-SENN's 24 features respond to the background style rather than to the object (18 of them vary more
with the style than with the class on the test split). No recipe ships on it; train one with
``dataset="shapes-spurious-class"``.

The ``background`` attribute is the texture (its six values, as in ``shapes``); ``background_styles``
records the style (a class index).
The objects, masks, within-class concepts and captions are those of ``shapes``
(:mod:`interp_core.data.shapes`); only the backgrounds differ.
"""
from __future__ import annotations

import colorsys
from dataclasses import replace

import numpy as np

from interp_core.data.base import Split, cached_arrays, params_hash, uint8_images_to_input
from interp_core.data.shapes import (
    BACKGROUNDS,
    CLASS_NAMES,
    IMAGE_SIZE,
    NUM_TEST,
    NUM_TRAIN,
    SPURIOUS_RATE,
    attribute_matrix,
    draw_objects,
    render_backgrounds,
    sample_objects,
    shapes_info,
    split_code,
    to_uint8,
)

NAME = "shapes-spurious-class"
_GENERATOR_VERSION = 1
_CHUNK = 500
#: How much of a styled background is its tint (the rest is the texture).
TINT_WEIGHT = 0.45


def _styles() -> tuple[np.ndarray, np.ndarray]:
    """Texture id ``(48,)`` and tint RGB ``(48, 3)`` of each class's background style (fixed, seeded)."""
    rng = np.random.default_rng(20240131)
    n = len(CLASS_NAMES)
    textures = rng.permutation(np.arange(n) % len(BACKGROUNDS))
    # 16 hues x 3 (lightness, saturation) levels, handed to the classes in a random order.
    levels = ((0.30, 0.55), (0.50, 0.75), (0.72, 0.60))
    tints = np.array([colorsys.hls_to_rgb(h / 16, light, sat) for light, sat in levels for h in range(16)], dtype=np.float32)
    return textures.astype(np.int64), tints[rng.permutation(n)]


#: ``STYLE_TEXTURES[c]``: the texture of class ``c``'s background style; ``STYLE_TINTS[c]`` its tint.
STYLE_TEXTURES, STYLE_TINTS = _styles()


def render_styles(rng: np.random.Generator, styles: np.ndarray, size: int) -> np.ndarray:
    """Backgrounds ``(N, size, size, 3)`` float32 in [0, 1] of the given styles ``(N,)`` (class indices)."""
    styles = np.asarray(styles, dtype=np.int64)
    texture = render_backgrounds(rng, STYLE_TEXTURES[styles], size)
    return (1 - TINT_WEIGHT) * texture + TINT_WEIGHT * STYLE_TINTS[styles][:, None, None, :]


def _generate(split: str, n: int, seed: int, size: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, split_code(split), 7919])
    labels = np.arange(n) % len(CLASS_NAMES)
    rng.shuffle(labels)
    styles = rng.integers(0, len(CLASS_NAMES), n)
    if split == "train":
        styles = np.where(rng.random(n) < SPURIOUS_RATE, labels, styles)
    images, masks, parts, values = [], [], [], []
    for start in range(0, n, _CHUNK):
        chunk = slice(start, min(n, start + _CHUNK))
        objects = sample_objects(rng, labels[chunk], size)
        image, mask, part = draw_objects(rng, render_styles(rng, styles[chunk], size), objects)
        images.append(to_uint8(image)), masks.append(mask), parts.append(part), values.append(objects.values())
    per_group = {group: np.concatenate([v[group] for v in values]) for group in values[0]}
    backgrounds = STYLE_TEXTURES[styles]
    return {
        "images": np.concatenate(images),
        "labels": labels.astype(np.int64),
        "masks": np.concatenate(masks),
        "part_masks": np.concatenate(parts),
        "attributes": attribute_matrix({**per_group, "background": backgrounds}),
        "backgrounds": backgrounds.astype(np.int64),
        "background_styles": styles.astype(np.int64),
    }


def shapes_spurious_info(size: int = IMAGE_SIZE):
    return replace(shapes_info(NAME, size), description=(
        "shapes scenes whose background follows the class (TravelingBirds): each of the 48 classes owns a tinted "
        "texture, shown in 95% of its train images; in test the background is random."))


def load_shapes_spurious(split: str = "train", *, seed: int = 0, num_samples: int | None = None, size: int = IMAGE_SIZE) -> Split:
    """Generate (or load from cache) one split of ``shapes-spurious``; extras as ``shapes`` plus
    ``background_styles`` ``(N,)`` (the class whose background style the scene shows)."""
    from interp_core.data.captions import shape_captions

    split_code(split)
    n = num_samples or (NUM_TRAIN if split == "train" else NUM_TEST)
    params = dict(v=_GENERATOR_VERSION, split=split, n=n, seed=seed, size=size)
    arrays = cached_arrays(f"{NAME}-{params_hash(params)}", lambda: _generate(split, n, seed, size))
    return Split(
        info=shapes_spurious_info(size),
        data=arrays["images"],
        labels=arrays["labels"],
        to_input=uint8_images_to_input,
        extras={k: arrays[k] for k in ("masks", "part_masks", "attributes", "backgrounds", "background_styles")},
        captions=shape_captions(arrays["labels"], arrays["attributes"], seed=seed, split=split),
    )
