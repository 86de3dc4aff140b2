"""Pointing-game runs by recipe name: caches keyed on the weights, costly-method limits, grid pools."""
from __future__ import annotations

import pytest

from interp_core.metrics.pointing_game import PointingGameError

def _shipped(name: str) -> bool:
    from interp_core.paths import SHIPPED_CHECKPOINTS
    from interp_core.store import get_recipe, recipe_hash

    return (SHIPPED_CHECKPOINTS / f"{name}-{recipe_hash(get_recipe(name))}.json").exists()


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """Load the standard 2,000-image shapes test split from the test cache, then send every other cache
    (pointing-game scores and grids) to an empty folder."""
    from interp_core.data import load_split

    load_split("shapes", "test", num_samples=2000)
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.skipif(not _shipped("cnn-shapes"), reason="needs the shipped cnn-shapes checkpoint (training it takes minutes)")
def test_run_by_name_caches_and_limits_costly_methods(private_cache, monkeypatch):
    import interp_core.evaluation.pointing as pointing

    fractions = []
    methods = ["gradcam", "gradient", "rise", "integrated_gradients"]
    kwargs = dict(n_grids=3, size=2, test_samples=2000, n_grids_costly=1,
                  method_kwargs={"rise": {"n_masks": 40}, "integrated_gradients": {"n_steps": 2}})
    out = pointing.run_pointing_game(["cnn-shapes"], methods, progress=lambda p: fractions.append(p.fraction), **kwargs)
    rows = {r["method"]: r for r in out["results"]}
    assert rows["gradcam"]["grids"] == 3 and rows["gradcam"]["n"] == 12 and rows["gradcam"]["smooth"] == 5
    assert rows["rise"]["grids"] == 1 and rows["rise"]["n"] == 4 and rows["rise"]["smooth"] == 1
    assert rows["integrated_gradients"]["grids"] == 1 and rows["integrated_gradients"]["smooth"] == 5
    assert rows["gradcam"]["confidence"] == "softmax" and rows["gradcam"]["pool"] == 2000
    assert rows["gradcam"]["mean"] > 0.5  # Grad-CAM of a trained CNN beats chance (0.25) by far
    # References on the same grids: the mask oracle is the ceiling, a constant map chance, colour in between.
    assert rows["gradcam"]["oracle"] == pytest.approx(1.0) and rows["gradcam"]["uniform"] == pytest.approx(0.25)
    assert 0.25 < rows["gradcam"]["colour_prior"] < rows["gradcam"]["oracle"]
    assert len(out["distributions"]["cnn-shapes"]["gradient"]) == 12
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert any(private_cache.glob("pointing_game/cnn-shapes-*/scores-gradcam-*.npz"))

    def no_explaining(*args, **kw):
        raise AssertionError("a finished run must come from the cache without explaining anything")

    monkeypatch.setattr(pointing, "evaluate_grids_resumable", no_explaining)
    again = pointing.run_pointing_game(["cnn-shapes"], methods, **kwargs)
    assert again["distributions"] == out["distributions"]
    assert [r["cached_grids"] for r in again["results"]] == [3, 3, 1, 1]


def test_grid_pool_of_a_fixed_test_split():
    from interp_core.data import load_split
    from interp_core.evaluation.pointing import grid_pool

    assert len(grid_pool("digits", 3)) == len(load_split("digits", "test"))
    with pytest.raises(PointingGameError, match="fixed test split"):
        grid_pool("digits", 3, test_samples=5000)


def test_unknown_method_and_audio_model_are_refused():
    from interp_core.evaluation.pointing import run_pointing_game

    with pytest.raises(PointingGameError, match="Unknown explanation method"):
        run_pointing_game(["cnn-shapes"], ["no-such-method"])
    with pytest.raises(PointingGameError, match="image classifier"):
        run_pointing_game(["cnn-sounds"], ["gradient"], n_grids=1)


@pytest.mark.slow
def test_cnn_shapes_full_pointing_game_separates_methods():
    from interp_core.evaluation.pointing import run_pointing_game

    out = run_pointing_game(["cnn-shapes"], ["gradcam", "input_x_gradient"], n_grids=50, use_cache=False)
    rows = {r["method"]: r for r in out["results"]}
    assert rows["gradcam"]["n"] == 450 and rows["gradcam"]["pool"] == 18000
    assert rows["gradcam"]["mean"] > 1 / 9 and rows["gradcam"]["mean"] > rows["input_x_gradient"]["mean"]


@pytest.mark.slow
def test_pointing_benchmark_labels_extrapolation():
    from interp_core.bench.pointing import run_pointing_benchmark

    out = run_pointing_benchmark(n_grids=40, measure_grids=1, gradient_methods=("gradcam", "gradient", "integrated_gradients"))
    rows = [r for r in out["rows"] if r["model"] == "cnn-shapes"]
    assert [r["method"] for r in rows] == ["gradcam", "gradient", "integrated_gradients"]
    ig = rows[-1]
    # IG's own time cannot be below the model work of its 50 steps (a measured floor, not a goal).
    assert ig["floor_seconds_per_grid"] > 0 and ig["over_floor"] > 0.5
    assert ig["floor_seconds_for_n_grids"] == pytest.approx(ig["floor_seconds_per_grid"] * 40, rel=1e-2, abs=0.1)
    assert "floor_seconds_per_grid" not in rows[0]
    for r in rows:
        assert r["grids_measured"] == 1 and r["extrapolated"] is True
        assert r["seconds_for_n_grids"] == pytest.approx(r["seconds_per_grid"] * 40, rel=1e-2, abs=0.1)
        assert r["forward_ratio"] > 0
    group = next(g for g in out["groups"] if g["group"] == "gradient methods")
    assert group["extrapolated"] and group["goal_seconds"] == pytest.approx(1200 * 40 / 500)
    assert any(g["group"] == "bcos" for g in out["groups"]) or any("B-cos" in n or "bcos" in n for n in out["notes"])
