"""Captions of the shapes datasets: faithful to the ground truth, varied, seeded; zero-shot hold-outs;
concept prompts for every attribute."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.data import load_split
from interp_core.data.captions import (
    SYNONYMS, ZERO_SHOT_COMBINATIONS, caption_objects, concept_prompts, is_zero_shot, mentions_zero_shot,
    shape_captions, zero_shot_classes, zero_shot_samples,
)
from interp_core.data.shapes import ATTRIBUTE_NAMES, BACKGROUNDS, CLASS_NAMES, COLORS, PATTERNS, SHAPES, load_shapes


@pytest.fixture(scope="module")
def small():
    return load_shapes("test", num_samples=600, seed=4)


def test_captions_are_thousands_and_distinct_on_the_train_split():
    train = load_split("shapes", "train")
    assert len(train.captions) == len(train)
    assert len(set(train.captions)) >= 2_000


def test_captions_name_the_true_concepts(small):
    named_colour = named_pattern = 0
    for caption, label, background in zip(small.captions, small.labels, small.extras["backgrounds"]):
        objects = caption_objects(caption)
        assert len(objects) == 1, caption
        shape, colour, pattern = objects[0]
        assert shape == SHAPES[label // 12], caption
        assert colour in (None, COLORS[(label // 3) % 4]), caption
        assert pattern in (None, PATTERNS[label % 3]), caption
        named_colour += colour is not None
        named_pattern += pattern is not None
        for b, name in enumerate(BACKGROUNDS):
            if any(phrase in caption for phrase in SYNONYMS[f"background::{name}"]):
                assert b == background, caption
    # Attribute dropout: defining concepts are rarely left out, but sometimes.
    assert 0.85 < named_colour / len(small) < 0.97 and 0.8 < named_pattern / len(small) < 0.95


def test_captions_use_synonyms_and_optional_concepts(small):
    text = " ".join(small.captions)
    for word in ("circle", "round shape", "disc", "striped", "banded", "dark outline", "white spot"):
        assert word in text, word
    spot = [("spot" in c or "mark" in c) for c in small.captions]
    has_spot = small.extras["part_masks"].any((1, 2))
    # a spot is mentioned for most samples that have one, seldom ("with no spot") for those that do not
    assert np.mean(np.array(spot)[has_spot]) > 0.6 and np.mean(np.array(spot)[~has_spot]) < 0.15


def test_captions_are_seeded_and_per_sample(small):
    labels, attrs = small.labels, small.extras["attributes"]
    first = shape_captions(labels, attrs, seed=4, split="test")
    assert first == small.captions
    assert shape_captions(labels[:50], attrs[:50], seed=4, split="test") == first[:50]
    other = shape_captions(labels, attrs, seed=5, split="test")
    assert np.mean([a != b for a, b in zip(first, other)]) > 0.8


def test_zero_shot_combinations_cover_every_concept_and_are_recognised(small):
    classes = zero_shot_classes()
    assert len(set(classes)) == len(ZERO_SHOT_COMBINATIONS) >= 3
    assert {s for s, _, _ in ZERO_SHOT_COMBINATIONS} == set(SHAPES)
    assert {c for _, c, _ in ZERO_SHOT_COMBINATIONS} == set(COLORS)
    assert {p for _, _, p in ZERO_SHOT_COMBINATIONS} == set(PATTERNS)
    for label in classes:
        color, pattern, shape = CLASS_NAMES[label].split()
        assert (shape, color, pattern) in ZERO_SHOT_COMBINATIONS and is_zero_shot(label)
    held = zero_shot_samples(small)
    assert np.array_equal(held, np.isin(small.labels, classes)) and 0 < held.mean() < 0.2
    for caption, is_held in zip(small.captions, held):
        shape, colour, pattern = caption_objects(caption)[0]
        assert mentions_zero_shot(caption) == (is_held and colour is not None and pattern is not None), caption
    assert mentions_zero_shot("a photo of a golden banded round shape on sand")
    assert not mentions_zero_shot("a photo of a golden round shape on sand")


def test_zero_shot_samples_of_scenes_count_any_object():
    from interp_core.data.scenes import load_shapes_multi

    scenes = load_shapes_multi("test", num_samples=60, seed=5)
    held = zero_shot_samples(scenes)
    expected = np.isin(scenes.extras["object_labels"], zero_shot_classes()).any(1)
    assert np.array_equal(held, expected)


def test_concept_prompts_cover_every_attribute_in_q_senn_form():
    prompts = concept_prompts()
    assert list(prompts) == list(ATTRIBUTE_NAMES)
    every = [p for texts in prompts.values() for p in texts]
    assert all(len(texts) >= 2 for texts in prompts.values())
    assert all(p.startswith("a photo of a") for p in every)
    assert len(set(every)) == len(every)  # no prompt stands for two concepts
    assert "a photo of a shape with stripes" in prompts["pattern::striped"]
    assert any("shape" in p and "red" in p for p in prompts["color::red"])
