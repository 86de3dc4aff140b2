"""creatures: part-based scenes drawn from parameters, so that interventions re-render instead of masking."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.data import creatures as cr


@pytest.fixture(scope="module")
def split():
    return cr.load_creatures("test", num_samples=100)


def test_classes_are_part_variants_shared_and_one_part_apart():
    table = cr.CLASS_VARIANTS
    assert len(cr.CLASS_NAMES) >= 40 and table.shape == (len(cr.CLASS_NAMES), len(cr.PARTS)) and len(cr.PARTS) >= 5
    assert len({tuple(r) for r in table}) == len(table)  # distinct classes
    for p, part in enumerate(cr.PARTS):
        uses = np.bincount(table[:, p], minlength=len(cr.VARIANTS[part]))
        assert uses.min() >= 2, (part, uses)  # every variant shared by several classes
    differing = (table[:, None, :] != table[None, :, :]).sum(-1)
    np.fill_diagonal(differing, 99)
    assert (differing.min(1) == 1).all()  # every class one part away from another


def test_a_redraw_without_intervention_is_bit_identical(split):
    again = cr.render_scenes(cr.scenes_of(split))
    assert np.array_equal(again.images, split.data) and np.array_equal(again.part_map, split.extras["part_map"])


def test_removing_a_part_changes_only_that_parts_pixels(split):
    scenes, part_map = cr.scenes_of(split), split.extras["part_map"]
    masks = cr.part_masks(part_map)
    for p, part in enumerate(cr.PARTS):
        remove = np.zeros(len(cr.PARTS), bool)
        remove[p] = True
        drawn = cr.render_scenes(scenes, remove_parts=remove)
        changed = (drawn.images != split.data).any(-1)
        assert not (changed & ~masks[:, p]).any(), part  # nothing outside the part's own pixels changes
        assert not (changed & (part_map == 0)).any()  # no background pixel changes
        assert not (drawn.part_map == cr.FIRST_PART_LAYER + p).any()
        shown = masks[:, p].reshape(len(split), -1).any(1)
        assert changed.reshape(len(split), -1).any(1)[shown].mean() > 0.95, part  # and where the part was, it is gone


def test_removing_distractors_and_changing_the_background_touch_nothing_else(split):
    scenes, part_map = cr.scenes_of(split), split.extras["part_map"]
    drawn = cr.render_scenes(scenes, remove_distractors=np.ones(cr.MAX_DISTRACTORS, bool))
    changed = (drawn.images != split.data).any(-1)
    assert not (changed & (part_map < cr.FIRST_DISTRACTOR_LAYER)).any()
    assert (drawn.part_map < cr.FIRST_DISTRACTOR_LAYER).all()
    other = cr.render_scenes(scenes, background=(scenes.background + 1) % len(cr.BACKGROUNDS))
    changed = (other.images != split.data).any(-1)
    assert not (changed & (part_map > 0)).any()  # creature and distractors identical
    assert changed[part_map == 0].mean() > 0.5


def test_distractors_never_touch_the_creature(split):
    creature = split.extras["masks"]
    distractors = cr.distractor_masks(split.extras["part_map"]).any(1)
    assert not (creature & distractors).any()
    assert 0.2 < distractors.reshape(len(split), -1).any(1).mean() < 0.95  # some scenes have none, most some


def test_generation_is_seeded_and_the_attributes_name_the_part_variants(split):
    again = cr._generate("test", 20, 0, cr.IMAGE_SIZE)
    assert np.array_equal(again["images"], cr._generate("test", 20, 0, cr.IMAGE_SIZE)["images"])
    attributes, variants = split.extras["attributes"], split.extras["part_variants"]
    assert (attributes.sum(1) == len(cr.PARTS)).all()
    names = cr.ATTRIBUTE_NAMES
    for i in range(5):
        on = {names[a] for a in np.flatnonzero(attributes[i])}
        assert on == {f"{part}::{cr.VARIANTS[part][v][0]}" for part, v in zip(cr.PARTS, variants[i])}
    assert (variants == cr.CLASS_VARIANTS[split.labels]).all()


def test_training_images_lose_random_parts_as_in_funnybirds_and_redraw_exactly():
    train = cr.load_creatures("train", num_samples=400)
    removed = train.extras["removed_parts"]
    assert removed.shape == (400, len(cr.PARTS)) and removed.dtype == bool
    assert 0.3 < removed.any(1).mean() < 0.5  # half the images are chosen, 1 in 6 of those keeps every part
    assert removed.all(1).any() and 0.15 < removed.mean() < 0.35  # k uniform in 0..5 on half: 1.25 of 5 parts
    again = cr.render_scenes(cr.scenes_of(train), remove_parts=removed)
    assert np.array_equal(again.images, train.data) and np.array_equal(again.part_map, train.extras["part_map"])
    drawn = cr.part_masks(train.extras["part_map"]).reshape(400, len(cr.PARTS), -1).any(-1)
    assert not (drawn & removed).any()  # a removed part shows no pixel
    offsets = np.cumsum([0] + [len(cr.VARIANTS[p]) for p in cr.PARTS])[:-1]
    on = train.extras["attributes"][np.arange(400)[:, None], offsets + train.extras["part_variants"]]
    assert np.array_equal(on.astype(bool), ~removed) and (train.extras["attributes"].sum(1) == (~removed).sum(1)).all()
    assert not cr.load_creatures("test", num_samples=50).extras["removed_parts"].any()  # test images are complete


def test_consistent_classes_are_the_classes_agreeing_with_every_part_drawn():
    table = cr.CLASS_VARIANTS
    full = cr.consistent_classes(table, np.zeros(len(cr.PARTS), bool))
    assert np.array_equal(full, np.eye(len(table), dtype=bool))  # distinct classes: only itself
    assert cr.consistent_classes(table[:3], np.ones(len(cr.PARTS), bool)).all()  # a bare body fits every class
    differing = (table[:, None, :] != table[None, :, :])
    for c in range(len(table)):
        twin = int(np.flatnonzero(differing[c].sum(-1) == 1)[0])
        part = int(np.flatnonzero(differing[c, twin])[0])
        removed = np.zeros(len(cr.PARTS), bool)
        removed[part] = True
        allowed = cr.consistent_classes(table[c:c + 1], removed)[0]
        assert allowed[c] and allowed[twin]  # removing the part that tells the twins apart leaves both
    for p, part in enumerate(cr.PARTS):  # only part p drawn: every class with that variant of p
        only = np.ones(len(cr.PARTS), bool)
        only[p] = False
        uses = np.bincount(table[:, p], minlength=len(cr.VARIANTS[part]))
        assert np.array_equal(cr.consistent_classes(table, only).sum(1), uses[table[:, p]])
