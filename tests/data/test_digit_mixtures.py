"""``digits-overlap`` and ``digits-on-texture``: mixtures exactly as documented, labels, masks, readability."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.data import Split, dataset_info
from interp_core.data.digit_mixtures import (
    OVERLAP_WEIGHTS,
    TEXTURE_LEVEL,
    digits_on_texture_info,
    digits_overlap_info,
    load_digits_on_texture,
    load_digits_overlap,
)
from interp_core.data.digits import load_digits_split, overlay_digits
from interp_core.data.shapes import BACKGROUNDS


@pytest.fixture(scope="module")
def digits() -> Split:
    return load_digits_split("test")


@pytest.fixture(scope="module")
def overlap() -> Split:
    return load_digits_overlap("test")


@pytest.fixture(scope="module")
def texture() -> Split:
    return load_digits_on_texture("test")


def test_overlap_is_the_weighted_sum_of_its_sources(overlap, digits):
    sources, weights = overlap.extras["sources"], overlap.extras["weights"].astype(np.float64)
    n = len(overlap)
    assert n == 2 * len(digits) and overlap.data.shape == (n, 28, 28, 1) and overlap.data.dtype == np.uint8
    assert sources.shape == (n, 2, 28, 28, 1) and sources.dtype == np.uint8
    w = weights[:, :, None, None, None]
    assert np.array_equal(overlap.data, np.rint(w[:, 0] * sources[:, 0] + w[:, 1] * sources[:, 1]))
    # The sources are test digits, as indexed.
    assert np.array_equal(sources, digits.data[overlap.extras["source_indices"]])


def test_overlap_weights_labels_and_masks_agree(overlap, digits):
    weights, source_labels = overlap.extras["weights"], overlap.extras["source_labels"]
    assert weights.dtype == np.float32 and np.allclose(weights.sum(axis=1), 1.0)
    kinds = {tuple(np.round(pair, 6)) for pair in weights.tolist()}
    assert kinds == {tuple(pair) for pair in OVERLAP_WEIGHTS}
    assert np.sum(weights[:, 0] == np.float32(0.7)) == np.sum(weights[:, 0] == np.float32(0.5)) == len(digits)
    # Each test digit is the first source once per weighting.
    for first in (0.5, 0.7):
        chosen = overlap.extras["source_indices"][weights[:, 0] == np.float32(first), 0]
        assert np.array_equal(np.sort(chosen), np.arange(len(digits)))
    assert np.all(source_labels[:, 0] != source_labels[:, 1])
    assert np.array_equal(overlap.labels, source_labels[:, 0])
    assert np.array_equal(source_labels, digits.labels[overlap.extras["source_indices"]])
    masks = overlap.extras["source_masks"]
    assert masks.shape == (len(overlap), 2, 28, 28) and masks.dtype == bool
    assert np.array_equal(masks, overlap.extras["sources"][..., 0] > 64)
    assert np.array_equal(overlap.extras["masks"], masks[:, 0])


def test_dominant_digit_shapes_the_0_7_mixtures(overlap):
    # In a 0.7/0.3 mixture the first digit explains more of the image than the second.
    x = overlap.data[..., 0].reshape(len(overlap), -1).astype(np.float64)
    s = overlap.extras["sources"][..., 0].reshape(len(overlap), 2, -1).astype(np.float64)

    def corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
        return (a * b).sum(1) / np.sqrt((a**2).sum(1) * (b**2).sum(1))

    strong = overlap.extras["weights"][:, 0] > 0.6
    assert np.mean(corr(x, s[:, 0])[strong] > corr(x, s[:, 1])[strong]) > 0.95


def test_overlap_is_seeded_and_modelled(overlap):
    again = load_digits_overlap("test")
    other = load_digits_overlap("test", seed=1)
    assert np.array_equal(again.data, overlap.data)
    assert not np.array_equal(other.extras["source_indices"], overlap.extras["source_indices"])
    small = load_digits_overlap("train", num_samples=10)
    assert len(small) == 10 and set(small.extras["weights"][:, 0].tolist()) == {0.5, np.float32(0.7)}
    x = overlap.inputs([0, 1])
    assert x.shape == (2, 1, 28, 28) and x.dtype == torch.float32 and float(x.max()) <= 1.0
    info = digits_overlap_info()
    assert info == dataset_info("digits-overlap") and info.kind == "image" and info.input_shape == (1, 28, 28)
    assert info.class_names == tuple(str(d) for d in range(10))


def test_overlay_digits_max_and_weighted():
    a, b = torch.tensor([[0.2, 0.9]]), torch.tensor([[0.6, 0.1]])
    assert torch.equal(overlay_digits(a, b), torch.tensor([[0.6, 0.9]]))
    assert torch.allclose(overlay_digits(a, b, (0.7, 0.3)), torch.tensor([[0.32, 0.66]]))
    per_image = overlay_digits(np.ones((2, 3)), np.zeros((2, 3)), np.array([[0.5, 0.5], [0.7, 0.3]]))
    assert np.allclose(per_image, [[0.5] * 3, [0.7] * 3])


def test_texture_image_is_the_documented_composite(texture, digits):
    n = len(texture)
    assert n == len(digits) and texture.data.shape == (n, 28, 28, 1) and texture.data.dtype == np.uint8
    digit, tex = texture.extras["sources"][:, 0] / 255.0, texture.extras["sources"][:, 1] / 255.0
    assert np.array_equal(texture.data, np.rint(255 * (digit + (1 - digit) * TEXTURE_LEVEL * tex)))
    index = texture.extras["source_indices"]
    assert np.array_equal(texture.extras["sources"][:, 0], digits.data[index])
    assert np.array_equal(texture.labels, digits.labels[index])
    assert np.array_equal(texture.extras["masks"], digits.extras["masks"][index])
    # The background is a real texture, not a flat fill: it varies inside an image.
    assert np.median(tex.reshape(n, -1).std(axis=1)) > 0.01


def test_digit_stays_readable_over_the_texture(texture):
    image = texture.data[..., 0].astype(np.float64)
    masks = texture.extras["masks"]
    inside = np.array([image[i][masks[i]].mean() for i in range(len(texture))])
    outside = np.array([image[i][~masks[i]].mean() for i in range(len(texture))])
    assert np.all(inside > outside + 40)
    assert image[~masks].max() <= 255 * TEXTURE_LEVEL + 64  # background stays dim except at the digit's edge


def test_texture_backgrounds_are_balanced_and_named(texture):
    backgrounds = texture.extras["backgrounds"]
    counts = np.bincount(backgrounds, minlength=len(BACKGROUNDS))
    assert counts.max() - counts.min() <= 1
    info = digits_on_texture_info()
    assert info == dataset_info("digits-on-texture") and info.background_names == BACKGROUNDS
    # Backgrounds differ: snow is brighter than night.
    tex = texture.extras["sources"][:, 1].reshape(len(texture), -1).mean(axis=1)
    snow, night = (tex[backgrounds == BACKGROUNDS.index(name)].mean() for name in ("snow", "night"))
    assert snow > night + 100
    with pytest.raises(ValueError, match="split"):
        load_digits_on_texture("validation")
