"""``derive NAME --families bcos``: an imported torchvision ResNet-18 over a tiny ImageFolder gets
``bcos-NAME`` (B-cosification), which trains and is explained by ``bcos`` with complete contributions; a
model that cannot be B-cosified is refused with the reason."""
from __future__ import annotations

import json

import pytest
import torch

from tests.cli.test_derive import COLOURS, NAME, _run
from tests.cli.test_derive import derived  # noqa: F401  (the fixture: a ResNet-18 imported into a private cache)


def test_derive_bcos_registers_bcos_name_which_trains_and_explains(derived):
    from interp_core.external.derived import derived_from
    from interp_core.methods.base import get_explainer
    from interp_core.store.models import load_model
    from interp_core.store.recipes import get_recipe

    rc, out, err = _run("derive", NAME, "--families", "bcos", "--set", "bcos.epochs=2", "--json")
    assert rc == 0, err
    assert json.loads(out)["derived"] == {"bcos": [f"bcos-{NAME}"]}
    recipe = get_recipe(f"bcos-{NAME}")
    template = get_recipe("bcosified-cnn-shapes")
    assert (recipe.kind, recipe.family, recipe.base, recipe.dataset, recipe.epochs) == ("bcosified", "bcos", NAME, derived["dataset"], 2)
    assert (recipe.b, recipe.lr, recipe.loss) == (template.b, template.lr, template.loss)
    assert derived_from(recipe.name) == {"imported": NAME, "template": "bcosified-cnn-shapes", "starts_from": {"base": NAME}}

    rc, out, err = _run("train", f"bcos-{NAME}", "--quiet", "--json")
    assert rc == 0, err
    trained = json.loads(out)
    assert 0.0 <= trained["accuracy"] <= 1.0 and trained["original"]["recipe"] == NAME
    assert trained["completeness_error"] < 1e-4  # contributions sum to the logit minus its bias
    loaded = load_model(f"bcos-{NAME}", "cpu", train_if_missing=False)
    history = loaded.meta["fit"]["history"]
    assert [row["epoch"] for row in history] == [1, 2] and all(0 <= row["val_accuracy"] <= 1 for row in history)
    assert loaded.meta["fit"]["base"] == NAME
    x = torch.rand(3, 32, 32)
    explanation = get_explainer("bcos", loaded).explain(x, [1])[0]
    assert explanation.attribution.shape == (32, 32)
    assert float(explanation.attribution.sum()) == pytest.approx(explanation.score - loaded.model.logit_layer.bias, rel=1e-4, abs=1e-5)

    rc, out, err = _run("eval", f"bcos-{NAME}", "--json")
    assert rc == 0, err
    metrics = json.loads(out)
    assert metrics["accuracy"] == pytest.approx(trained["accuracy"])
    assert metrics["fine_tuning"]["epochs"] == 2 and metrics["fine_tuning"]["seconds"] > 0


def test_a_model_that_cannot_be_bcosified_is_refused_with_the_reason(derived):
    from interp_core.models import build_model
    from interp_core.store.recipes import RECIPES

    torch.manual_seed(0)
    path = derived["work"] / "bcos-cnn.pt"
    torch.save(build_model("bcos-cnn", in_channels=3, num_classes=len(COLOURS), widths=(8, 8), strides=(2, 2)).state_dict(), path)
    rc, out, err = _run("import-model", "already-bcos", "--arch", "bcos-cnn", "--arch-kwargs", '{"widths": [8, 8], "strides": [2, 2]}',
                        "--weights", str(path), "--classes", str(derived["work"] / "classes.txt"), "--dataset", derived["dataset"],
                        "--derive", "bcos", "--no-eval", "--json")
    assert rc == 2  # imported, but nothing derived
    reason = json.loads(out)["derive"]["skipped"]["bcos"]
    assert f"skipped bcos: {reason}" in err
    assert "'bcosified-cnn-shapes' does not fit 'already-bcos' (bcos-cnn" in reason
    assert "a BcosNetwork has no features(x) and classifier" in reason
    assert "bcos-already-bcos" not in RECIPES
