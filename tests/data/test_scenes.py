"""The shapes-multi scenes: per-object visible masks, multi-hot labels, the prominent object, relations."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.data import dataset_info, load_split
from interp_core.data.captions import caption_objects, relation
from interp_core.data.scenes import MAX_OBJECTS, load_shapes_multi
from interp_core.data.shapes import _OBJECT_RGB, CLASS_NAMES, COLORS, SHAPES, group_values


@pytest.fixture(scope="module")
def scenes():
    return load_shapes_multi("train", num_samples=400, seed=2)


def test_default_sizes_and_info():
    test = load_split("shapes-multi", "test")
    assert len(test) == 1_000 and test.data.shape[1:] == (64, 64, 3)
    info = dataset_info("shapes-multi")
    assert info.class_names == CLASS_NAMES and info.name == "shapes-multi"
    assert test.extras["object_masks"].shape == (1_000, MAX_OBJECTS, 64, 64)
    assert test.extras["multi_labels"].shape == (1_000, 48) and test.extras["multi_labels"].dtype == np.uint8


def test_scenes_are_deterministic(scenes):
    again = load_shapes_multi("train", num_samples=400, seed=2)
    from interp_core.data.scenes import _generate

    fresh = _generate("train", 400, 2, 64)
    assert np.array_equal(fresh["images"], scenes.data) and np.array_equal(fresh["object_masks"], scenes.extras["object_masks"])
    assert again.captions == scenes.captions


def test_two_or_three_distinct_objects_with_consistent_multi_hot_labels(scenes):
    labels = scenes.extras["object_labels"]
    present = labels >= 0
    counts = present.sum(1)
    assert set(counts.tolist()) == {2, 3} and present[:, :2].all()
    for row, multi in zip(labels, scenes.extras["multi_labels"]):
        assert set(np.flatnonzero(multi).tolist()) == set(row[row >= 0].tolist())
    assert (scenes.extras["multi_labels"].sum(1) == counts).all()  # classes within a scene are distinct


def test_object_masks_are_disjoint_visible_and_match_the_pixels(scenes):
    masks, labels = scenes.extras["object_masks"], scenes.extras["object_labels"]
    assert masks.sum(1).max() <= 1
    assert not masks[labels < 0].any()
    area = masks.sum((2, 3))
    assert (area[labels >= 0] > 40).all()
    visibility = scenes.extras["object_visibility"]
    assert (visibility[labels >= 0] >= 0.4).all() and (visibility[labels >= 0] <= 1).all()
    assert 0.1 < np.mean(visibility[labels >= 0] < 1) < 0.8  # objects do overlap, later ones on top
    images = scenes.data.astype(np.float32) / 255
    palette = _OBJECT_RGB / _OBJECT_RGB.sum(1, keepdims=True)
    agree = []
    for i in range(100):
        for k in np.flatnonzero(labels[i] >= 0):
            pixels = images[i][masks[i, k] & ~scenes.extras["part_masks"][i]]
            pixels = pixels[pixels.max(1) > 0.2]
            chroma = pixels / pixels.sum(1, keepdims=True)
            nearest = np.linalg.norm(chroma[:, None] - palette[None], axis=-1).argmin(1)
            agree.append(np.mean(nearest == (labels[i, k] // 3) % 4))
    assert np.mean(agree) > 0.95
    assert not (scenes.extras["part_masks"] & ~masks.any(1)).any()


def test_prominent_object_is_the_largest_and_gives_the_label(scenes):
    area = scenes.extras["object_masks"].sum((2, 3))
    prominent = scenes.extras["prominent"]
    rows = np.arange(len(scenes))
    assert np.array_equal(area[rows, prominent], area.max(1))
    assert np.array_equal(scenes.labels, scenes.extras["object_labels"][rows, prominent])
    assert np.array_equal(scenes.extras["masks"], scenes.extras["object_masks"][rows, prominent])
    assert np.array_equal(group_values(scenes.extras["attributes"], "shape"), scenes.labels // 12)
    assert np.array_equal(group_values(scenes.extras["attributes"], "background"), scenes.extras["backgrounds"])


def test_centroids_and_relations():
    assert relation(np.array([10.0, 5.0]), np.array([12.0, 30.0])) == "left"
    assert relation(np.array([40.0, 31.0]), np.array([12.0, 30.0])) == "below"
    assert relation(np.array([2.0, 29.0]), np.array([12.0, 30.0])) == "above"
    assert relation(np.array([12.0, 50.0]), np.array([12.0, 30.0])) == "right"
    scenes = load_shapes_multi("test", num_samples=60, seed=5)
    masks, centroids = scenes.extras["object_masks"], scenes.extras["object_centroids"]
    rows, cols = np.nonzero(masks[0, 0])
    assert np.allclose(centroids[0, 0], [rows.mean() + 0.5, cols.mean() + 0.5], atol=1e-4)
    assert np.isnan(centroids[scenes.extras["object_labels"] < 0]).all()


def test_captions_name_the_prominent_object_first_with_relations(scenes):
    words = {"left": ("left of",), "right": ("right of",), "above": ("above", "over"), "below": ("below", "under", "beneath")}
    for i, caption in enumerate(scenes.captions):
        named = caption_objects(caption)
        labels = scenes.extras["object_labels"][i]
        assert len(named) == (labels >= 0).sum(), caption
        first = int(scenes.extras["prominent"][i])
        assert named[0][0] == SHAPES[labels[first] // 12], caption
        if named[0][1] is not None:
            assert named[0][1] == COLORS[(labels[first] // 3) % 4], caption
        where = relation(scenes.extras["object_centroids"][i, first],
                         scenes.extras["object_centroids"][i, next(k for k in range(3) if k != first and labels[k] >= 0)])
        assert any(f" {w} a" in caption for w in words[where]), caption  # "... left of a blue ..."
