"""Recipes, hashing, caching, shipped checkpoints and retraining after a bad file."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from interp_core.paths import with_ext
from interp_core.store import models as store_models
from interp_core.store.catalog import checkpoint_stems, checkpoint_status
from interp_core.methods.standard.recipes import ClassifierRecipe
from interp_core.store.recipes import RECIPES, get_recipe, recipe_hash, register_recipe

TINY = ClassifierRecipe(
    family="standard",
    name="test-tiny-digits-b1.5", dataset="digits", arch="cnn", arch_kwargs={"widths": [8, 8, 8, 8], "first_stride": 2},
    epochs=2, batch_size=64, lr=3e-3, patience=0, train_subset=400,
)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(store_models, "SHIPPED_CHECKPOINTS", tmp_path / "assets")
    monkeypatch.setattr("interp_core.store.catalog.SHIPPED_CHECKPOINTS", tmp_path / "assets")
    store_models._LOADED.clear()
    register_recipe(TINY)
    yield TINY
    RECIPES.unregister(TINY.name)
    store_models._LOADED.clear()


def test_hash_changes_with_weights_relevant_fields_only():
    base = get_recipe("cnn-shapes")
    assert recipe_hash(dataclasses.replace(base, description="other words", shipped=False)) == recipe_hash(base)
    assert recipe_hash(dataclasses.replace(base, lr=base.lr * 2)) != recipe_hash(base)
    assert recipe_hash(dataclasses.replace(base, seed=1)) != recipe_hash(base)


def test_unknown_recipe_message_lists_available():
    with pytest.raises(KeyError, match="cnn-shapes"):
        get_recipe("no-such-recipe")


def test_train_cache_and_reload_is_exact(tiny):
    assert checkpoint_status(tiny.name) == "missing"
    with pytest.raises(store_models.ModelNotTrainedError, match="python -m interp_core train"):
        store_models.load_model(tiny.name, "cpu", train_if_missing=False)
    events = []
    trained = store_models.train_recipe(tiny.name, "cpu", progress=events.append, show_bar=False)
    assert checkpoint_status(tiny.name) == "cache"
    # The dot in the recipe name must not eat the hash from the file name.
    assert sorted(p.name for p in with_ext(checkpoint_stems(tiny)["cache"], "").parent.glob("test-tiny*")) == [
        f"{tiny.name}-{recipe_hash(tiny)}.json", f"{tiny.name}-{recipe_hash(tiny)}.safetensors"]
    assert events and events[-1].fraction == pytest.approx(1.0)
    assert 0.0 <= trained.meta["test_metrics"]["accuracy"] <= 1.0
    assert trained.meta["recipe_hash"] == recipe_hash(tiny)
    store_models._LOADED.clear()
    again = store_models.load_model(tiny.name, "cpu", train_if_missing=False)
    assert again.source == "cache"
    for key, value in trained.model.state_dict().items():
        assert torch.equal(value.cpu(), again.model.state_dict()[key].cpu()), key


def test_same_seed_retrains_identically(tiny):
    first = store_models.train_recipe(tiny.name, "cpu", show_bar=False)
    w1 = {k: v.clone() for k, v in first.model.state_dict().items()}
    second = store_models.train_recipe(tiny.name, "cpu", show_bar=False)
    assert first.meta["test_metrics"]["accuracy"] == second.meta["test_metrics"]["accuracy"]
    for key, value in second.model.state_dict().items():
        assert torch.allclose(value, w1[key]), key


def test_tampered_cache_is_refused_and_retrained(tiny):
    store_models.train_recipe(tiny.name, "cpu", show_bar=False)
    weights = with_ext(checkpoint_stems(tiny)["cache"], ".safetensors")
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x55
    weights.write_bytes(bytes(data))
    store_models._LOADED.clear()
    with pytest.raises(store_models.ModelNotTrainedError):
        store_models.load_model(tiny.name, "cpu", train_if_missing=False)
    store_models._LOADED.clear()
    fixed = store_models.load_model(tiny.name, "cpu", show_bar=False)
    assert fixed.source == "trained"
    assert any("checksum" in note for note in fixed.notes)


def test_shipped_checkpoint_is_used_without_training(tiny):
    store_models.train_recipe(tiny.name, "cpu", show_bar=False)
    shipped = store_models.ship_recipe(tiny.name)
    with_ext(checkpoint_stems(tiny)["cache"], ".json").unlink()
    store_models._LOADED.clear()
    loaded = store_models.load_model(tiny.name, "cpu", train_if_missing=False)
    assert loaded.source == "shipped" and with_ext(shipped, ".safetensors").exists()


def test_checkpoint_of_other_architecture_is_refused(tiny):
    store_models.train_recipe(tiny.name, "cpu", show_bar=False)
    other = dataclasses.replace(tiny, arch_kwargs={"widths": [8, 8, 8, 16], "first_stride": 2})
    # Same hash on purpose (as if the architecture's code changed under an unchanged recipe).
    RECIPES.register(tiny.name, other)
    store_models._LOADED.clear()
    try:
        stems_other = checkpoint_stems(other)["cache"]
        stems_tiny = checkpoint_stems(tiny)["cache"]
        for suffix in (".safetensors", ".json"):
            with_ext(stems_other, suffix).write_bytes(with_ext(stems_tiny, suffix).read_bytes())
        with pytest.raises(store_models.ModelNotTrainedError):
            store_models.load_model(tiny.name, "cpu", train_if_missing=False)
    finally:
        RECIPES.register(tiny.name, tiny)


def test_shipped_defaults_meet_accuracy_targets():
    """The shipped cnn-shapes and cnn-digits checkpoints evaluate (now, on the test split) >= 0.95."""
    store_models._LOADED.clear()
    for name in ("cnn-shapes", "cnn-digits"):
        metrics = store_models.evaluate_recipe(name, "cpu")
        assert metrics["source"] in ("shipped", "cache")
        assert metrics["accuracy"] >= 0.95, (name, metrics)
