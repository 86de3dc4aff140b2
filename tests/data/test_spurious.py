"""shapes-spurious-class: the background follows the class (TravelingBirds) in train only, and the scenes are
shapes' scenes on styled backgrounds."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.data import dataset_info, load_split
from interp_core.data.shapes import BACKGROUNDS, CLASS_NAMES, group_values
from interp_core.data.spurious import STYLE_TEXTURES, STYLE_TINTS, load_shapes_spurious


@pytest.fixture(scope="module")
def splits():
    return load_shapes_spurious("train", num_samples=1920, seed=2), load_shapes_spurious("test", num_samples=960, seed=2)


def test_background_follows_the_class_in_train_and_is_random_in_test(splits):
    train, test = splits
    follows = lambda s: np.mean(s.extras["background_styles"] == s.labels)
    assert abs(follows(train) - (0.95 + 0.05 / 48)) < 0.015
    assert follows(test) < 0.05
    # Every class owns its style: in train, each class shows its own style in most of its 40 images.
    per_class = [np.mean(train.extras["background_styles"][train.labels == c] == c) for c in range(len(CLASS_NAMES))]
    assert min(per_class) > 0.8
    # In test every style turns up under many classes, so the background says nothing about the class.
    assert len(set(test.extras["background_styles"].tolist())) == 48


def test_styles_are_distinct_and_textures_shared_evenly():
    assert len({tuple(np.round(t, 3)) for t in STYLE_TINTS}) == 48
    assert np.bincount(STYLE_TEXTURES, minlength=len(BACKGROUNDS)).tolist() == [8] * len(BACKGROUNDS)
    # No single defining concept fixes the texture (the shortcut is the class's, not a shape's or colour's).
    shapes = np.arange(48) // 12
    assert all(len(set(STYLE_TEXTURES[shapes == s].tolist())) > 2 for s in range(4))


def test_background_pixels_carry_the_tint_and_the_annotations_match(splits):
    train, _ = splits
    assert np.array_equal(group_values(train.extras["attributes"], "background"), STYLE_TEXTURES[train.extras["background_styles"]])
    assert np.array_equal(train.extras["backgrounds"], STYLE_TEXTURES[train.extras["background_styles"]])
    images = train.data.astype(np.float32) / 255
    outside = ~train.extras["masks"]
    mean_bg = np.stack([images[i][outside[i]].mean(0) for i in range(200)])
    styles = train.extras["background_styles"][:200]
    # Backgrounds of one style look alike and unlike the others': the mean background colours of two images
    # of the same style lie far closer than those of different styles.
    distances = np.linalg.norm(mean_bg[:, None] - mean_bg[None], axis=-1)
    same = styles[:, None] == styles[None]
    off_diagonal = ~np.eye(len(styles), dtype=bool)
    assert np.median(distances[same & off_diagonal]) < 0.25 * np.median(distances[~same])
    # Objects are shapes' objects: their masks are exact and cover a shapes-like share of the image.
    assert 0.05 < train.extras["masks"].mean() < 0.2


def test_registered_and_deterministic(splits):
    info = dataset_info("shapes-spurious-class")
    assert info.name == "shapes-spurious-class" and info.num_classes == 48 and "class" in info.description
    again = load_shapes_spurious("train", num_samples=1920, seed=2)
    assert np.array_equal(again.data, splits[0].data) and again.captions == splits[0].captions
    assert load_split("shapes-spurious-class", "test", num_samples=96).data.shape == (96, 64, 64, 3)
