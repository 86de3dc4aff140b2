"""Data-parallel training of classifier recipes on several processes or machines: torchrun + DDP.

``python -m interp_core train RECIPE --nproc N`` calls :func:`launch`, which runs ``torchrun``
(:mod:`torch.distributed.run`, elastic) with N workers per node (``--nnodes``/``--rdzv-endpoint`` for several
machines, each running the same command); every worker runs this module (:func:`main`), which trains the
recipe with :class:`~torch.nn.parallel.DistributedDataParallel`: NCCL on CUDA (one GPU per worker), gloo on
CPU or when workers share a GPU; bf16 autocast on CUDA. Rank 0 alone logs, shows progress and writes files.

What a run computes does not depend on the number of processes: N processes with the same global batch
and seed give the weights of one process (within float tolerance), so a run can also resume on another
number of processes. That takes four things:

* every rank draws the same seeded permutation per epoch as :func:`~interp_core.training.engine.fit_classifier`
  and takes the slice ``batch[rank::world]`` of each global batch (a DistributedSampler that keeps the
  one-process batches);
* each rank's mean loss is scaled by ``world * n_rank / n_batch``, so DDP's mean of the gradients is the
  gradient of the global batch mean, a short last batch included;
* batch norm layers become :class:`~interp_core.training.global_batchnorm.GlobalBatchNorm2d`: statistics
  of the global batch from all-reduced sums, differentiable (SyncBatchNorm's semantics; torch's
  SyncBatchNorm runs on GPUs only);
* the learning rate follows the engine's schedule per global step; validation is sharded and its counts
  all-reduced, so early stopping decides the same on every rank.

Resumption: after each epoch rank 0 writes ``epoch-NNN`` into the run folder (weights, AdamW state, best
weights, history; :mod:`interp_core.training.epoch_checkpoints`). A launch finds the last complete one and
continues after it, after a crash, a killed worker or a lost machine alike (``--max-restarts`` lets
torchrun relaunch the workers by itself). Every rank reads the run folder, so on several machines it must
be on a shared file system (``--run-dir``).

Differences from the one-process engine, on purpose: batch statistics are computed by the global path
even in one process (the launcher's one-process run matches N processes; it matches ``train`` without
``--nproc`` only within float tolerance), and random layers (dropout) draw their masks per rank.
``INTERP_CORE_FAULT=EPOCH:STEP:RANK`` kills that worker with SIGKILL before that step, in the first attempt
only: the resumption tests use it.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from interp_core.io import write_json_atomic
from interp_core.training.epoch_checkpoints import RunState, resume, save_epoch
from interp_core.training.global_batchnorm import GlobalBatchNorm2d, convert_batchnorm

__all__ = ["KINDS", "DistributedRunError", "GlobalBatchNorm2d", "RunState", "convert_batchnorm", "effective_recipe",
           "launch", "launch_command", "main", "run_dir_for", "train_worker"]

log = logging.getLogger("interp_core.training.distributed")

#: Recipe kinds this loop trains (the engine's supervised classifiers).
KINDS = ("classifier",)


class DistributedRunError(RuntimeError):
    """A multi-process run failed; the message says how to resume it."""


# ------------------------------------------------------------------------------ the run

def run_dir_for(recipe) -> Path:
    from interp_core.paths import cache_subdir
    from interp_core.store.recipes import recipe_hash

    return cache_subdir("runs") / f"{recipe.name}-{recipe_hash(recipe)}"


def effective_recipe(name: str, epochs: int | None = None, train_subset: int | None = None):
    """Recipe ``name``, with ``epochs`` / ``train_subset`` overridden when given (another recipe hash:
    the result is cached as that recipe, never as ``name`` itself)."""
    from interp_core.store.recipes import get_recipe

    recipe = get_recipe(name)
    if recipe.kind not in KINDS:
        raise ValueError(f"{name!r} is a {recipe.kind!r} recipe; multi-process training (--nproc) takes "
                         f"{', '.join(KINDS)} recipes. Train it in one process: python -m interp_core train {name}")
    changes = {k: v for k, v in (("epochs", epochs), ("train_subset", train_subset)) if v is not None}
    return dataclasses.replace(recipe, **changes) if changes else recipe


def _classifier_splits(recipe):
    """The training and validation splits, chosen exactly as the classifier handler chooses them."""
    from interp_core.data import load_split
    from interp_core.training.engine import split_train_val

    train_full = load_split(recipe.dataset, "train")
    if recipe.train_subset:
        order = torch.randperm(len(train_full), generator=torch.Generator().manual_seed(recipe.seed))
        train_full = train_full.subset(order[: recipe.train_subset].sort().values.numpy())
    return split_train_val(train_full, recipe.val_fraction, recipe.seed)


def _fault_point() -> tuple[int, int, int] | None:
    spec = os.environ.get("INTERP_CORE_FAULT")
    if not spec or os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") != "0":
        return None
    epoch, step, rank = (int(v) for v in spec.split(":"))
    return epoch, step, rank


@torch.no_grad()
def _sharded_validation(model: nn.Module, split, device: torch.device, loss: str, rank: int, world: int) -> dict[str, float]:
    """Accuracy and mean loss on ``split``, each rank taking every ``world``-th sample, the counts all-reduced."""
    from interp_core.training.engine import classification_loss

    model.eval()
    mine = np.arange(rank, len(split), world)
    correct = total_loss = 0.0
    for start in range(0, len(mine), 256):
        idx = mine[start : start + 256]
        logits = model(split.inputs(idx).to(device)).float()
        labels = torch.from_numpy(split.labels[idx]).to(device)
        correct += float((logits.argmax(1) == labels).sum())
        total_loss += float(classification_loss(logits, labels, loss)) * len(idx)
    model.train()
    sums = torch.tensor([correct, total_loss, float(len(mine))], dtype=torch.float64, device=device)
    dist.all_reduce(sums)
    correct, total_loss, n = sums.tolist()
    return {"accuracy": correct / n, "loss": total_loss / n, "n": int(n)}


def train_worker(recipe, *, run_dir: Path, device: torch.device, show_bar: bool = True, keep_checkpoints: int = 1) -> dict[str, Any] | None:
    """One rank of the run (the process group is initialised): train ``recipe``, resume from ``run_dir``;
    rank 0 writes the model into the cache and returns the result (None on other ranks)."""
    from tqdm.auto import tqdm

    from interp_core.store.models import HANDLERS
    from interp_core.store.recipes import recipe_hash
    from interp_core.training.engine import _lr_factor, classification_loss, seed_everything

    rank, world = dist.get_rank(), dist.get_world_size()
    start_time = time.perf_counter()
    handler = HANDLERS.get(recipe.kind)
    torch.manual_seed(recipe.seed)  # the same initial weights on every rank (DDP broadcasts rank 0's anyway)
    model = handler.build(recipe)
    train, val = _classifier_splits(recipe)
    seed_everything(recipe.seed)
    stats_group = dist.new_group()  # batch statistics on their own group, apart from DDP's gradient buckets
    convert_batchnorm(model, stats_group).to(device).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=recipe.lr, weight_decay=recipe.weight_decay)
    batch = recipe.batch_size
    steps = math.ceil(len(train) / batch)
    total = recipe.epochs * steps
    run_meta = {"recipe_hash": recipe_hash(recipe), "train_samples": len(train), "global_batch": batch, "recipe": recipe.to_dict()}
    run_dir.mkdir(parents=True, exist_ok=True)
    state = resume(run_dir, model, optimizer, run_meta)
    resumed_from = state.epoch
    if resumed_from and rank == 0:
        log.warning("resuming %s after epoch %d from %s", recipe.name, resumed_from, run_dir)
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    amp = device.type == "cuda"
    rng = np.random.default_rng(recipe.seed)
    for _ in range(state.epoch):
        rng.permutation(len(train))  # replay the epochs already done: the same orders as an uninterrupted run
    labels_all = torch.from_numpy(train.labels)
    fault = _fault_point()
    bar = tqdm(total=total, initial=state.epoch * steps, desc=f"{recipe.name} x{world}", unit="batch",
               disable=not (show_bar and rank == 0), leave=False)
    for epoch in range(state.epoch + 1, recipe.epochs + 1):
        if state.stopped:
            break
        torch.manual_seed(recipe.seed * 1_000_003 + epoch * 1009 + rank)  # random layers: resumable, per rank
        order = rng.permutation(len(train))
        running = torch.zeros(2, dtype=torch.float64, device=device)
        for i in range(steps):
            if fault == (epoch, i, rank):
                os.kill(os.getpid(), signal.SIGKILL)
            idx = np.sort(order[i * batch : (i + 1) * batch])
            mine = idx[rank::world]
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr * _lr_factor(recipe.schedule, (epoch - 1) * steps + i, total, recipe.warmup_epochs * steps)
            xb, yb = train.inputs(mine).to(device), labels_all[mine].to(device)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = ddp(xb)
            local = classification_loss(logits.float(), yb, recipe.loss) if len(mine) else logits.float().sum() * 0.0
            if not torch.isfinite(local):
                raise FloatingPointError(f"Loss became {local.item()} at epoch {epoch}; lower the learning rate.")
            (local * (len(mine) * world / len(idx))).backward()
            if recipe.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
            optimizer.step()
            running += torch.tensor([float(local.detach()) * len(mine), len(mine)], dtype=torch.float64, device=device)
            bar.update(1)
        dist.all_reduce(running)
        val_metrics = _sharded_validation(model, val, device, recipe.loss, rank, world)
        row = {"epoch": epoch, "train_loss": float(running[0] / running[1]), "val_accuracy": val_metrics["accuracy"],
               "val_loss": val_metrics["loss"], "seconds": time.perf_counter() - start_time}
        state.history.append(row)
        state.epoch = epoch
        if rank == 0:
            log.info("epoch %d/%d train_loss %.4f val_accuracy %.4f (%.1fs, %d processes)", epoch, recipe.epochs,
                     row["train_loss"], row["val_accuracy"], row["seconds"], world)
            bar.set_postfix(epoch=epoch, val=f"{row['val_accuracy']:.3f}")
        if row["val_accuracy"] > state.best["val_accuracy"]:
            state.best, state.best_state, state.stale = {"val_accuracy": row["val_accuracy"], "epoch": epoch}, copy.deepcopy(model.state_dict()), 0
        else:
            state.stale += 1
            state.stopped = bool(recipe.patience and state.stale >= recipe.patience)
        if rank == 0:
            save_epoch(run_dir, model, optimizer, state, run_meta, keep_checkpoints)
        dist.barrier()
    bar.close()
    model.load_state_dict(state.best_state)
    model.eval()
    if rank != 0:
        return None
    return _finish(recipe, model, handler, device, state, resumed_from, world, time.perf_counter() - start_time, run_dir)


def _finish(recipe, model, handler, device, state: RunState, resumed_from: int, world: int, seconds: float, run_dir: Path) -> dict[str, Any]:
    """Rank 0: test metrics, the checkpoint in the cache (the metadata of ``train_recipe`` plus how it was
    run), and ``result.json`` in the run folder."""
    import interp_core
    from interp_core.store.catalog import checkpoint_stems
    from interp_core.store.checkpoint import save_checkpoint
    from interp_core.store.provenance import code_fingerprint
    from interp_core.store.recipes import recipe_hash

    metrics = handler.evaluate(recipe, model, device)
    fit = {"history": state.history, "best_epoch": state.best["epoch"], "val_accuracy": state.best["val_accuracy"],
           "train_seconds": seconds, "epochs_run": len(state.history)}
    meta = {
        "recipe": recipe.to_dict(), "recipe_type": type(recipe).__name__, "recipe_hash": recipe_hash(recipe), "seed": recipe.seed,
        "test_metrics": metrics, "fit": fit, "train_seconds": round(seconds, 2), "device": str(device),
        "threads": torch.get_num_threads(), "interp_core_version": interp_core.__version__,
        "code_fingerprint": code_fingerprint(recipe), "torch_version": torch.__version__, "python": platform.python_version(),
        "machine": platform.machine(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "distributed": {"world_size": world, "backend": dist.get_backend(), "resumed_from_epoch": resumed_from,
                        "trainer": __name__, "run_dir": str(run_dir)},
    }
    stem = checkpoint_stems(recipe)["cache"]
    meta = save_checkpoint(stem, dict(model.state_dict()), meta)
    result = {"recipe": recipe.name, "recipe_hash": meta["recipe_hash"], "world_size": world, "resumed_from_epoch": resumed_from,
              "epochs_run": len(state.history), "best_epoch": state.best["epoch"], "train_seconds": meta["train_seconds"],
              "device": str(device), "test_metrics": metrics, "checkpoint": str(stem), "run_dir": str(run_dir)}
    write_json_atomic(run_dir / "result.json", result)
    return result


def _worker_device(requested: str | None) -> torch.device:
    """This worker's device: GPU ``LOCAL_RANK`` (modulo the GPUs present) when CUDA is there and not refused
    by ``requested`` (``"cpu"``), else the CPU."""
    from interp_core.device import choose_device

    device = choose_device(requested or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    if device.type != "cpu":
        raise ValueError(f"Multi-process training runs on CUDA or the CPU, not {device.type}.")
    return device


def _backend(device: torch.device) -> str:
    """NCCL when every local worker has a GPU of its own; gloo on CPU and when workers share a GPU."""
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return "nccl" if device.type == "cuda" and local_world <= torch.cuda.device_count() else "gloo"


def main(argv: list[str] | None = None) -> int:
    """A torchrun worker: ``python -m interp_core.training.distributed RECIPE [options]`` under torchrun."""
    parser = argparse.ArgumentParser(prog="interp_core.training.distributed")
    parser.add_argument("recipe")
    parser.add_argument("--run-dir", default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--train-subset", type=int, default=None)
    parser.add_argument("--keep-checkpoints", type=int, default=1)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, format=f"[rank {rank}] %(levelname)s %(name)s: %(message)s")
    device = _worker_device(args.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    else:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    dist.init_process_group(_backend(device))
    try:
        recipe = effective_recipe(args.recipe, args.epochs, args.train_subset)
        run_dir = Path(args.run_dir) if args.run_dir else run_dir_for(recipe)
        train_worker(recipe, run_dir=run_dir, device=device, show_bar=not args.quiet, keep_checkpoints=args.keep_checkpoints)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return 0


# ------------------------------------------------------------------------------ the launcher

def launch_command(recipe: str, *, nproc: int, nnodes: int = 1, rdzv_endpoint: str | None = None, max_restarts: int = 0,
                   run_id: str = "", worker_args: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The ``torchrun`` command line of a run: ``--standalone`` on one machine (a free local port), else the
    c10d rendezvous at ``rdzv_endpoint`` (``HOST:PORT`` of one of the machines) with id ``run_id``."""
    if nproc < 1 or nnodes < 1:
        raise ValueError(f"--nproc and --nnodes must be at least 1, got {nproc} and {nnodes}.")
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}", f"--max-restarts={max_restarts}"]
    if nnodes == 1 and not rdzv_endpoint:
        cmd.append("--standalone")
    else:
        if not rdzv_endpoint:
            raise ValueError("Several machines (--nnodes > 1) need --rdzv-endpoint HOST:PORT, the same on every machine.")
        cmd += [f"--nnodes={nnodes}", "--rdzv-backend=c10d", f"--rdzv-endpoint={rdzv_endpoint}", f"--rdzv-id={run_id or recipe}"]
    return [*cmd, "-m", __name__, recipe, *worker_args]


def launch(name: str, *, nproc: int, nnodes: int = 1, rdzv_endpoint: str | None = None, max_restarts: int = 0,
           device: str | None = None, epochs: int | None = None, train_subset: int | None = None, run_dir: str | Path | None = None,
           keep_checkpoints: int = 1, fresh: bool = False, quiet: bool = False, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Train recipe ``name`` on ``nproc`` processes per machine through torchrun and return rank 0's result
    (``world_size``, ``resumed_from_epoch``, ``test_metrics``, ``checkpoint``, ...). ``fresh``: forget
    the run folder's epoch checkpoints first. Raises :class:`DistributedRunError` if the run fails."""
    import shutil

    from interp_core.paths import REPO_ROOT
    from interp_core.store.recipes import recipe_hash

    recipe = effective_recipe(name, epochs, train_subset)
    folder = Path(run_dir) if run_dir else run_dir_for(recipe)
    if fresh and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").unlink(missing_ok=True)
    worker_args = ["--run-dir", str(folder), "--keep-checkpoints", str(keep_checkpoints)]
    worker_args += [a for k, v in (("--device", device), ("--epochs", epochs), ("--train-subset", train_subset)) if v is not None
                    for a in (k, str(v))]
    if quiet:
        worker_args.append("--quiet")
    cmd = launch_command(name, nproc=nproc, nnodes=nnodes, rdzv_endpoint=rdzv_endpoint, max_restarts=max_restarts,
                         run_id=f"{recipe.name}-{recipe_hash(recipe)}", worker_args=worker_args)
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), child_env.get("PYTHONPATH", "")) if p)
    rc = subprocess.run(cmd, env=child_env).returncode
    result_file = folder / "result.json"
    if rc != 0 or not result_file.exists():
        done = sorted(folder.glob("epoch-*.json"))
        where = f"the last complete epoch checkpoint is {done[-1].stem}" if done else "no epoch was completed"
        raise DistributedRunError(f"Training {name} on {nproc} process(es) per machine failed (torchrun exit {rc}); {where} in "
                                  f"{folder}. Run the same command again to resume from it.")
    return json.loads(result_file.read_text())


if __name__ == "__main__":
    sys.exit(main())
