"""Epoch checkpoints of a multi-process run, from which any launch resumes.

After each epoch rank 0 writes ``epoch-NNN`` into the run folder (weights, AdamW state, best weights,
history; :func:`~interp_core.store.checkpoint.save_checkpoint`: temp file + ``os.replace``, the metadata
last). :func:`resume` loads the last complete one that belongs to the same run, after a crash, a killed
worker or a lost machine alike.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path

import torch
import torch.nn as nn

log = logging.getLogger(__name__)


@dataclasses.dataclass
class RunState:
    """Where a run stands after ``epoch`` epochs (0: fresh)."""

    epoch: int = 0
    history: list = dataclasses.field(default_factory=list)
    best: dict = dataclasses.field(default_factory=lambda: {"val_accuracy": -1.0, "epoch": 0})
    stale: int = 0
    stopped: bool = False
    best_state: dict | None = None


def _epoch_stem(run_dir: Path, epoch: int) -> Path:
    return run_dir / f"epoch-{epoch:03d}"


def save_epoch(run_dir: Path, model: nn.Module, optimizer, state: RunState, meta: dict, keep: int) -> None:
    """Write ``state`` (after its epoch) with the model's weights and the optimizer's state into ``run_dir``,
    keeping the last ``keep`` epoch checkpoints (all when 0)."""
    from interp_core.store.checkpoint import save_checkpoint

    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"best.{k}": v for k, v in state.best_state.items()})
    for index, values in optimizer.state_dict()["state"].items():
        for key, value in values.items():
            tensors[f"optim.{index}.{key}"] = value.reshape(-1) if value.dim() == 0 else value
    meta = dict(meta, epoch=state.epoch, history=state.history, best=state.best, stale=state.stale, stopped=state.stopped)
    save_checkpoint(_epoch_stem(run_dir, state.epoch), tensors, meta)
    if keep:
        for old in sorted(run_dir.glob("epoch-*.json"))[:-keep]:
            for suffix in (".safetensors", ".json"):
                old.with_suffix(suffix).unlink(missing_ok=True)


def resume(run_dir: Path, model: nn.Module, optimizer, meta: dict) -> RunState:
    """Load the last complete epoch checkpoint of ``run_dir`` that belongs to this run (same recipe hash,
    training-set size and batch) into ``model`` and ``optimizer``; a fresh :class:`RunState` if none."""
    from interp_core.store.checkpoint import CheckpointError, load_checkpoint

    for path in sorted(run_dir.glob("epoch-*.json"), reverse=True):
        try:
            tensors, saved = load_checkpoint(path.with_suffix(""))
        except CheckpointError as err:
            log.warning("skipped epoch checkpoint %s: %s", path, err)
            continue
        if any(saved.get(k) != meta[k] for k in ("recipe_hash", "train_samples", "global_batch")):
            log.warning("skipped epoch checkpoint %s: it belongs to another run", path)
            continue
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
        best_state = {k[5:]: v.to(next(model.parameters()).device) for k, v in tensors.items() if k.startswith("best.")}
        groups = optimizer.state_dict()["param_groups"]
        n_params = sum(len(g["params"]) for g in optimizer.param_groups)
        opt_state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, field = key.split(".", 2)
                if field == "step":
                    value = value.reshape(())
                opt_state.setdefault(int(index), {})[field] = value
        if any(index >= n_params for index in opt_state):
            log.warning("skipped epoch checkpoint %s: its optimizer state does not fit the model", path)
            continue
        optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
        return RunState(int(saved["epoch"]), list(saved["history"]), dict(saved["best"]), int(saved["stale"]),
                        bool(saved.get("stopped", False)), best_state)
    return RunState(best_state=copy.deepcopy(model.state_dict()))
