"""The creatures benchmark on the shipped creatures models (slow: skipped without them): every family's
methods take part, the random map lands near chance and the oracle at the top, and the recorded results
match a run computed now."""
from __future__ import annotations

import pytest

from interp_core.store.catalog import checkpoint_status

SHIPPED = ("cnn-creatures", "bcos-creatures", "kmex-creatures", "qsenn-creatures", "piq-creatures")


def _all_shipped() -> bool:
    try:
        return all(checkpoint_status(name) == "shipped" for name in SHIPPED)
    except KeyError:
        return False


pytestmark = [pytest.mark.slow, pytest.mark.skipif(not _all_shipped(), reason="needs the shipped creatures models")]


def test_every_family_takes_part_and_the_references_bracket_the_methods(tmp_path, monkeypatch):
    from interp_core.data import load_split
    from interp_core.evaluation.benchmark import run_benchmark

    load_split("creatures", "test")
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    out = run_benchmark("creatures", list(SHIPPED), images=60, costly_images=2, randomisation_images=2,
                        costly_randomisation_images=1, pointing_grids=2, costly_pointing_grids=1)
    pairs = {(r["model"], r["method"]) for r in out["rows"]}
    posthoc = {"gradient", "input_x_gradient", "integrated_gradients", "deeplift", "gradcam", "lime", "rise"}
    assert {("cnn-creatures", m) for m in posthoc} <= pairs
    assert {("bcos-creatures", "bcos"), ("kmex-creatures", "kmex-b4"), ("kmex-creatures", "kmex-b234"),
            ("qsenn-creatures", "qsenn"), ("piq-creatures", "piq")} <= pairs
    for model in SHIPPED:
        refs = {r["method"]: r for r in out["references"] if r["model"] == model}
        methods = [r for r in out["rows"] if r["model"] == model and not r["costly"]]
        assert refs["random"]["sd"] == pytest.approx(0.5, abs=0.1) and refs["random"]["ts"] == pytest.approx(0.5, abs=0.12)
        assert refs["oracle"]["sd"] == pytest.approx(1.0)
        assert refs["oracle"]["completeness"] >= max(r["completeness"] for r in methods)
        assert refs["random"]["completeness"] == pytest.approx(0.5, abs=0.07)
    bcos = next(r for r in out["rows"] if r["method"] == "bcos")
    assert len(bcos["randomisation_curve"]) >= 9  # every B-cos layer was re-drawn


def test_recorded_results_agree_with_a_run_now():
    from interp_core.evaluation.benchmark import read_results, run_benchmark

    recorded = read_results("creatures")
    if recorded is None:
        pytest.skip("no recorded creatures results for today's weights")
    model = "piq-creatures"
    row = next(r for r in recorded["rows"] if r["model"] == model)
    config = recorded["config"]
    now = run_benchmark("creatures", [model], [row["method"]], images=config["images"],
                        randomisation_images=config["randomisation_images"], pointing_grids=config["pointing_grids"])
    fresh = now["rows"][0]
    for key in ("csdc", "pc", "dc", "d", "sd", "ts", "completeness", "sparseness", "randomisation"):
        assert fresh[key] == pytest.approx(row[key], abs=1e-6)
