"""The command line: list, eval on shipped models, data preview, clear errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interp_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_list_json_names_recipes_datasets_methods():
    out = cli("list", "--json")
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    names = {r["name"]: r for r in payload["recipes"]}
    assert {"cnn-shapes", "cnn-digits", "cnn-sounds"} <= set(names)
    assert names["cnn-shapes"]["status"] in ("shipped", "cache")
    assert "sounds" in payload["datasets"]


def test_eval_uses_shipped_checkpoint_without_training():
    out = cli("eval", "cnn-digits", "--json")
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout)
    assert metrics["source"] in ("shipped", "cache")
    assert metrics["accuracy"] >= 0.95 and metrics["n"] == 359


@pytest.mark.parametrize("dataset", ["shapes", "sounds"])
def test_data_preview_writes_png(tmp_path, dataset):
    target = tmp_path / f"{dataset}.png"
    out = cli("data", "preview", dataset, "--out", str(target), "--count", "4")
    assert out.returncode == 0, out.stderr
    with Image.open(target) as img:
        assert img.width > 100 and img.height > 60


def test_errors_are_one_clear_line():
    out = cli("eval", "no-such-recipe", "--json")
    assert out.returncode == 2
    assert "Unknown recipe" in out.stderr and "Traceback" not in out.stderr
    out = cli("data", "preview", "no-such-data", "--out", "/tmp/x.png")
    assert out.returncode == 2 and "Unknown dataset" in out.stderr


def test_eval_names_every_model_it_read_and_warns_of_a_stale_one(monkeypatch, capsys):
    from interp_core.cli.main import main
    from interp_core.store import catalog, models

    monkeypatch.setattr(models, "_LOADED", {})  # a fresh process: only what this evaluation loads
    real = catalog.code_status
    monkeypatch.setattr(catalog, "code_status", lambda name: "stale" if name == "cnn-digits" else real(name))
    assert main(["eval", "kmex-digits", "--json"]) == 0
    out = capsys.readouterr()
    status = json.loads(out.out)["code_status"]
    # KMEx reads its frozen backbone: both models are named, the backbone's (pretended) staleness is flagged.
    assert set(status) == {"kmex-digits", "cnn-digits"}
    assert status["cnn-digits"] == "stale" and status["kmex-digits"] == real("kmex-digits") == "current"
    assert "warning:" in out.err and "cnn-digits (stale)" in out.err and "kmex-digits" not in out.err.split("warning:")[1]


@pytest.mark.parametrize("launcher", [[], ["--nproc", "2"]], ids=["one-process", "torchrun"])
def test_train_prints_the_library_refusal_before_dispatching(monkeypatch, capsys, launcher):
    """Whatever ``training_refusal`` says is the one error line, before the one-process or the torchrun path starts."""
    from interp_core.cli.main import main
    from interp_core.store import models, trainable
    from interp_core.store.recipes import get_recipe
    from interp_core.training import distributed

    def started(*args, **kwargs):
        raise AssertionError("training started despite the refusal")

    get_recipe("cnn-digits")  # the recipe providers register their own refusals first
    monkeypatch.setitem(trainable.REFUSALS, "cnn-digits", lambda device: "cnn-digits may not train here.")
    monkeypatch.setattr(models, "train_recipe", started)
    monkeypatch.setattr(distributed, "launch", started)
    assert main(["train", "cnn-digits", "--quiet", *launcher]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err == "error: cnn-digits may not train here.\n"
