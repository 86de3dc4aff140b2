"""Quantus 0.6 through our explain function: localisation metrics that agree with a recomputation from our
own maps, and an MPRT that reaches every layer of a B-cos network (and silently none without the adapter).

Only metrics that run on numpy 2.4 are used (none of Quantus' AUC metrics, no IROF)."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

quantus = pytest.importorskip("quantus")

from interp_core.data import load_split  # noqa: E402
from interp_core.integrations.quantus import (  # noqa: E402
    explain,
    explain_arguments,
    ground_truth_masks,
    layers_mprt_skips,
    quantus_batch,
    randomisable_model,
)
from interp_core.methods.base import UnsupportedModelError, get_explainer  # noqa: E402
from interp_core.models import build_model  # noqa: E402
from interp_core.store.card import ModelCard  # noqa: E402
from interp_core.store.models import load_model  # noqa: E402
from tiny_data import tiny_split  # noqa: E402

SIZE = 16
N_SHIPPED = 6  # shapes test images scored with the shipped models


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    cnn = build_model("cnn", in_channels=3, num_classes=3, widths=(4, 6, 8, 10)).eval()
    bcos = build_model("bcos-cnn", in_channels=3, num_classes=3, widths=(8, 8, 16), strides=(1, 2, 1)).eval()
    cards = {"cnn": ModelCard.for_module(cnn, family="standard", num_classes=3, input_shape=(3, SIZE, SIZE)),
             "bcos": ModelCard.for_module(bcos, family="bcos", output="sigmoid", num_classes=3, input_shape=(3, SIZE, SIZE))}
    x = torch.rand(4, 3, SIZE, SIZE).numpy()
    return {"cnn": cnn, "bcos": bcos}, cards, x


@pytest.fixture(scope="module")
def shipped():
    models = {name: load_model(name, "cpu", train_if_missing=False, show_bar=False) for name in ("bcos-shapes", "cnn-shapes")}
    return models, quantus_batch(load_split("shapes", "test"), np.arange(N_SHIPPED))


@pytest.mark.parametrize("model,method", [("bcos", "bcos"), ("cnn", "gradient"), ("cnn", "input_x_gradient"), ("cnn", "gradcam")])
def test_explain_gives_the_explainers_maps_with_one_channel(tiny, model, method):
    models, cards, x = tiny
    targets = np.array([0, 2, 1, 0])
    maps = explain(models[model], x, targets, method=method, card=cards[model], device="cpu")
    assert maps.shape == (4, 1, SIZE, SIZE) and maps.dtype == np.float32
    expected = get_explainer(method, models[model], cards[model]).attribute(torch.from_numpy(x), torch.from_numpy(targets))
    np.testing.assert_allclose(maps[:, 0], expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("recipe,method", [("qsenn-shapes", "qsenn"), ("piq-shapes", "piq"), ("kmex-shapes", "kmex-b4")])
def test_explain_serves_every_family(shipped, recipe, method):
    _, batch = shipped
    trained = load_model(recipe, "cpu", train_if_missing=False, show_bar=False)
    x, y = batch["x_batch"][:2], batch["y_batch"][:2]
    maps = explain(trained.model, x, y, **explain_arguments(trained.card, method)["explain_func_kwargs"])
    expected = get_explainer(method, trained).attribute(torch.from_numpy(x), torch.from_numpy(y))
    assert maps.shape == (2, 1, *x.shape[-2:])
    np.testing.assert_allclose(maps[:, 0], expected.numpy(), rtol=1e-5, atol=1e-6)


def test_explain_is_rebuilt_on_the_weights_it_is_given(tiny):
    models, cards, x = tiny
    targets = np.array([1, 1, 1, 1])
    original = explain(models["bcos"], x, targets, method="bcos", card=cards["bcos"])
    same = explain(copy.deepcopy(models["bcos"]), x, targets, method="bcos", card=cards["bcos"])
    randomised = randomisable_model(models["bcos"])
    torch.manual_seed(1)
    randomised.body[0].reset_parameters()
    np.testing.assert_array_equal(same, original)
    assert not np.allclose(explain(randomised, x, targets, method="bcos", card=cards["bcos"]), original)


def test_explain_arguments_refuse_a_method_that_does_not_explain_the_model(tiny):
    _, cards, _ = tiny
    with pytest.raises(UnsupportedModelError):
        explain_arguments(cards["cnn"], "bcos")
    assert explain_arguments(cards["bcos"], "bcos")["explain_func_kwargs"]["card"] == cards["bcos"]


def test_masks_come_as_one_channel_batches():
    split = load_split("shapes", "test")
    masks = ground_truth_masks(split, [0, 3])
    assert masks.shape == (2, 1, *split.extras["masks"].shape[1:]) and masks.dtype == np.float32
    np.testing.assert_array_equal(masks[:, 0], split.extras["masks"][[0, 3]] > 0)
    with pytest.raises(ValueError, match="no ground-truth masks"):
        ground_truth_masks(tiny_split(2), [0])
    assert "s_batch" not in quantus_batch(tiny_split(2), [0, 1])


@pytest.mark.parametrize("recipe,method", [("bcos-shapes", "bcos"), ("cnn-shapes", "gradcam"), ("cnn-shapes", "input_x_gradient")])
def test_pointing_game_and_relevance_mass_match_our_own_maps(shipped, recipe, method):
    """Quantus' scores, computed through our explain function, equal the same scores recomputed here from
    the explainer's own maps: the adapter passes maps, targets and masks through unchanged."""
    models, batch = shipped
    trained = models[recipe]
    arguments = explain_arguments(trained.card, method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pointing = quantus.PointingGame(disable_warnings=True)(model=trained.model, **batch, **arguments, device="cpu")
        mass = quantus.RelevanceMassAccuracy(normalise=False, disable_warnings=True)(model=trained.model, **batch, **arguments,
                                                                                      device="cpu")
    maps = get_explainer(method, trained).attribute(torch.from_numpy(batch["x_batch"]), torch.from_numpy(batch["y_batch"])).numpy()
    flat, inside = maps.reshape(len(maps), -1), batch["s_batch"].reshape(len(maps), -1) > 0
    hits = (inside & (flat == flat.max(1, keepdims=True))).any(1)
    np.testing.assert_array_equal(np.asarray(pointing, dtype=bool), hits)
    np.testing.assert_allclose(mass, (flat * inside).sum(1) / flat.sum(1), rtol=1e-4)
    if method == "bcos":  # B-cos points into the object far more often than the object's area would by chance
        assert np.mean(pointing) > 2 * inside.mean()


def _mprt(model, card, batch, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantus.MPRT(disable_warnings=True, **kwargs)(model=model, x_batch=batch["x_batch"], y_batch=batch["y_batch"],
                                                             **explain_arguments(card, "bcos"), device="cpu")


def test_mprt_randomises_every_layer_of_a_bcos_network(shipped):
    models, batch = shipped
    trained = models["bcos-shapes"]
    layers = [name for name, m in trained.model.named_modules() if any(True for _ in m.parameters(recurse=False))]
    assert len(layers) == 9
    # Without the adapter Quantus finds no layer to randomise and returns nothing, without a word.
    assert layers_mprt_skips(trained.model) == layers
    assert _mprt(trained.model, trained.card, batch) == {}

    before = {k: v.clone() for k, v in trained.model.state_dict().items()}
    model = randomisable_model(trained.model)
    assert layers_mprt_skips(model) == []
    x = torch.from_numpy(batch["x_batch"])
    with torch.no_grad():
        torch.testing.assert_close(model(x), trained.model(x), rtol=0, atol=0)
    scores = _mprt(model, trained.card, batch)
    assert list(scores) == ["original", *reversed(layers)]  # cascading, top layer first
    assert np.allclose(scores["original"], 1.0)
    assert np.mean(scores[layers[0]]) < np.mean(scores[layers[-1]]) < 1.0  # decorrelates as the cascade deepens
    # Every layer's weights were redrawn; the trained model itself was not touched.
    randomised = dict(quantus.helpers.model.pytorch_model.PyTorchModel(model, channel_first=True).get_random_layer_generator())
    final = randomised[layers[0]].state_dict()
    assert all(not torch.equal(final[f"{name}.weight"], before[f"{name}.weight"]) for name in layers)
    assert all(torch.equal(v, before[k]) for k, v in trained.model.state_dict().items())
