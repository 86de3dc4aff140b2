"""Dataset statistics: concept sharing and within-class variation computed from attributes, and the CLI."""
from __future__ import annotations

import json

import numpy as np

from interp_core.data.stats import attribute_groups, concept_structure


def test_concept_structure_counts_shared_values_and_within_class_variation():
    names = ("shape::circle", "shape::square", "size::small", "size::large")
    # 4 classes: shape fixed by class (0,1 circle; 2,3 square); size varies only in classes 1 and 3.
    labels = np.repeat(np.arange(4), 4)
    shape = np.repeat([0, 0, 1, 1], 4)
    large = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
    attributes = np.zeros((16, 4), dtype=np.uint8)
    attributes[np.arange(16), shape] = 1
    attributes[np.arange(16), 2 + large] = 1
    out = concept_structure(attributes, labels, names, 4)
    assert out["classes_per_value"] == {"shape::circle": 2, "shape::square": 2, "size::small": 2, "size::large": 2}
    assert out["within_class"]["shape"] == {"values": 2, "classes_varying": 0, "share_varying": 0.0, "off_mode": 0.0}
    size = out["within_class"]["size"]
    assert size["classes_varying"] == 2 and size["off_mode"] == np.mean([0, 0.25, 0, 0.25])
    assert attribute_groups(names) == {"shape": [0, 1], "size": [2, 3]}


def test_data_stats_cli_generates_and_reports(capsys):
    from interp_core.cli import main

    assert main(["data", "stats", "digits", "--split", "test", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["classes"] == 10 and stats["samples"] == 359 and stats["generation_seconds"] > 0
    assert stats["ground_truth"]["masks"] == [359, 28, 28]
