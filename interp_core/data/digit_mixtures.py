"""Contaminated digits (PIQ §3.3): ``digits-overlap`` (Case 1, two overlapping digits) and
``digits-on-texture`` (Case 3, a digit over a textured background; PIQ uses FashionMNIST items, we use
the textured backgrounds of ``shapes``, which carry a background id).

Both are built from the ``digits`` split of the same name (train mixtures from train digits, test from
test), so a classifier trained on ``digits`` never saw the test sources. Every mixture keeps its sources
(``extras["sources"]``, uint8 ``(N, 2, 28, 28, 1)``) and is exactly the documented function of them.
Generation is seeded, deterministic and takes well under a second, so nothing is cached on disk.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from interp_core.data.base import DatasetInfo, Split, uint8_images_to_input
from interp_core.data.digits import CLASS_NAMES, IMAGE_SIZE, digits_info, load_digits_split, overlay_digits

#: The two mixing weightings of PIQ §3.3: equal weights (v1) and 0.7 / 0.3 (v2).
OVERLAP_WEIGHTS = ((0.5, 0.5), (0.7, 0.3))
#: Brightness of the grayscale texture behind a digit: the digit's ink reaches 1, the texture at most this.
TEXTURE_LEVEL = 0.5
# ITU-R BT.601 luma weights for the RGB textures.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_SPLIT_IDS = {"train": 0, "test": 1}
_OVERLAP_STREAM, _TEXTURE_STREAM = 0, 1


def digits_overlap_info() -> DatasetInfo:
    """The classes and input shape of ``digits`` (:func:`~interp_core.data.digits.digits_info`)."""
    return replace(digits_info(), name="digits-overlap", description=(
        "Two digits of different classes overlaid as a weighted sum (0.5/0.5 or 0.7/0.3), "
        "labelled by the dominant (first) digit, with both sources and per-source masks."))


def digits_on_texture_info() -> DatasetInfo:
    """The classes and input shape of ``digits``, with the backgrounds of ``shapes``."""
    from interp_core.data.shapes import BACKGROUNDS

    return replace(digits_info(), name="digits-on-texture", background_names=BACKGROUNDS,
                   description="A digit drawn bright over a dimmed grayscale texture of the shapes backgrounds.")


def _rng(split: str, seed: int, stream: int) -> np.random.Generator:
    if split not in _SPLIT_IDS:
        raise ValueError(f"Unknown split {split!r}; expected 'train' or 'test'.")
    return np.random.default_rng([seed, _SPLIT_IDS[split], stream])


def _size(num_samples: int | None, default: int) -> int:
    if num_samples is not None and num_samples < 1:
        raise ValueError(f"num_samples must be positive, got {num_samples}.")
    return num_samples or default


def _rounds(rng: np.random.Generator, count: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` image indices ``(n,)`` taken from fresh permutations of ``count`` images (each image once per
    round), and a weighting kind ``(n,)`` in {0, 1}: alternating along the first round, flipped for every
    image in the next, so in two rounds every image gets each kind once (and any prefix is balanced)."""
    rounds = -(-n // count)
    perms = [rng.permutation(count) for _ in range(rounds)]
    parity = np.empty(count, dtype=np.int64)
    parity[perms[0]] = np.arange(count) % 2
    index = np.concatenate(perms)[:n]
    return index, (parity[index] + np.arange(n) // count) % 2


def load_digits_overlap(split: str = "train", *, seed: int = 0, num_samples: int | None = None) -> Split:
    """Overlapping digit pairs of different classes (PIQ §3.3 Case 1, v1 and v2).

    Mixture = ``rint(w_a a + w_b b)`` (:func:`overlay_digits` with weights, float64 with the stored
    float32 weights, rounded half to even) of two uint8 digits ``a``, ``b``; the weights sum to 1, so it
    never leaves [0, 255]. Half of the mixtures use 0.5/0.5, half 0.7/0.3; by default ``N`` = 2x the
    ``digits`` split, each digit being the first source once per weighting, the second source a random
    digit of another class. ``labels``: the first (dominant; for 0.5/0.5 by convention) digit.
    ``extras``: ``weights`` ``(N, 2)`` float32, ``source_labels`` ``(N, 2)``, ``sources`` ``(N, 2, 28, 28, 1)``
    uint8, ``source_masks`` ``(N, 2, 28, 28)`` bool (each digit's ``digits`` mask), ``masks`` the first
    source's mask, ``source_indices`` ``(N, 2)`` into ``load_digits_split(split)``.
    """
    digits = load_digits_split(split)
    rng = _rng(split, seed, _OVERLAP_STREAM)
    n = _size(num_samples, 2 * len(digits))
    first, kind = _rounds(rng, len(digits), n)
    weights = np.asarray(OVERLAP_WEIGHTS, dtype=np.float32)[kind]
    # The second digit: another class (shift by 1..9), then a uniformly drawn image of that class.
    other = (digits.labels[first] + rng.integers(1, len(CLASS_NAMES), n)) % len(CLASS_NAMES)
    by_class = np.argsort(digits.labels, kind="stable")
    starts = np.searchsorted(digits.labels[by_class], np.arange(len(CLASS_NAMES)))
    counts = np.bincount(digits.labels, minlength=len(CLASS_NAMES))
    second = by_class[starts[other] + (rng.random(n) * counts[other]).astype(np.int64)]
    indices = np.stack([first, second], axis=1)
    sources = digits.data[indices]
    a, b = sources[:, 0].astype(np.float64), sources[:, 1].astype(np.float64)
    mixed = overlay_digits(a, b, weights.astype(np.float64))
    source_masks = digits.extras["masks"][indices]
    return Split(
        info=digits_overlap_info(),
        data=np.rint(mixed).astype(np.uint8),
        labels=digits.labels[first],
        to_input=uint8_images_to_input,
        extras={
            "weights": weights,
            "source_labels": digits.labels[indices],
            "sources": sources,
            "source_masks": source_masks,
            "masks": source_masks[:, 0],
            "source_indices": indices,
        },
    )


def load_digits_on_texture(split: str = "train", *, seed: int = 0, num_samples: int | None = None) -> Split:
    """Digits over textured backgrounds (PIQ §3.3 Case 3, with ``shapes`` textures for FashionMNIST items).

    The texture is a ``shapes`` background rendered at 28x28 and turned to grayscale (BT.601 luma), stored
    as uint8 ``t``; with the digit ``d``, both scaled to [0, 1], the image is the digit as bright ink over
    the dimmed texture, ``rint(255 (d + (1 - d) TEXTURE_LEVEL t))``, so the digit stays the brightest
    thing in the picture. ``N`` = the ``digits`` split's size by default (each digit once), background ids
    balanced. ``labels``: the digit. ``extras``: ``masks`` (the digit's ``digits`` mask), ``backgrounds``
    ``(N,)`` ids into ``digits_on_texture_info().background_names``, ``sources`` ``(N, 2, 28, 28, 1)`` uint8
    (digit, grayscale texture), ``source_indices`` ``(N,)`` into ``load_digits_split(split)``.
    """
    from interp_core.data.shapes import BACKGROUNDS, render_backgrounds

    digits = load_digits_split(split)
    rng = _rng(split, seed, _TEXTURE_STREAM)
    n = _size(num_samples, len(digits))
    index, _ = _rounds(rng, len(digits), n)
    backgrounds = np.arange(n, dtype=np.int64) % len(BACKGROUNDS)
    rng.shuffle(backgrounds)
    texture = np.rint(render_backgrounds(rng, backgrounds, IMAGE_SIZE) @ _LUMA * 255).astype(np.uint8)[..., None]
    digit = digits.data[index]
    d, t = digit / 255.0, texture / 255.0
    image = np.rint(255 * (d + (1 - d) * TEXTURE_LEVEL * t)).astype(np.uint8)
    return Split(
        info=digits_on_texture_info(),
        data=image,
        labels=digits.labels[index],
        to_input=uint8_images_to_input,
        extras={
            "masks": digits.extras["masks"][index],
            "backgrounds": backgrounds,
            "sources": np.stack([digit, texture], axis=1),
            "source_indices": index,
        },
    )
