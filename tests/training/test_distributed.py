"""Training on several processes (torchrun + DDP, gloo on the CPU) computes what one process computes,
and a run whose worker is killed mid-epoch resumes from its last epoch checkpoint.

The launcher runs train ``cnn-digits`` with ``--train-subset 128 --epochs 2`` (115 training samples, 4
global batches of 32 per epoch), so that each run takes seconds on 2 CPU cores; the subset and the epochs
make another recipe hash, cached beside (never instead of) the shipped model.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from interp_core.cli.main import main
from interp_core.store.checkpoint import load_checkpoint, load_state_file

ROOT = Path(__file__).resolve().parents[2]
ARGS = ("cnn-digits", "--epochs", "2", "--train-subset", "128", "--keep-checkpoints", "0", "--quiet", "--json")


def _weights(path: Path, prefix: str = "model.") -> dict[str, torch.Tensor]:
    state = load_state_file(path)
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())


def _train(capsys, run_dir: Path, nproc: int) -> dict:
    rc = main(["train", *ARGS[:1], "--nproc", str(nproc), "--run-dir", str(run_dir), *ARGS[1:]])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    old = os.environ.get("INTERP_CORE_HOME")
    os.environ["INTERP_CORE_HOME"] = str(tmp_path_factory.mktemp("home"))
    yield Path(os.environ["INTERP_CORE_HOME"])
    if old is None:
        os.environ.pop("INTERP_CORE_HOME", None)
    else:
        os.environ["INTERP_CORE_HOME"] = old


@pytest.fixture(scope="module")
def runs(home, tmp_path_factory):
    """The same run on one and on two processes (module-scoped: pytest's capsys is function-scoped, so
    the CLI's output is captured by redirecting stdout here)."""
    from contextlib import redirect_stdout
    from io import StringIO

    results = {}
    for nproc in (1, 2):
        run_dir = tmp_path_factory.mktemp(f"run{nproc}")
        buffer = StringIO()
        with redirect_stdout(buffer):
            rc = main(["train", ARGS[0], "--nproc", str(nproc), "--run-dir", str(run_dir), *ARGS[1:]])
        assert rc == 0
        results[nproc] = dict(json.loads(buffer.getvalue()), run_dir=run_dir)
    return results


def test_sharded_batch_gives_the_gradient_of_one_process(tmp_path):
    """One step on an uneven global batch (7 samples: 4 + 3), batch norm over both ranks: the gradients and
    running statistics of two processes are those of one."""
    out = {}
    for nproc in (1, 2):
        path = tmp_path / f"grads{nproc}.pt"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                               str(ROOT / "tests" / "training" / "ddp_gradients.py"), str(path)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        out[nproc] = torch.load(path, weights_only=True)
    for key, value in out[1].items():
        if value.is_floating_point():
            diff = float((value - out[2][key]).abs().max())
            assert diff <= 1e-4 * float(value.abs().max()) + 1e-9, (key, diff)  # float32 sums in another order
        else:
            assert torch.equal(value, out[2][key]), key


def test_two_processes_train_the_weights_of_one(runs):
    one, two = runs[1], runs[2]
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert one["recipe_hash"] == two["recipe_hash"] and one["epochs_run"] == two["epochs_run"] == 2
    weights = {(n, e): _weights(runs[n]["run_dir"] / f"epoch-{e:03d}.safetensors") for n in (1, 2) for e in (1, 2)}
    for epoch in (1, 2):  # after one epoch, and at the end
        diff = _max_diff(weights[1, epoch], weights[2, epoch])
        assert diff < 2e-3, f"epoch {epoch}: the weights of 1 and 2 processes differ by {diff}"
    # float noise, far below what one epoch of training changes
    assert _max_diff(weights[1, 2], weights[2, 2]) < 0.05 * _max_diff(weights[1, 1], weights[1, 2])
    _, meta = load_checkpoint(Path(two["checkpoint"]))  # the recipe's checkpoint, written by the last run
    assert meta["distributed"]["world_size"] == 2 and meta["recipe"]["train_subset"] == 128
    assert one["test_metrics"]["n"] == two["test_metrics"]["n"] == 359
    assert abs(one["test_metrics"]["accuracy"] - two["test_metrics"]["accuracy"]) <= 2 / 359


def test_a_killed_worker_resumes_from_the_last_epoch_checkpoint(runs, capsys, tmp_path, monkeypatch):
    """Rank 1 is SIGKILLed before step 1 of epoch 2: the run fails, naming its last epoch checkpoint; the
    same command again resumes after epoch 1 and ends with the weights of the uninterrupted run."""
    run_dir = tmp_path / "killed"
    monkeypatch.setenv("INTERP_CORE_FAULT", "2:1:1")
    rc = main(["train", ARGS[0], "--nproc", "2", "--run-dir", str(run_dir), *ARGS[1:]])
    err = capsys.readouterr().err
    assert rc == 1 and "the last complete epoch checkpoint is epoch-001" in err and "Run the same command again to resume" in err
    assert sorted(p.name for p in run_dir.glob("epoch-*.json")) == ["epoch-001.json"]
    monkeypatch.delenv("INTERP_CORE_FAULT")
    resumed = _train(capsys, run_dir, 2)
    assert resumed["resumed_from_epoch"] == 1 and resumed["epochs_run"] == 2
    uninterrupted = runs[2]["run_dir"] / "epoch-002.safetensors"
    for prefix in ("model.", "best."):
        assert _max_diff(_weights(run_dir / "epoch-002.safetensors", prefix), _weights(uninterrupted, prefix)) < 1e-6


def test_a_failed_run_says_how_to_resume(runs, capsys, tmp_path, monkeypatch):
    """Without restarts the launcher fails with the last complete epoch and the command that resumes."""
    from interp_core.training.distributed import launch_command

    cmd = launch_command("cnn-digits", nproc=2, max_restarts=0, worker_args=["--run-dir", str(tmp_path)])
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"] and "--standalone" in cmd
    assert cmd[cmd.index("-m", 3):][:2] == ["-m", "interp_core.training.distributed"]
    multi = launch_command("cnn-digits", nproc=4, nnodes=2, rdzv_endpoint="node0:29400", run_id="cnn-digits-x")
    assert "--nnodes=2" in multi and "--rdzv-endpoint=node0:29400" in multi and "--rdzv-backend=c10d" in multi
    with pytest.raises(ValueError, match="--rdzv-endpoint"):
        launch_command("cnn-digits", nproc=4, nnodes=2)
    from interp_core.training.distributed import DistributedRunError, launch

    monkeypatch.setenv("INTERP_CORE_FAULT", "1:0:0")
    with pytest.raises(DistributedRunError, match="no epoch was completed .* Run the same command again to resume"):
        launch("cnn-digits", nproc=1, epochs=1, train_subset=40, run_dir=tmp_path, quiet=True)
