"""Which (method, model) pairs Compare offers, from the models' cards, and what it shows for KMEx."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.evaluation.compare import compare, comparison_pairs
from interp_core.store.catalog import ready_models

pytestmark = pytest.mark.skipif(not {"kmex-shapes", "cnn-sounds"} <= set(ready_models()),
                                reason="needs the shipped kmex-shapes and cnn-sounds checkpoints")


def test_prototype_methods_explain_only_their_own_kmex_model_on_sounds_and_shapes():
    sounds = comparison_pairs("sounds")
    assert ("kmex-b4", "kmex-sounds") in sounds and ("kmex-b234", "kmex-sounds") in sounds
    assert not any(m.startswith("kmex") and model != "kmex-sounds" for m, model in sounds)
    shapes = comparison_pairs("shapes")
    assert ("kmex-b4", "kmex-shapes") in shapes and ("kmex-b234", "kmex-shapes") in shapes
    assert not any(m.startswith("kmex") and model != "kmex-shapes" for m, model in shapes)
    assert not any(model == "kmex-shapes" and not m.startswith("kmex") for m, model in shapes)
    assert not any(m == "bcos" and not model.startswith("bcos") for m, model in shapes)


def test_pairs_come_from_the_checkpoints_cards_without_loading_a_model(monkeypatch):
    from interp_core.evaluation.models import loaded
    from interp_core.methods.base import available_explainers, explainer_class
    from interp_core.store import models

    from_loaded_cards = [(m, name) for name in ready_models(dataset="shapes") for m in available_explainers()
                         if explainer_class(m).supports(loaded(name).card)]
    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("a model was loaded"))
    assert comparison_pairs("shapes") == from_loaded_cards


def test_compare_opens_on_each_familys_own_model():
    from interp_core.evaluation.compare import default_models
    from interp_core.store.recipes import get_recipe

    models = list(dict.fromkeys(name for _, name in comparison_pairs("shapes")))
    shown = default_models(models)
    assert {"cnn-shapes", "bcos-shapes", "kmex-shapes", "qsenn-shapes", "piq-shapes"} <= set(shown)
    assert not {"bcos-shapes-b2", "sldd-shapes", "qsenn-dense-shapes"} & set(shown)  # ablations and baselines: opt-in
    families = [get_recipe(name).family for name in shown]
    assert len(families) == len(set(families)) == len({get_recipe(name).family for name in models})
    # A family without a FAMILY-DATASET model opens on its first (sounds has no bcos-sounds, only the conversion).
    sounds = list(dict.fromkeys(name for _, name in comparison_pairs("sounds")))
    bcos = [name for name in sounds if get_recipe(name).family == "bcos"]
    assert not bcos or bcos[0] in default_models(sounds)


def test_compare_shows_the_kmex_attribution_the_pointing_game_scores_with_its_segments():
    from interp_core.data import load_split
    from interp_core.methods import get_explainer
    from interp_core.store import load_model
    from interp_core.visualize import PANEL_TITLES, explanation_panels

    x = load_split("shapes", "test").inputs([3])[0]
    entry = compare(x, 4, [("kmex-b4", "kmex-shapes")])[0]
    assert entry.error is None
    e = entry.explanation
    loaded = load_model("kmex-shapes", train_if_missing=False)
    scored = get_explainer("kmex-b4", loaded).attribute(x.unsqueeze(0), torch.tensor([4]))[0]
    torch.testing.assert_close(e.attribution, scored.cpu())  # the map the pointing game scores
    titles = [t for t, _ in explanation_panels(x, e, "image")]
    assert titles == [PANEL_TITLES["heatmap"], PANEL_TITLES["segments"]]
    assert e.segments.shape == (64, 64) and np.unique(e.segments).size >= 2
    assert entry.fingerprint == loaded.card.fingerprint
