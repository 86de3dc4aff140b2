"""The embedded shapes datasets: concept structure, ground truth that matches the pixels, the spurious
variant, the colour-histogram baseline, and the textured backgrounds."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.data import dataset_info, load_split
from interp_core.data.shapes import (
    _OBJECT_RGB, ATTRIBUTE_GROUPS, ATTRIBUTE_NAMES, BACKGROUNDS, CLASS_NAMES, COLORS, PATTERNS, SHAPES,
    SPURIOUS_BACKGROUNDS, WITHIN_CLASS_GROUPS, WITHIN_CLASS_RATES, _BACKGROUND_RGB, class_attributes, draw_objects,
    group_values, load_shapes, render_backgrounds, sample_objects,
)


@pytest.fixture(scope="module")
def small():
    return load_shapes("train", num_samples=480, seed=3)


@pytest.fixture(scope="module")
def full_train():
    return load_split("shapes", "train")


def chromaticity(pixels: np.ndarray) -> np.ndarray:
    """RGB ``(..., 3)`` -> colour with brightness divided out (rows sum to 1)."""
    pixels = np.asarray(pixels, dtype=np.float32)
    return pixels / np.maximum(pixels.sum(-1, keepdims=True), 1e-6)


def nearest_object_colour(pixels: np.ndarray) -> np.ndarray:
    """Index into COLORS of the object colour closest in chromaticity to each pixel ``(n, 3)``."""
    distance = np.linalg.norm(chromaticity(pixels)[:, None, :] - chromaticity(_OBJECT_RGB)[None], axis=-1)
    return distance.argmin(1)


def erode(masks: np.ndarray) -> np.ndarray:
    """Masks ``(n, H, W)`` shrunk by one pixel (4-neighbourhood)."""
    out = masks.copy()
    out[:, 1:] &= masks[:, :-1]
    out[:, :-1] &= masks[:, 1:]
    out[:, :, 1:] &= masks[:, :, :-1]
    out[:, :, :-1] &= masks[:, :, 1:]
    return out


def test_default_sizes_and_info(full_train):
    test = load_split("shapes", "test")
    assert len(full_train) == 10_000 and len(test) == 2_000
    assert full_train.data.shape[1:] == (64, 64, 3) and full_train.data.dtype == np.uint8
    info = dataset_info("shapes")
    assert info.num_classes == 48 == len(CLASS_NAMES)
    assert info.attribute_names == ATTRIBUTE_NAMES and info.background_names == BACKGROUNDS
    assert {name.split("::")[0] for name in ATTRIBUTE_NAMES} == {"shape", "color", "pattern", "size", "outline", "mark", "background"}
    x = full_train.inputs(np.arange(4))
    assert tuple(x.shape) == (4, 3, 64, 64) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert np.bincount(full_train.labels, minlength=48).min() >= 10_000 // 48


def test_generation_is_deterministic_and_seed_dependent(small):
    from interp_core.data.shapes import _generate

    again = _generate("train", 480, 3, False, 64)
    assert np.array_equal(again["images"], small.data) and np.array_equal(again["part_masks"], small.extras["part_masks"])
    other = _generate("train", 480, 4, False, 64)
    assert not np.array_equal(other["images"], small.data)


def test_every_defining_concept_value_is_shared_by_several_classes():
    names = [name.split() for name in CLASS_NAMES]
    assert len(set(CLASS_NAMES)) == 48
    for label, (color, pattern, shape) in enumerate(names):
        s, c, p = class_attributes(label)
        assert (SHAPES[s], COLORS[c], PATTERNS[p]) == (shape, color, pattern)
    for position, values in ((2, SHAPES), (0, COLORS), (1, PATTERNS)):
        counts = [sum(n[position] == v for n in names) for v in values]
        assert all(12 <= k <= 16 for k in counts), counts


def test_attribute_vectors_hold_one_value_per_group_and_match_the_class(small):
    attrs = small.extras["attributes"]
    offset = 0
    for group, values in ATTRIBUTE_GROUPS.items():
        assert (attrs[:, offset:offset + len(values)].sum(1) == 1).all(), group
        offset += len(values)
    s, c, p = (small.labels // 12, (small.labels // 3) % 4, small.labels % 3)
    assert np.array_equal(group_values(attrs, "shape"), s)
    assert np.array_equal(group_values(attrs, "color"), c)
    assert np.array_equal(group_values(attrs, "pattern"), p)
    assert np.array_equal(group_values(attrs, "background"), small.extras["backgrounds"])


def test_within_class_concepts_vary_with_class_dependent_rates(full_train):
    assert set(np.unique(WITHIN_CLASS_RATES)) == {np.float32(0.2), np.float32(0.5), np.float32(0.8)}
    labels, attrs = full_train.labels, full_train.extras["attributes"]
    for g, group in enumerate(WITHIN_CLASS_GROUPS):
        second = group_values(attrs, group) == 1
        rate = np.array([second[labels == k].mean() for k in range(48)])
        assert ((rate > 0) & (rate < 1)).all(), group  # varies inside every class
        assert np.abs(rate - WITHIN_CLASS_RATES[:, g]).max() < 0.15, group
        assert rate[WITHIN_CLASS_RATES[:, g] == np.float32(0.8)].mean() - rate[WITHIN_CLASS_RATES[:, g] == np.float32(0.2)].mean() > 0.5
        # No defining concept fixes the rate: the classes sharing any value see several rates.
        for values, part in ((SHAPES, np.arange(48) // 12), (COLORS, (np.arange(48) // 3) % 4), (PATTERNS, np.arange(48) % 3)):
            for v in range(len(values)):
                assert len(set(WITHIN_CLASS_RATES[part == v, g])) == 3


def test_size_attribute_separates_mask_areas_and_every_shape_shares_the_areas(full_train):
    masks, labels = full_train.extras["masks"][:3000], full_train.labels[:3000]
    area = masks.reshape(len(masks), -1).sum(1)
    large = group_values(full_train.extras["attributes"][:3000], "size") == 1
    assert area[~large].max() < area[large].min()
    assert 0.075 * 4096 < area.min() and area.max() < 0.205 * 4096
    for size_value in (False, True):
        means = [area[(labels // 12 == s) & (large == size_value)].mean() for s in range(4)]
        assert max(means) / min(means) < 1.05, means  # equal areas: colour histograms cannot tell shapes apart


def test_masks_hold_the_object_colour_and_the_background_lies_outside(small):
    images = small.data.astype(np.float32) / 255
    masks, parts = small.extras["masks"], small.extras["part_masks"]
    for i in range(120):
        colour = (small.labels[i] // 3) % 4
        inside = images[i][masks[i] & ~parts[i]]
        lit = inside[inside.max(1) > 0.2]  # leave out the dark rim
        assert (nearest_object_colour(lit) == colour).mean() > 0.95
        outside = images[i][~masks[i]].mean(0)
        assert np.linalg.norm(_BACKGROUND_RGB - outside, axis=1).argmin() == small.extras["backgrounds"][i]
        # The one-pixel ring just outside the mask is background, not object: the mask is tight.
        ring = images[i][~erode(~masks[i][None])[0] & ~masks[i]]
        to_object = np.linalg.norm(ring - np.median(lit, axis=0), axis=1)
        to_background = np.linalg.norm(ring - outside, axis=1)
        assert np.mean(to_background < to_object) > 0.9


def test_draw_objects_changes_exactly_the_masked_pixels():
    rng = np.random.default_rng(0)
    objects = sample_objects(rng, np.arange(48), 64)
    canvas = np.full((48, 64, 64, 3), -1.0, dtype=np.float32)
    image, mask, part = draw_objects(rng, canvas, objects)
    assert np.array_equal((image != -1).any(-1), mask) and (image[mask] >= 0).all()
    assert not (part & ~mask).any()
    assert np.array_equal(part.any((1, 2)), objects.mark)
    assert np.allclose(image[part], 1.0)  # the spot is white


def test_part_masks_mark_the_spot_inside_the_object(small):
    masks, parts = small.extras["masks"], small.extras["part_masks"]
    has_spot = group_values(small.extras["attributes"], "mark") == 1
    assert not (parts & ~masks).any()
    assert np.array_equal(parts.any((1, 2)), has_spot)
    spot_area = parts[has_spot].reshape(has_spot.sum(), -1).sum(1)
    assert spot_area.min() >= 12 and spot_area.max() <= 40  # a local concept: a few pixels of the object
    assert (small.data[parts] >= 230).all()


def test_outline_attribute_darkens_the_object_rim(small):
    images = small.data.astype(np.float32) / 255
    masks = small.extras["masks"]
    dark = group_values(small.extras["attributes"], "outline") == 1
    eroded = erode(masks)
    edge_brightness = np.array([images[i][masks[i] & ~eroded[i]].max(1).mean() for i in range(len(images))])
    assert edge_brightness[dark].max() < 0.15 < 0.3 < edge_brightness[~dark].min()


def test_shape_classes_have_distinct_mask_geometry(small):
    # Fill ratio of the mask within its bounding box: circles pi/4 whatever their tilt, upright
    # triangles about 1/2, crosses at most 0.64 (2.56 L^2 in a 2L box), squares 1 when axis-aligned.
    ratios = {s: [] for s in SHAPES}
    for mask, label in zip(small.extras["masks"], small.labels):
        ys, xs = np.nonzero(mask)
        ratios[SHAPES[label // 12]].append(mask.sum() / ((np.ptp(ys) + 1) * (np.ptp(xs) + 1)))
    mean = {s: np.mean(r) for s, r in ratios.items()}
    assert abs(mean["circle"] - np.pi / 4) < 0.03
    assert mean["triangle"] < mean["cross"] < mean["square"] < mean["circle"]
    assert max(ratios["triangle"]) < 0.56 and max(ratios["cross"]) < 0.68 and max(ratios["square"]) > 0.95


def test_spurious_background_follows_the_shape_in_train_only():
    train = load_shapes("train", spurious=True, num_samples=2400, seed=1)
    test = load_shapes("test", spurious=True, num_samples=1200, seed=1)
    follows = lambda s: np.mean(s.extras["backgrounds"] == SPURIOUS_BACKGROUNDS[s.labels // 12])
    assert abs(follows(train) - (0.95 + 0.05 / len(BACKGROUNDS))) < 0.015
    assert abs(follows(test) - 1 / len(BACKGROUNDS)) < 0.04
    # The shortcut is a function of the shape alone: it holds for every shape and colour alike.
    shape_of, colour_of = train.labels // 12, (train.labels // 3) % 4
    for s in range(4):
        for c in range(4):
            chosen = (shape_of == s) & (colour_of == c)
            assert np.mean(train.extras["backgrounds"][chosen] == SPURIOUS_BACKGROUNDS[s]) > 0.85  # 150 samples each
    assert len(set(SPURIOUS_BACKGROUNDS.tolist())) == 4
    assert dataset_info("shapes-spurious").name == "shapes-spurious" and train.info.num_classes == 48


def colour_histograms(images: np.ndarray, bins: int = 4) -> np.ndarray:
    """Joint ``bins^3`` RGB histogram per image, as fractions of its pixels."""
    q = (images.astype(np.int64) * bins) // 256
    codes = ((q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]).reshape(len(images), -1)
    counts = np.stack([np.bincount(row, minlength=bins ** 3) for row in codes])
    return counts / codes.shape[1]


def test_colour_histograms_alone_do_not_solve_shapes(full_train):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    test = load_split("shapes", "test")
    scaler = StandardScaler().fit(colour_histograms(full_train.data))
    classifier = LogisticRegression(max_iter=300, C=1.0).fit(scaler.transform(colour_histograms(full_train.data)), full_train.labels)
    accuracy = classifier.score(scaler.transform(colour_histograms(test.data)), test.labels)
    # Colour (and the share of dark pattern pixels) is visible to the histogram, the shape is not.
    assert 4 / 48 < accuracy < 0.5, accuracy


def test_render_backgrounds_is_seeded_and_distinct_per_texture():
    ids = np.repeat(np.arange(len(BACKGROUNDS)), 20)
    first = render_backgrounds(np.random.default_rng(5), ids, 48)
    assert first.shape == (len(ids), 48, 48, 3) and first.dtype == np.float32
    assert first.min() >= 0 and first.max() <= 1
    assert np.array_equal(first, render_backgrounds(np.random.default_rng(5), ids, 48))
    means = first.mean((1, 2))
    assert (np.linalg.norm(means[:, None] - _BACKGROUND_RGB[None], axis=-1).argmin(1) == ids).all()
    # Textures, not flat colours: every background has visible spatial variation.
    assert (first.std((1, 2)).mean(-1) > 0.01).all()


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
