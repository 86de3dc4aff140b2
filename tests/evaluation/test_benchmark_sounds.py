"""The benchmark on sounds-mix: mixtures re-mixed without a source, scored on a shipped sound classifier."""
from __future__ import annotations

import numpy as np
import pytest


def _shipped(name: str) -> bool:
    from interp_core.paths import SHIPPED_CHECKPOINTS
    from interp_core.store import get_recipe, recipe_hash

    return (SHIPPED_CHECKPOINTS / f"{name}-{recipe_hash(get_recipe(name))}.json").exists()


def test_remixes_without_a_source_add_up_to_the_stored_mixture():
    from interp_core.evaluation.interventions import get_suite

    suite = get_suite("sounds-mix")
    batch = suite.batch(np.arange(2))
    assert batch.keep_inputs.shape == (2, 8, 1, 257, 182) and batch.removal_inputs.shape[1] == 0
    assert (batch.keep_inputs[:, 7] == batch.inputs).all()  # all three sources: the stored mixture, exactly
    assert (batch.keep_inputs[:, 0] == 0).all()  # none: silence
    # the items tile the spectrogram: event a's mask, event b's, the rest is the background's
    masks = suite.split().extras["source_masks"][:2]
    assert ((batch.item_map == 1) == masks[:, 0]).all() and ((batch.item_map == 2) == masks[:, 1]).all()
    assert set(np.unique(batch.item_map)) <= {1, 2, 3}


@pytest.mark.skipif(not _shipped("cnn-sounds"), reason="needs the shipped cnn-sounds checkpoint")
def test_sound_classifier_gets_single_deletion_and_the_checks(tmp_path, monkeypatch):
    from interp_core.data import load_split
    from interp_core.evaluation.benchmark import run_benchmark

    load_split("sounds-mix", "test")
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    out = run_benchmark("sounds-mix", ["cnn-sounds"], ["gradient"], images=8)
    row = out["rows"][0]
    assert row["images"] == 8 and row["family"] == "posthoc"
    for key in ("pc", "pc_best", "dc", "dc_best", "sd"):
        assert 0.0 <= row[key] <= 1.0
    for key in ("csdc", "ts", "bi", "completeness", "pointing_game", "randomisation"):
        assert row[key] is None
    refs = {r["method"]: r for r in out["references"]}
    assert refs["oracle"]["sd"] == pytest.approx(1.0)
    assert refs["oracle"]["pc_best"] >= refs["random"]["pc_best"] and refs["oracle"]["dc_best"] >= refs["random"]["dc_best"]
