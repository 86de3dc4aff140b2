"""The GPU path (``pytest -m gpu`` on a machine with CUDA; skipped without): every explainer gives the
same maps on CUDA as on the CPU, each family's training runs a short pass on CUDA, and two DDP processes
share one GPU (gloo, since NCCL refuses two ranks on one device)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

#: A shipped model per family whose explainers are checked, and the methods skipped (random by design).
MODELS = ("cnn-shapes", "bcos-shapes", "kmex-shapes", "qsenn-shapes", "piq-shapes")
RANDOM_METHODS = ("lime", "rise")


@pytest.mark.parametrize("name", MODELS)
def test_explainers_agree_on_cpu_and_cuda(name):
    from interp_core.data import load_split
    from interp_core.methods.base import get_explainer, methods_for
    from interp_core.store.models import load_model

    cpu, cuda = load_model(name, "cpu", train_if_missing=False), load_model(name, "cuda", train_if_missing=False)
    split = load_split(cpu.card.dataset, "test")
    x = split.inputs([0, 1])
    target = torch.as_tensor(split.labels[:2])
    for method in methods_for(cpu.card):
        if method in RANDOM_METHODS:
            continue
        a = get_explainer(method, cpu).attribute(x, target).float().cpu()
        b = get_explainer(method, cuda).attribute(x.cuda(), target.cuda()).float().cpu()
        scale = float(a.abs().max()) or 1.0
        assert float((a - b).abs().max()) <= 1e-3 * scale, f"{method} on {name}: CPU and CUDA maps differ"


@pytest.mark.parametrize("name", ["cnn-shapes", "bcos-shapes", "qsenn-dense-shapes", "kmex-digits", "piq-digits", "clip-shapes"])
def test_each_family_trains_on_cuda(name):
    """One short run of the family's own training (one epoch on a small subset where the recipe has them)."""
    from interp_core.store.models import HANDLERS
    from interp_core.store.recipes import get_recipe

    recipe = get_recipe(name)
    fields = {f.name for f in dataclasses.fields(recipe) if f.init}
    recipe = dataclasses.replace(recipe, **{k: v for k, v in {"epochs": 1, "train_subset": 128}.items() if k in fields})
    handler = HANDLERS.get(recipe.kind)
    torch.manual_seed(0)
    model = handler.build(recipe).cuda()
    handler.train(recipe, model, torch.device("cuda"), None, False)
    assert all(p.device.type == "cuda" for p in model.parameters())
    metrics = handler.evaluate(recipe, model.eval(), torch.device("cuda"))
    assert all(v == v for v in metrics.values() if isinstance(v, float))  # no NaN


def test_ddp_with_two_processes_on_one_gpu(tmp_path, capsys, monkeypatch):
    from interp_core.cli.main import main

    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path / "home"))
    rc = main(["train", "cnn-digits", "--nproc", "2", "--device", "cuda", "--epochs", "1", "--train-subset", "128",
               "--run-dir", str(tmp_path / "run"), "--quiet", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    result = json.loads(out.out)
    assert result["world_size"] == 2 and result["device"].startswith("cuda")
    from interp_core.store.checkpoint import load_checkpoint

    _, meta = load_checkpoint(Path(result["checkpoint"]))
    assert meta["distributed"]["backend"] == ("nccl" if torch.cuda.device_count() >= 2 else "gloo")
