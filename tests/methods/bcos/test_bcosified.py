"""B-cosified recipes: the handler converts the shipped classifier and fine-tunes it through the engine,
``eval`` reports complete contributions and the comparisons, the view's numbers come from the records."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from interp_core.methods.bcos import bcosify_metrics, views
from interp_core.methods.bcos.bcosify_recipes import FROM_SCRATCH, BcosifiedRecipe
from interp_core.store.recipes import RECIPES, get_recipe, register_recipe

TEST_RECIPE = "bcosified-test-digits"


@pytest.fixture(scope="module")
def trained():
    """A one-epoch B-cosified cnn-digits (the shipped classifier) on 300 training images, in the test cache, at
    the paper's B = 2 (at the shipped recipe's B = 3.5 one epoch on 300 images leaves the logits at about 1e-28:
    every layer scales its output by |cos|^(B-1), and the alignment that undoes it takes longer to learn)."""
    from interp_core.store.models import train_recipe

    recipe = dataclasses.replace(get_recipe("bcosified-cnn-digits"), name=TEST_RECIPE, shipped=False, epochs=1, train_subset=300,
                                 b=2.0)
    register_recipe(recipe)
    try:
        yield train_recipe(TEST_RECIPE, "cpu", show_bar=False)
    finally:
        RECIPES.unregister(TEST_RECIPE)


def test_training_converts_the_shipped_classifier_and_records_every_epoch(trained):
    fit = trained.meta["fit"]
    assert fit["base"] == "cnn-digits" and fit["epochs_run"] == 1 and [r["epoch"] for r in fit["history"]] == [1]
    assert 0 <= fit["converted_val_accuracy"] <= 1 and fit["history"][0]["seconds"] > 0
    # Every bias is gone and B = 2 everywhere: the paper's conversion.
    assert not any(isinstance(getattr(m, "bias", None), torch.Tensor) for m in trained.model.modules())
    assert {m.b for m in trained.model.modules() if hasattr(m, "b") and hasattr(m, "weight")} == {2.0}


def test_eval_reports_complete_contributions_and_the_comparisons(trained):
    from interp_core.store.models import evaluate_recipe, load_model

    metrics = evaluate_recipe(TEST_RECIPE, "cpu")
    assert metrics["accuracy"] == pytest.approx(trained.meta["test_metrics"]["accuracy"])
    assert metrics["completeness_error"] < 1e-8  # float64: the map's arithmetic
    assert metrics["completeness_error_float32"] < 1e-2  # the dashboard's float32 maps round a little
    base = load_model("cnn-digits", "cpu", train_if_missing=False)
    from interp_core.data import load_split
    from interp_core.training.engine import evaluate_classifier

    assert metrics["original"]["accuracy"] == pytest.approx(evaluate_classifier(base.model, load_split("digits", "test"), base.device)["accuracy"])
    assert 0 <= metrics["mask_iou"] <= 1 and 0 <= metrics["original_gradcam_mask_iou"] <= 1  # digits carry ink masks
    assert metrics["fine_tuning"]["epochs"] == 1 and metrics["fine_tuning"]["seconds"] == trained.meta["train_seconds"]
    # The record of *these* weights only: while training (no checkpoint yet) eval leaves it out.
    assert "fine_tuning" not in trained.meta["test_metrics"]


def test_the_view_reads_the_origin_and_the_curve(trained):
    origin = views.bcosified_origin(TEST_RECIPE)
    assert origin["base"] == "cnn-digits" and origin["from_scratch"] is None
    assert views.baseline_recipe(TEST_RECIPE) == "cnn-digits" and views.baseline_recipe("bcos-shapes") == "cnn-shapes"
    assert views.bcosified_origin("bcos-shapes") is None
    curve = views.fine_tuning_curves(TEST_RECIPE)
    assert [(r["model"], r["epoch"]) for r in curve] == [(TEST_RECIPE, 0), (TEST_RECIPE, 1)]
    assert curve[0]["val_accuracy"] == trained.meta["fit"]["converted_val_accuracy"]
    rows = {r["model"]: r for r in views.bcosified_table()}
    assert rows["bcosified-cnn-shapes"]["converted from"] == "cnn-shapes" and rows["bcosified-cnn-shapes"]["from-scratch twin"] == "bcos-shapes"


def test_before_after_reads_the_original_as_a_b1_bcos_network(trained):
    from interp_core.data import load_split
    from interp_core.store.models import load_model

    x = load_split("digits", "test").inputs([0])[0]
    before, after = views.before_after(trained, x, 3)
    bias = trained.model.logit_layer.bias
    with torch.no_grad():
        original = load_model("cnn-digits", "cpu", train_if_missing=False).model(x.unsqueeze(0))[0, 3]
    assert before.score - bias == pytest.approx(float(original), abs=1e-4)  # the same function
    assert abs(float(before.attribution.sum()) - (before.score - bias)) > 1e-3  # ... whose biases are not in the map
    assert float(after.attribution.sum()) == pytest.approx(after.score - bias, rel=1e-4, abs=1e-5)


def test_fine_tuning_record_reads_when_the_twin_accuracy_was_reached(monkeypatch):
    twin = {"train_seconds": 600.0, "fit": {"val_accuracy": 0.9, "epochs_run": 24}}
    monkeypatch.setattr(bcosify_metrics, "checkpoint_meta", lambda name: twin if name == "twin" else {})
    meta = {"train_seconds": 150.0, "fit": {"epochs_run": 3, "converted_val_accuracy": 0.1, "val_accuracy": 0.95,
                                           "history": [{"epoch": 1, "val_accuracy": 0.8, "seconds": 40.0},
                                                       {"epoch": 2, "val_accuracy": 0.91, "seconds": 90.04},
                                                       {"epoch": 3, "val_accuracy": 0.95, "seconds": 140.0}]}}
    record = bcosify_metrics.fine_tuning_record(meta, "twin")
    assert record["reached"] == {"epoch": 2, "seconds": 90.0} and record["seconds_ratio"] == 0.25
    assert (record["from_scratch_epochs"], record["from_scratch_val_accuracy"]) == (24, 0.9)
    meta["fit"]["history"][2]["val_accuracy"] = meta["fit"]["history"][1]["val_accuracy"] = 0.85
    assert bcosify_metrics.fine_tuning_record(meta, "twin")["reached"] is None
    assert "reached" not in bcosify_metrics.fine_tuning_record(meta, None)


def test_bcosified_recipes_and_the_explainer():
    from interp_core.methods.base import methods_for
    from interp_core.store.card import ModelCard

    recipe = get_recipe("bcosified-cnn-shapes")
    assert isinstance(recipe, BcosifiedRecipe) and recipe.kind == "bcosified" and recipe.depends_on == ("cnn-shapes",)
    assert FROM_SCRATCH["bcosified-cnn-shapes"] == "bcos-shapes" and recipe.output_activation == "sigmoid"
    for dataset, modality in (("shapes", "image"), ("sounds", "audio")):
        card = ModelCard("m", "bcos", "bcosified", dataset, modality, "sigmoid", ("a", "b"), (1, 4, 4), "f")
        assert "bcos" in methods_for(card)


def test_eval_compares_the_pointing_game_with_the_twin_and_the_posthoc_methods_on_the_base():
    from interp_core.evaluation.pointing import run_pointing_game
    from interp_core.evaluation.recipe_metrics import pointing_comparison_rows
    from interp_core.methods.bcos.references import bcosified_comparison, posthoc_methods
    from interp_core.store.catalog import checkpoint_status
    from interp_core.store.models import load_model

    if checkpoint_status("bcosified-cnn-shapes") == "missing":
        pytest.skip("bcosified-cnn-shapes is not trained here")
    base = load_model("cnn-shapes", "cpu", train_if_missing=False)
    groups = bcosified_comparison(get_recipe("bcosified-cnn-shapes"))
    assert groups["pointing_game"] == (["bcosified-cnn-shapes"], ["bcos"]) and groups["pointing_game_from_scratch"] == (["bcos-shapes"], ["bcos"])
    assert groups["pointing_game_posthoc_on_base"] == (["cnn-shapes"], posthoc_methods(base.card))
    assert {"gradcam", "integrated_gradients"} <= set(posthoc_methods(base.card)) and "bcos" not in posthoc_methods(base.card)
    assert bcosified_comparison(get_recipe("bcosified-cnn-sounds")) == {}  # no pointing game on sounds

    rows = pointing_comparison_rows("bcosified-cnn-shapes", "cpu", grids=3)
    ours = run_pointing_game(["bcosified-cnn-shapes", "bcos-shapes"], ["bcos"], 3, train_if_missing=False)["results"]
    assert rows["pointing_game"] == {"mean": pytest.approx(ours[0]["mean"], abs=1e-4), "grids": 3}
    assert rows["pointing_game_from_scratch"]["bcos-shapes"]["mean"] == pytest.approx(ours[1]["mean"], abs=1e-4)
    posthoc = rows["pointing_game_posthoc_on_base"]
    best = max((k for k in posthoc if isinstance(posthoc[k], dict)), key=lambda k: posthoc[k]["mean"])
    assert posthoc["best"] == best and posthoc["gap"] == pytest.approx(rows["pointing_game"]["mean"] - posthoc[best]["mean"], abs=1e-4)
