"""Results shipped beside the checkpoints (interp_core.store.shipped_results): a shipped result is used only
for the weights it was computed from (recipe hash and weights fingerprint) and computed, then cached on
disk, for any other; ``ship-results`` ships the shipped models' results and drops other weights'; and what
ships in assets/results belongs to today's shipped weights."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from interp_core.store import shipped_results
from interp_core.store.recipes import get_recipe
from interp_core.store.results import model_tag, result_dir


def _model(fingerprint: str):
    """What the result cache needs of a loaded model: its recipe and its weights fingerprint."""
    return SimpleNamespace(recipe=get_recipe("cnn-digits"), card=SimpleNamespace(fingerprint=fingerprint))


@pytest.fixture()
def places(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(shipped_results, "SHIPPED_RESULTS", tmp_path / "shipped")
    return tmp_path


def test_a_shipped_result_is_used_only_when_the_weights_fingerprint_matches(places):
    shipped, other = _model("a" * 12), _model("b" * 12)
    path = result_dir("views", shipped) / "naming.json"
    twin = shipped_results.shipped_twin(path)
    assert twin == places / "shipped" / "views" / model_tag(shipped) / "naming.json"
    twin.parent.mkdir(parents=True)
    twin.write_text('{"value": "shipped"}')
    calls = []

    def compute():
        calls.append(1)
        return {"value": "computed"}

    assert shipped_results.shipped_or_cached_json(path, compute) == {"value": "shipped"}
    assert calls == [] and not path.exists()  # read where it ships, not copied into the cache

    other_path = result_dir("views", other) / "naming.json"
    assert shipped_results.shipped_or_cached_json(other_path, compute) == {"value": "computed"}
    assert calls == [1] and other_path.exists()  # other weights: computed once and cached on disk
    assert shipped_results.shipped_or_cached_json(other_path, compute) == {"value": "computed"} and calls == [1]

    with shipped_results.computing_afresh():  # how ship-results makes its files
        assert shipped_results.shipped_or_cached_json(path, compute) == {"value": "computed"}
    assert calls == [1, 1]


def test_shipped_arrays_are_used_only_when_the_weights_fingerprint_matches(places):
    shipped, other = _model("c" * 12), _model("d" * 12)
    path = result_dir("views", shipped) / "features.npz"
    twin = shipped_results.shipped_twin(path)
    twin.parent.mkdir(parents=True)
    np.savez(twin, features=np.arange(6.0).reshape(2, 3))
    computed = {"features": np.zeros((2, 3))}
    assert shipped_results.shipped_or_cached_arrays(path, lambda: pytest.fail("computed"))["features"][1, 2] == 5.0
    found = shipped_results.shipped_or_cached_arrays(result_dir("views", other) / "features.npz", lambda: computed)
    assert (found["features"] == 0).all() and (result_dir("views", other) / "features.npz").exists()


def test_shipping_copies_the_shipped_weights_results_and_drops_other_weights(places):
    home = places / "home"
    current, retrained = _model("e" * 12), _model("f" * 12)
    for model, name in ((current, "a.json"), (retrained, "b.json")):
        (result_dir("views", model) / name).write_text("{}")
    (home / "datasets" / "shapes-0123").mkdir(parents=True)  # not a result folder: never shipped
    stale = places / "shipped" / "views" / model_tag(_model("0" * 12))
    stale.mkdir(parents=True)
    (stale / "old.json").write_text("{}")
    copied = shipped_results.ship_result_files(home, {model_tag(current)})
    assert copied == [places / "shipped" / "views" / model_tag(current) / "a.json"]
    assert not stale.exists()  # results of weights that no longer ship go


def test_every_shipped_result_belongs_to_todays_shipped_weights():
    """Nothing shipped is stale: each folder of assets/results is named after a shipped checkpoint's weights."""
    from interp_core.store.catalog import checkpoint_fingerprint
    from interp_core.store.recipes import recipe_hash
    from interp_core.store.shipping import shipped_recipe_names

    tags = {f"{n}-{recipe_hash(get_recipe(n))}-{checkpoint_fingerprint(n)}" for n in shipped_recipe_names()}
    folders = [f for kind in shipped_results.SHIPPED_RESULTS.iterdir() if kind.is_dir() for f in kind.iterdir()]
    assert folders and all(f.name in tags for f in folders), [f.name for f in folders if f.name not in tags]


def test_the_shipped_qsenn_naming_is_read_not_computed(tmp_path, monkeypatch):
    """In an empty cache the Q-SENN view's default naming, training features and galleries (the first class's
    features, the decision layer's default cell) come from assets/results: no training split is generated
    and no CLIP model is loaded."""
    from interp_core.methods.qsenn import naming, views
    from interp_core.store.models import load_model

    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    loaded = load_model("qsenn-shapes", train_if_missing=False, show_bar=False)
    monkeypatch.setattr("interp_core.data.load_split", lambda *a, **k: pytest.fail("a split was loaded"))
    monkeypatch.setattr(naming.ClipChoice, "load", lambda self, device=None: pytest.fail("CLIP was loaded"))
    named = naming.feature_naming(loaded)
    assert len(named.clip_label) == loaded.model.n_features
    assert naming.training_features(loaded).shape == (10_000, loaded.model.n_features)
    first = views.named_class_features(loaded, views.DEFAULT_CLIP, 0)
    assert [f.feature for f in first] == list(loaded.model.class_features(0)) and all(len(f.images) == 5 for f in first)
    cell = views.named_feature_on_class(loaded, views.DEFAULT_CLIP, 0, first[0].feature)
    assert cell["view"].feature == first[0].feature and len(cell["view"].images) == 5
    assert not any(tmp_path.rglob("*.json")) and not any(tmp_path.rglob("*.npz"))  # nothing computed into the cache
