"""The explanation contract, for every registered explainer on a tiny model of every family.

Each registered method runs on each tiny model whose card it supports: maps of input size, dtype and
device; no gradient left behind; several targets in one call equal to single calls; typed fields of the
right types; every declared panel drawable. On every other model, construction is refused. A toy family,
registered through the public API only, then shows up in Compare and the pointing game.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torch.nn as nn

from interp_core.methods.base import (
    EXPLAINERS,
    PANELS,
    Explainer,
    ExplainerOutput,
    Explanation,
    UnsupportedModelError,
    available_explainers,
    get_explainer,
    register_explainer,
)
from interp_core.models import build_model
from interp_core.store.card import ModelCard
from interp_core.visualize import explanation_panels
from tiny_data import tiny_split

SIZE = 16


@dataclass
class Subject:
    """A tiny model of one family with its card and an input of its modality."""

    model: nn.Module
    card: ModelCard
    x: torch.Tensor = field(repr=False)


def _subjects() -> dict[str, Subject]:
    torch.manual_seed(0)
    cnn = build_model("cnn", in_channels=3, num_classes=3, widths=(4, 6, 8, 10)).eval()
    audio = build_model("audio-cnn", in_channels=1, num_classes=3, widths=(4, 6, 8, 8)).eval()
    bcos = build_model("bcos-cnn", in_channels=3, num_classes=3, widths=(8, 8, 16), strides=(1, 2, 1)).eval()
    from interp_core.methods.kmex.fitting import KMExFitter

    split = tiny_split(8)
    kmex = KMExFitter(prototypes_per_class=2, n_init=1, encoder_n_init=1, encoder_images_per_class=6,
                      encoder_pixels_per_image=8).fit(copy.deepcopy(cnn), split).model_.eval()
    image = split.inputs([4])[0]
    spectrogram = torch.rand(1, 32, 32)
    card = ModelCard.for_module
    return {**_built_in(cnn, audio, bcos, kmex, image, spectrogram, card), **_family_subjects()}


def _family_subjects() -> dict[str, Subject]:
    """Subjects a family's tests contribute: ``tests/methods/<family>/contract_subjects.py`` defines
    ``subjects() -> {name: (model, card, x)}`` (no edit to this file needed)."""
    import importlib.util
    from pathlib import Path

    out: dict[str, Subject] = {}
    for path in sorted(Path(__file__).resolve().parent.glob("*/contract_subjects.py")):
        spec = importlib.util.spec_from_file_location(f"contract_subjects_{path.parent.name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, (model, card, x) in module.subjects().items():
            out[name] = Subject(model.eval(), card, x)
    return out


def _built_in(cnn, audio, bcos, kmex, image, spectrogram, card) -> dict[str, Subject]:
    return {
        "standard image CNN": Subject(cnn, card(cnn, family="standard", num_classes=3, input_shape=(3, SIZE, SIZE)), image),
        "standard audio CNN": Subject(audio, card(audio, family="standard", modality="audio", num_classes=3, input_shape=(1, 32, 32)),
                                      spectrogram),
        "B-cos network": Subject(bcos, card(bcos, family="bcos", output="sigmoid", num_classes=3, input_shape=(3, SIZE, SIZE)), image),
        "KMEx model": Subject(kmex, card(kmex, family="kmex", kind="kmex", num_classes=3, input_shape=(3, SIZE, SIZE)), image),
    }


SUBJECTS = _subjects()
PAIRS = [(m, s) for m in available_explainers() for s in SUBJECTS]


def test_every_family_has_a_method_and_every_method_a_model():
    supported = {(m, s) for m, s in PAIRS if EXPLAINERS.get(m).supports(SUBJECTS[s].card)}
    assert {s for _, s in supported} == set(SUBJECTS)
    assert {m for m, _ in supported} == set(available_explainers())


@pytest.mark.parametrize("method,subject", PAIRS)
def test_contract(method: str, subject: str):
    s = SUBJECTS[subject]
    cls = EXPLAINERS.get(method)
    assert cls.name == method and isinstance(cls.costly, bool) and isinstance(cls.perturbation_based, bool)
    assert cls.panels and set(cls.panels) <= set(PANELS) and cls.summary
    if not cls.supports(s.card):
        with pytest.raises(UnsupportedModelError):
            get_explainer(method, s.model, s.card)
        return
    assert not cls.inherent or s.card.family != "standard"  # inherent methods explain only their own family
    explainer = get_explainer(method, s.model, s.card)
    for p in s.model.parameters():
        p.grad = None
    targets = torch.tensor([0, 2, 1])
    inputs = s.x.unsqueeze(0).expand(3, *s.x.shape).clone()
    maps = explainer.attribute(inputs, targets)
    assert maps.shape == (3, *s.x.shape[-2:]) and maps.dtype == torch.float32 and maps.device == inputs.device
    assert torch.isfinite(maps).all() and not maps.requires_grad
    assert not inputs.requires_grad and inputs.grad is None
    assert all(p.grad is None for p in s.model.parameters()), "gradients were left on the model's parameters"
    singles = torch.cat([explainer.attribute(inputs[:1], targets[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(maps, singles, rtol=1e-4, atol=1e-5 * (1 + float(maps.abs().max())))
    explanations = explainer.explain(s.x, [0, 2])
    for e, t in zip(explanations, (0, 2)):
        _check_explanation(e, method, t, s, maps[list(targets).index(t)])


def _check_explanation(e: Explanation, method: str, target: int, s: Subject, expected_map: torch.Tensor):
    h, w = s.x.shape[-2:]
    assert e.method == method and e.target == target and isinstance(e.score, float)
    assert e.attribution.shape == (h, w) and e.attribution.dtype == torch.float32 and e.attribution.device.type == "cpu"
    torch.testing.assert_close(e.attribution, expected_map.cpu(), rtol=1e-4, atol=1e-5 * (1 + float(expected_map.abs().max())))
    with torch.no_grad():
        assert e.score == pytest.approx(float(s.model(s.x.unsqueeze(0))[0, target]), rel=1e-4, abs=1e-5)
    if e.rgba is not None:
        assert e.rgba.shape == (h, w, 4) and 0 <= e.rgba.min() and e.rgba.max() <= 1
    if e.segments is not None:
        assert e.segments.shape == (h, w) and np.issubdtype(e.segments.dtype, np.integer)
    if e.palette is not None:
        assert e.palette.ndim == 2 and e.palette.shape[1] == 3 and e.palette.shape[0] > int(e.segments.max())
    if e.mask is not None:
        assert e.mask.shape == (h, w)
    if e.contributions is not None:
        assert e.contributions.ndim == 1
    if e.waveform is not None:
        assert e.waveform.ndim == 1 and e.waveform.dtype == np.float32
    assert not set(e.extras) & {"rgba", "segments", "palette", "mask", "contributions", "waveform"}
    panels = explanation_panels(s.x, e, s.card.modality)
    assert [title for title, _ in panels] and len(panels) == len(e.panels), "a declared panel could not be drawn"
    for _, picture in panels:
        assert picture.dtype == np.uint8 and picture.shape == (h, w, 3)


def test_audio_panels_are_drawn_in_the_spectrograms_orientation():
    """Low frequencies at the bottom for every panel, as the input's spectrogram picture."""
    from interp_core.visualize import input_picture

    s = SUBJECTS["standard audio CNN"]
    attribution = torch.zeros(32, 32)
    attribution[0] = 1.0  # the lowest frequency row
    e = Explanation("x", 0, attribution, 0.0, ("heatmap", "signed", "rgba"),
                    rgba=np.concatenate([np.ones((32, 32, 3)), attribution.numpy()[..., None]], -1).astype(np.float32))
    for title, picture in explanation_panels(s.x, e, "audio"):
        bottom, top = picture[-1].astype(int), picture[0].astype(int)
        assert (bottom[:, 0] - bottom[:, 2]).mean() > (top[:, 0] - top[:, 2]).mean() or bottom.sum() > top.sum(), title
    spec = torch.zeros(1, 32, 32)
    spec[0, 0] = 1.0
    picture = input_picture(spec, "audio")
    assert picture[-1].mean() > picture[0].mean()  # the loud lowest row is drawn at the bottom


# ---------------------------------------------------------------- a new family through the public API only


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    """A whole family defined here: a recipe type, its handler, one recipe and an inherent explainer."""
    from interp_core.data import load_split
    from interp_core.store import models as store_models
    from interp_core.store.models import RecipeHandler, register_handler
    from interp_core.store.recipes import RECIPES, Recipe, register_recipe

    load_split("shapes", "test", num_samples=2000)  # from the test cache, before the cache moves
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))

    @dataclass(frozen=True)
    class ToyRecipe(Recipe):
        base: str = "cnn-shapes"
        kind: str = field(default="toy", init=False)

    class CentreExplainer(Explainer):
        """Explains a toy model by a bump at the centre of every cell of a grid-sized image."""

        inherent = True
        summary = "a toy map"

        @classmethod
        def accepts(cls, card):
            return card.kind == "toy"

        def compute(self, inputs, target, details):
            h, w = inputs.shape[-2:]
            yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
            bump = (-(((yy % 64) - 32.0) ** 2 + ((xx % 64) - 32.0) ** 2) / 200).exp()
            return ExplainerOutput(bump.expand(inputs.shape[0], h, w).clone(), [{} for _ in range(inputs.shape[0])])

    def build(recipe):
        return copy.deepcopy(store_models.load_model(recipe.base, "cpu", train_if_missing=False).model)

    register_handler("toy", RecipeHandler(build, lambda *a: {}, lambda *a: {"accuracy": float("nan")}))
    register_recipe(ToyRecipe(name="toy-shapes", dataset="shapes", family="toy"))
    register_explainer("toy-centre")(CentreExplainer)
    yield
    RECIPES.unregister("toy-shapes")
    EXPLAINERS.unregister("toy-centre")
    from interp_core.store.models import HANDLERS

    HANDLERS.unregister("toy")
    for key in [k for k in store_models._LOADED if k[0] == "toy-shapes"]:
        store_models._LOADED.pop(key)


def test_a_new_family_appears_in_compare_and_the_pointing_game(toy_family):
    from interp_core.evaluation.compare import compare, comparison_pairs
    from interp_core.evaluation.pointing import run_pointing_game
    from interp_core.store import train_recipe

    train_recipe("toy-shapes", "cpu", show_bar=False)
    pairs = comparison_pairs("shapes")
    assert ("toy-centre", "toy-shapes") in pairs
    assert not any(m == "toy-centre" and model != "toy-shapes" for m, model in pairs)  # inherent: own family only
    assert not any(model == "toy-shapes" and m != "toy-centre" for m, model in pairs)  # post-hoc: classifiers only
    from interp_core.data import load_split

    entry = compare(load_split("shapes", "test", num_samples=2000).inputs([0])[0], None, [("toy-centre", "toy-shapes")])[0]
    assert entry.error is None and entry.explanation.attribution.shape == (64, 64)
    result = run_pointing_game(["toy-shapes"], ["toy-centre"], n_grids=2, size=2, test_samples=2000)
    row = result["results"][0]
    assert row["model"] == "toy-shapes" and row["n"] == 8
    assert row["mean"] == pytest.approx(0.25, abs=1e-6)  # the same bump in every cell: exactly chance
