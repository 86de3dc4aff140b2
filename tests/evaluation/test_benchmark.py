"""The intervention benchmark by recipe name on a tiny creatures CNN trained here: every pair and both
references scored, a repeated run read from the cache, an interrupted one resumed exactly, the recorded
results file, the drill-down, and the interventions themselves."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.evaluation.benchmark import METRICS, BenchmarkError, read_results, run_benchmark, write_results
from interp_core.methods.standard.recipes import ClassifierRecipe

TINY = ClassifierRecipe(family="standard", name="test-tiny-creatures", dataset="creatures", arch="cnn",
                        arch_kwargs={"widths": [8, 8, 16, 16]}, epochs=1, batch_size=64, lr=3e-3, patience=0, train_subset=480)
SMALL = dict(images=6, costly_images=2, randomisation_images=2, costly_randomisation_images=0, pointing_grids=0)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """``TINY`` trained into a private cache (the creatures splits come from the test cache first)."""
    from interp_core.data import load_split
    from interp_core.store import models as store_models
    from interp_core.store.recipes import RECIPES, register_recipe

    load_split("creatures", "train"), load_split("creatures", "test")
    patch = pytest.MonkeyPatch()
    patch.setenv("INTERP_CORE_HOME", str(tmp_path_factory.mktemp("home")))
    store_models._LOADED.clear()
    register_recipe(TINY)
    store_models.train_recipe(TINY.name, "cpu", show_bar=False)
    yield TINY.name
    RECIPES.unregister(TINY.name)
    store_models._LOADED.clear()
    patch.undo()


def _stable(rows):
    return [{k: v for k, v in row.items() if k not in ("seconds", "cached")} for row in rows]


def test_every_pair_and_both_references_are_scored_then_read_from_the_cache(tiny_model, monkeypatch):
    fractions = []
    out = run_benchmark("creatures", [tiny_model], ["gradient", "gradcam", "integrated_gradients"], progress=lambda p: fractions.append(p.fraction), **SMALL)
    rows = {r["method"]: r for r in out["rows"]}
    assert list(rows) == ["gradient", "gradcam", "integrated_gradients"]
    ig = rows["integrated_gradients"]
    assert rows["gradient"]["images"] == 6 and ig["images"] == 2 and ig["costly"] and ig["randomisation"] is None
    assert rows["gradient"]["family"] == "posthoc"
    refs = {r["method"]: r for r in out["references"]}
    assert list(refs) == ["random", "uniform", "oracle"] and refs["oracle"]["family"] == "reference"
    for row in out["rows"] + out["references"]:
        assert set(METRICS) <= set(row)
        assert row["pc"] is not None and 0.0 <= row["pc"] <= 1.0 and row["sd"] is not None
        assert row["bi"] == refs["oracle"]["bi"]  # a property of the model, the same in every row
    # The oracle ranks parts by their true drops (the untrained model gets no image right: no CSDC to compare).
    assert refs["oracle"]["sd"] == pytest.approx(1.0) and refs["oracle"]["counts"]["sd_dropped"] == 0
    assert refs["random"]["randomisation"] is None and refs["uniform"]["sparseness"] == 0.0  # a constant map
    # The cascade re-drew every parameterised layer of the CNN (conv and batch norm of 4 blocks, the classifier).
    curve = rows["gradient"]["randomisation_curve"]
    assert len(curve) == 9 and curve[0]["layer"] == "classifier" and -1.0 <= rows["gradient"]["randomisation"] <= 1.0
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert out["fingerprints"][tiny_model] and out["config"]["images"] == 6

    def no_explaining(*args, **kwargs):
        raise AssertionError("a finished run must come from the cache")

    monkeypatch.setattr("interp_core.methods.base.get_explainer", no_explaining)
    again = run_benchmark("creatures", [tiny_model], ["gradient", "gradcam", "integrated_gradients"], **SMALL)
    assert _stable(again["rows"]) == _stable(out["rows"]) and _stable(again["references"]) == _stable(out["references"])
    assert [r["cached"] for r in again["rows"]] == [6, 6, 2]


class Stop(Exception):
    pass


def test_an_interrupted_run_resumes_exactly(tiny_model):
    settings = dict(SMALL, images=20, randomisation_images=0, costly_randomisation_images=0)
    fresh = run_benchmark("creatures", [tiny_model], ["input_x_gradient"], use_cache=False, **settings)

    def stop_midway(step):
        if "input_x_gradient: 8/" in step.message:
            raise Stop

    with pytest.raises(Stop):
        run_benchmark("creatures", [tiny_model], ["input_x_gradient"], progress=stop_midway, **settings)
    resumed = run_benchmark("creatures", [tiny_model], ["input_x_gradient"], **settings)
    assert resumed["rows"][0]["cached"] == 8
    assert _stable(resumed["rows"]) == _stable(fresh["rows"])


def test_recorded_results_are_used_only_for_the_same_weights(tiny_model, tmp_path):
    out = run_benchmark("creatures", [tiny_model], ["gradient"], **SMALL)
    path = write_results(out, tmp_path / "creatures.json")
    assert read_results("creatures", path)["rows"] == out["rows"]
    path.write_text(path.read_text().replace(out["fingerprints"][tiny_model], "000000000000"))
    assert read_results("creatures", path) is None
    assert read_results("creatures", tmp_path / "missing.json") is None


def test_drill_down_shows_each_removal_and_the_score_it_changed(tiny_model):
    from interp_core.evaluation.benchmark import drill_down
    from interp_core.evaluation.interventions import get_suite

    suite = get_suite("creatures")
    index = int(np.nonzero((suite.split().extras["distractors"][:, :, 0] > 0).sum(1) == 2)[0][0])  # two distractors
    out = drill_down(tiny_model, "gradient", index)
    assert [i["removed"] for i in out["interventions"]] == ["beak", "eye", "wing", "tail", "legs", "distractor 1", "distractor 2"]
    for step, item in zip(out["interventions"], out["importance"]):
        assert step["change"] == pytest.approx(step["score"] - out["score"], abs=1e-5)
        assert item["true_drop"] == pytest.approx(-step["change"], abs=1e-5)
        assert step["image"].shape == (64, 64, 3) and step["image"].dtype == np.uint8
    assert sum(i["share"] for i in out["importance"]) <= 1.0 + 1e-9
    assert out["map"].shape == (64, 64) and out["image"].shape == (64, 64, 3)
    # the dilated regions contain every item pixel, each pixel counted once
    assert ((out["regions"] + 1)[out["item_map"] > 0] == out["item_map"][out["item_map"] > 0]).all()


def test_creatures_interventions_redraw_the_input_exactly():
    from interp_core.evaluation.interventions import get_suite

    batch = get_suite("creatures").batch(np.arange(3))
    assert batch.keep_inputs.shape == (3, 32, 3, 64, 64) and batch.removal_inputs.shape == (3, 3, 3, 64, 64)
    assert (batch.keep_inputs[:, 31] == batch.inputs).all()  # every part kept: bit-identical
    beak = batch.item_map == 1
    changed = (batch.keep_inputs[:, 31 ^ 1] != batch.inputs).any(1).numpy()  # the beak removed
    assert changed.any() and not (changed & ~beak).any()


def test_refusals(tiny_model):
    with pytest.raises(BenchmarkError, match="Unknown explanation method"):
        run_benchmark("creatures", [tiny_model], ["no-such-method"])
    with pytest.raises(ValueError, match="Unknown benchmark"):
        run_benchmark("no-such-benchmark", [tiny_model])
    with pytest.raises(BenchmarkError, match="takes models of"):
        run_benchmark("sounds-mix", [tiny_model], ["gradient"], images=1)
    out = run_benchmark("creatures", [tiny_model], ["gradient", "bcos"], **dict(SMALL, pointing_grids=1))
    assert [r["method"] for r in out["rows"]] == ["gradient"] and any("bcos explains none" in n for n in out["notes"])
    # the untrained model classifies too few images confidently to fill a grid: no pointing-game score, said so
    assert out["rows"][0]["pointing_game"] is None and any(n.startswith("pointing game:") for n in out["notes"])
