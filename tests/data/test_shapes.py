"""The embedded shapes datasets: determinism, ground truth consistency, spurious variant, captions."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.data import dataset_info, load_split
from interp_core.data.shapes import ATTRIBUTE_NAMES, BACKGROUNDS, CLASS_NAMES, SHAPES, load_shapes


@pytest.fixture(scope="module")
def small():
    return load_shapes("train", num_samples=480, seed=3)


def test_default_sizes_and_info():
    train, test = load_split("shapes", "train"), load_split("shapes", "test")
    assert len(train) >= 10_000 and len(test) >= 2_000
    assert train.data.shape[1:] == (64, 64, 3) and train.data.dtype == np.uint8
    info = dataset_info("shapes")
    assert info.num_classes == 24 == len(CLASS_NAMES)
    x = train.inputs(np.arange(4))
    assert tuple(x.shape) == (4, 3, 64, 64) and float(x.min()) >= 0 and float(x.max()) <= 1


def test_generation_is_deterministic_and_seed_dependent(small):
    from interp_core.data.shapes import _generate

    again = _generate("train", 480, 3, False, 64)
    assert np.array_equal(again["images"], small.data)
    other = _generate("train", 480, 4, False, 64)
    assert not np.array_equal(other["images"], small.data)


def test_attributes_match_class_names(small):
    for label, attrs in zip(small.labels, small.extras["attributes"]):
        present = {ATTRIBUTE_NAMES[i] for i in np.flatnonzero(attrs)}
        color, pattern, shape = CLASS_NAMES[label].split()
        assert {f"shape::{shape}", f"color::{color}", f"pattern::{pattern}"} <= present
        assert len(present) == 4  # shape, color, pattern, size


def test_masks_mark_the_object_pixels(small):
    masks, images = small.extras["masks"], small.data.astype(np.float32)
    area = masks.reshape(len(masks), -1).mean(1)
    assert area.min() > 0.02 and area.max() < 0.5
    # Object pixels carry the class colour: the colour channel dominates inside the mask.
    for i in range(60):
        color = CLASS_NAMES[small.labels[i]].split()[0]
        channel = {"red": 0, "green": 1, "blue": 2}[color]
        inside = images[i][masks[i]]
        assert (inside.argmax(1) == channel).mean() > 0.9


def test_shape_classes_have_distinct_mask_geometry(small):
    # Fill ratio of the mask within its bounding box separates circles (~0.785) from squares (~1 when
    # axis aligned, >= 0.5 rotated) and triangles (<= 0.5 when axis aligned).
    ratios = {s: [] for s in SHAPES}
    for mask, label in zip(small.extras["masks"], small.labels):
        ys, xs = np.nonzero(mask)
        box = (np.ptp(ys) + 1) * (np.ptp(xs) + 1)
        ratios[CLASS_NAMES[label].split()[2]].append(mask.sum() / box)
    assert abs(np.mean(ratios["circle"]) - np.pi / 4) < 0.05
    assert np.mean(ratios["triangle"]) < np.mean(ratios["circle"])


def test_spurious_background_correlates_in_train_only():
    train = load_shapes("train", spurious=True, num_samples=2400, seed=1)
    test = load_shapes("test", spurious=True, num_samples=1200, seed=1)
    follows = lambda s: np.mean(s.extras["backgrounds"] == s.labels % len(BACKGROUNDS))
    assert follows(train) > 0.9
    assert abs(follows(test) - 1 / len(BACKGROUNDS)) < 0.05


def test_captions_name_attributes_and_background():
    split = load_split("shapes-captions", "test")
    assert split.captions is not None and len(split.captions) == len(split)
    for i in range(20):
        caption = split.captions[i]
        assert CLASS_NAMES[split.labels[i]] in caption
        assert caption.endswith(BACKGROUNDS[int(split.extras["backgrounds"][i])])


def test_digits_split_is_stratified_and_disjoint():
    train, test = load_split("digits", "train"), load_split("digits", "test")
    assert len(train) + len(test) == 1797
    assert train.data.shape[1:] == (28, 28, 1)
    counts = np.bincount(test.labels, minlength=10)
    assert counts.min() >= 30 and counts.max() <= 40
    flat_train = {row.tobytes() for row in train.data.reshape(len(train), -1)}
    overlap = sum(row.tobytes() in flat_train for row in test.data.reshape(len(test), -1))
    assert overlap <= 2  # sklearn's digits hold a couple of exact duplicates; nothing more is shared


def test_unknown_dataset_and_split_errors():
    with pytest.raises(KeyError, match="shapes"):
        load_split("nope")
    with pytest.raises(ValueError, match="split"):
        load_shapes("validation")
