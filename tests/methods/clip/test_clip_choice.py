"""Choosing the CLIP model that names Q-SENN's features, and the matrix helpers of the Q-SENN view."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.methods.qsenn.views import ClipChoice, clicked_cell, concept_prompts_for, feature_order


def test_a_pretrained_choice_needs_an_architecture_and_weights():
    assert ClipChoice().label == "clip-shapes"
    assert ClipChoice(model="ViT-B-32", tag="openai").label == "ViT-B-32 (openai)"
    with pytest.raises(ValueError, match="--clip-model"):
        ClipChoice(weights="/some/file.bin")
    with pytest.raises(ValueError, match="--clip-weights PATH.*--clip-pretrained TAG"):
        ClipChoice(model="ViT-B-32")


def test_concept_prompts_exist_for_the_shapes_datasets_only():
    assert list(concept_prompts_for("shapes")) == list(concept_prompts_for("shapes-spurious"))
    assert concept_prompts_for("shapes")["color::red"][0] == "a photo of a red shape"
    with pytest.raises(ValueError, match="no concept prompts"):
        concept_prompts_for("digits")


def test_features_are_ordered_by_how_many_classes_use_them_and_clicks_name_their_cell():
    weight = np.array([[0, 1, -1, 0], [0, 1, 0, 0], [1, -1, 0, 0]], dtype=np.float32)
    assert feature_order(weight) == [1, 0, 2, 3]
    assert clicked_cell([{"customdata": [2, 1, -1.0]}]) == (2, 1)
    assert clicked_cell([{"customdata": {"1": 3, "0": 0, "2": 1.0}}]) == (0, 3)  # a typed array from the browser
    assert clicked_cell([{"x": 1}]) is None
