"""The training loop shared by every classifier recipe.

Data stay in memory as numpy arrays; batches are converted by the split's ``to_input`` (no DataLoader
worker overhead on 2-core machines). Validation accuracy drives early stopping and the best weights are
restored at the end.
"""
from __future__ import annotations

import copy
import logging
import math
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.data.base import Split
from interp_core.progress import Progress, ProgressCallback

log = logging.getLogger("interp_core.training")


class LossTerm:
    """An extra loss term added to the classification loss by :func:`fit_classifier` (e.g. Q-SENN's Feature
    Diversity Loss). Called with ``(model, inputs, labels, logits)`` after the forward pass; a term that
    needs intermediate activations reads what the model kept from that forward. ``name`` labels its mean
    in the training history."""

    name = "extra"

    def __call__(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def split_train_val(split: Split, val_fraction: float, seed: int) -> tuple[Split, Split]:
    """Seeded stratified-by-shuffle hold-out of ``val_fraction`` of ``split`` for early stopping."""
    rng = np.random.default_rng(seed + 7919)
    order = rng.permutation(len(split))
    n_val = max(1, int(round(val_fraction * len(split))))
    return split.subset(np.sort(order[n_val:])), split.subset(np.sort(order[:n_val]))


def classification_loss(logits: torch.Tensor, labels: torch.Tensor, loss: str) -> torch.Tensor:
    if loss == "ce":
        return F.cross_entropy(logits, labels)
    num_classes = logits.shape[1]
    target = F.one_hot(labels, num_classes).float()
    if loss == "bce-uniform":
        # B-cos v2: off-label targets are 1/C instead of 0.
        target = target.clamp(min=1.0 / num_classes)
    elif loss != "bce":
        raise ValueError(f"Unknown loss {loss!r}; expected 'ce', 'bce' or 'bce-uniform'.")
    return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / logits.shape[0]


@torch.no_grad()
def predict_logits(model: nn.Module, split: Split, device: torch.device, batch_size: int = 256) -> torch.Tensor:
    """Logits ``(N, C)`` (on CPU) for every sample of ``split``, in eval mode."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(split), batch_size):
        xb = split.inputs(np.arange(start, min(len(split), start + batch_size))).to(device)
        out.append(model(xb).float().cpu())
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)


def evaluate_classifier(model: nn.Module, split: Split, device: torch.device, loss: str = "ce") -> dict[str, float]:
    """Accuracy (fraction) and mean loss on ``split``."""
    logits = predict_logits(model, split, device)
    labels = torch.from_numpy(split.labels)
    return {
        "accuracy": float((logits.argmax(1) == labels).float().mean()),
        "loss": float(classification_loss(logits, labels, loss)),
        "n": len(split),
    }


def _lr_factor(schedule: str, step: int, total: int, warmup: int) -> float:
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "cosine":
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    if schedule == "constant":
        return 1.0
    raise ValueError(f"Unknown schedule {schedule!r}; expected 'cosine' or 'constant'.")


def fit_classifier(
    model: nn.Module,
    train: Split,
    val: Split,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float = 0.0,
    loss: str = "ce",
    schedule: str = "cosine",
    warmup_epochs: int = 0,
    patience: int = 3,
    grad_clip: float = 0.0,
    seed: int = 0,
    device: torch.device = torch.device("cpu"),
    progress: ProgressCallback | None = None,
    show_bar: bool = True,
    extra_losses: tuple[LossTerm, ...] | list[LossTerm] = (),
    stage: str = "train",
) -> dict:
    """Train ``model`` in place with Adam(W); return the history and best validation metrics.

    ``extra_losses`` are added to the classification loss (their epoch means go into the history);
    ``stage`` names this run in the progress bar and the progress reports. Parameters with
    ``requires_grad=False`` stay fixed (a stage that fine-tunes only part of a model freezes the rest)."""
    from tqdm.auto import tqdm

    seed_everything(seed)
    model.to(device).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total = epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: _lr_factor(schedule, s, total, warmup_epochs * steps_per_epoch)
    )
    rng = np.random.default_rng(seed)
    labels_all = torch.from_numpy(train.labels)
    best = {"val_accuracy": -1.0, "epoch": 0}
    best_state = copy.deepcopy(model.state_dict())
    history, stale, start = [], 0, time.perf_counter()
    bar = tqdm(total=total, desc=stage, unit="batch", disable=not show_bar, leave=False)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(train))
        running, seen = 0.0, 0
        term_sums = {term.name: 0.0 for term in extra_losses}
        for i in range(steps_per_epoch):
            idx = np.sort(order[i * batch_size : (i + 1) * batch_size])
            xb, yb = train.inputs(idx).to(device), labels_all[idx].to(device)
            optimizer.zero_grad(set_to_none=True)
            logits = model(xb)
            batch_loss = classification_loss(logits, yb, loss)
            for term in extra_losses:
                value = term(model, xb, yb, logits)
                term_sums[term.name] += float(value.detach()) * len(idx)
                batch_loss = batch_loss + value
            if not torch.isfinite(batch_loss):
                raise FloatingPointError(f"Loss became {batch_loss.item()} at epoch {epoch}; lower the learning rate.")
            batch_loss.backward()
            if grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            scheduler.step()
            running += float(batch_loss.detach()) * len(idx)
            seen += len(idx)
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{running / seen:.3f}")
            if progress is not None and (i % 10 == 0 or i == steps_per_epoch - 1):
                done = ((epoch - 1) * steps_per_epoch + i + 1) / total
                progress(Progress(stage, done, f"epoch {epoch}/{epochs} · loss {running / seen:.3f}", epoch, epochs))
        val_metrics = evaluate_classifier(model, val, device, loss)
        row = {"epoch": epoch, "train_loss": running / seen, "val_accuracy": val_metrics["accuracy"], "val_loss": val_metrics["loss"],
               "seconds": time.perf_counter() - start, **{f"train_{k}": v / seen for k, v in term_sums.items()}}
        history.append(row)
        log.info("epoch %d/%d train_loss %.4f val_accuracy %.4f (%.1fs)", epoch, epochs, row["train_loss"], row["val_accuracy"], row["seconds"])
        if progress is not None:
            progress(Progress("validate", epoch / epochs, f"epoch {epoch}/{epochs} · val accuracy {row['val_accuracy']:.3f}",
                              epoch, epochs, {"val_accuracy": row["val_accuracy"]}))
        if row["val_accuracy"] > best["val_accuracy"]:
            best = {"val_accuracy": row["val_accuracy"], "epoch": epoch}
            best_state = copy.deepcopy(model.state_dict())
            stale = 0
        else:
            stale += 1
            if patience and stale >= patience:
                log.info("early stopping at epoch %d (best epoch %d)", epoch, best["epoch"])
                break
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    return {"history": history, "best_epoch": best["epoch"], "val_accuracy": best["val_accuracy"],
            "train_seconds": time.perf_counter() - start, "epochs_run": len(history)}
