"""A retrained checkpoint (other weights, so another fingerprint) never serves results of the old one:
not the store's in-memory model, not the pointing game's cached grids and scores, not the dashboard's
cached model, and every page cache keys on the fingerprint."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
import torch

from interp_core.paths import with_ext

ROOT = Path(__file__).resolve().parents[2]
NAME = "test-fingerprint-digits"


@pytest.fixture
def digits_copy(tmp_path, monkeypatch):
    """A recipe whose cached checkpoint is a copy of the shipped cnn-digits weights (no training)."""
    from interp_core.methods.standard.recipes import ClassifierRecipe
    from interp_core.store import models as store_models
    from interp_core.store.catalog import checkpoint_stems
    from interp_core.store.recipes import RECIPES, get_recipe, register_recipe

    shipped = checkpoint_stems(get_recipe("cnn-digits"))["shipped"]
    if not with_ext(shipped, ".json").exists():
        pytest.skip("needs the shipped cnn-digits checkpoint")
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    recipe = register_recipe(ClassifierRecipe(name=NAME, dataset="digits", family="standard", arch="cnn",
                                              arch_kwargs={"first_stride": 1}))
    stem = checkpoint_stems(recipe)["cache"]
    for suffix in (".safetensors", ".json"):
        shutil.copy2(with_ext(shipped, suffix), with_ext(stem, suffix))
    yield recipe, stem
    RECIPES.unregister(NAME)
    for key in [k for k in store_models._LOADED if k[0] == NAME]:
        store_models._LOADED.pop(key)


def _retrain(stem: Path, loaded) -> None:
    """What another process retraining the recipe does: new weights written to the same checkpoint."""
    from interp_core.store.checkpoint import save_checkpoint

    state = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    state["classifier.bias"] = state["classifier.bias"] + 0.01
    save_checkpoint(stem, state, dict(loaded.meta, created="2026-12-01T00:00:00"))


def test_library_never_serves_the_old_weights_or_their_scores(digits_copy):
    from interp_core.evaluation.pointing import run_pointing_game
    from interp_core.store import load_model

    _, stem = digits_copy
    old = load_model(NAME, "cpu", train_if_missing=False)
    first = run_pointing_game([NAME], ["gradient"], n_grids=2, size=2, train_if_missing=False)
    again = run_pointing_game([NAME], ["gradient"], n_grids=2, size=2, train_if_missing=False)
    assert first["results"][0]["cached_grids"] == 0 and again["results"][0]["cached_grids"] == 2

    _retrain(stem, old)
    new = load_model(NAME, "cpu", train_if_missing=False)
    assert new.card.fingerprint != old.card.fingerprint and new is not old
    assert not torch.equal(new.model.classifier.bias, old.model.classifier.bias)
    after = run_pointing_game([NAME], ["gradient"], n_grids=2, size=2, train_if_missing=False)
    row = after["results"][0]
    assert row["cached_grids"] == 0 and row["fingerprint"] == new.card.fingerprint  # computed anew


def test_dashboard_cached_model_follows_the_weights(digits_copy):
    from app.models import cached_model

    _, stem = digits_copy
    old = cached_model(NAME)
    assert cached_model(NAME) is old  # cached while the weights stay
    _retrain(stem, old)
    new = cached_model(NAME)
    assert new.card.fingerprint != old.card.fingerprint
    assert not torch.equal(new.model.classifier.bias, old.model.classifier.bias)


def test_every_page_result_cache_takes_the_weights_fingerprint():
    """Each ``st.cache_data`` function of a page, or of the dashboard's caching glue, that works on a model
    has a ``fingerprint`` argument (``app.models.view_result``, which most pages use, included)."""
    checked = 0
    for page in sorted([*(ROOT / "pages").glob("*.py"), *(ROOT / "app").glob("*.py")]):
        for node in ast.walk(ast.parse(page.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            cached = any("cache_data" in ast.unparse(d) for d in node.decorator_list)
            args = [a.arg for a in node.args.args]
            if cached and {"name", "model", "model_name", "pairs"} & set(args):
                checked += 1
                assert {"fingerprint", "fingerprints"} & set(args), f"{page.name}:{node.name} caches results by name only"
    assert checked >= 4
