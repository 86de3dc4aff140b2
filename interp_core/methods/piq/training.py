"""The handler of ``piq`` recipes: load the frozen backbone, train the interpreter with PIQ Eq. 2, and
measure it (:func:`~interp_core.methods.piq.metrics.evaluate_piq`).

Training follows the reference (method-notes §3.5) on what differs from a classifier's loop: the
classifier is frozen and in eval mode, so its representation of every training input is computed once;
the quantiser uses the keys of the class the classifier *predicts* (not the label); the loss is the
reconstruction term between the sigmoid mask and the binary target plus the codebook and commitment
terms (both mean squared errors, commitment weighted by the recipe). Differences, on purpose: Adam with a
cosine schedule over a CPU-sized number of epochs (the reference: 200 epochs with plateau halving), and
each class's keys start at adapted training vectors of that class (the reference: U(-1/K, 1/K)), which
keeps every key in use from the first step.
"""
from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.data import load_split
from interp_core.data.base import Split
from interp_core.methods.piq.model import PIQInterpreter, PIQModel, upsampling_stages
from interp_core.methods.piq.recipes import PIQRecipe
from interp_core.methods.piq.targets import target_masks
from interp_core.store.models import RecipeHandler, load_model, register_handler
from interp_core.store.recipes import get_recipe
from interp_core.progress import Progress
from interp_core.training.engine import seed_everything

RECONSTRUCTION_LOSSES = ("bce", "bce+dice")


def build_piq(recipe: PIQRecipe) -> PIQModel:
    if get_recipe(recipe.backbone).dataset != recipe.dataset:
        raise ValueError(f"PIQ recipe {recipe.name!r} is on {recipe.dataset!r} but its backbone {recipe.backbone!r} is not.")
    if recipe.reconstruction not in RECONSTRUCTION_LOSSES:
        raise ValueError(f"Unknown PIQ reconstruction loss {recipe.reconstruction!r}; expected one of {RECONSTRUCTION_LOSSES}.")
    base = load_model(recipe.backbone)
    # A private copy: moving the PIQ model between devices must not move the store's shared backbone.
    backbone = copy.deepcopy(base.model).eval()
    return build_interpreted(backbone, base.info.num_classes, tuple(base.info.input_shape), recipe)


def build_interpreted(backbone: nn.Module, n_classes: int, input_shape: tuple[int, ...], recipe: PIQRecipe) -> PIQModel:
    """A fresh interpreter for ``backbone`` sized by the recipe, its decoders checked against the backbone's strides."""
    device = next(backbone.parameters()).device
    with torch.no_grad():
        outputs = backbone.block_outputs(torch.zeros(1, *input_shape, device=device))
    if recipe.quantised_block > len(outputs):
        raise ValueError(f"Recipe {recipe.name!r}: quantised_block {recipe.quantised_block}, but the backbone has {len(outputs)} blocks.")
    features, size = outputs[recipe.quantised_block - 1] if recipe.quantised_block else outputs[-1], tuple(input_shape[-2:])
    skip = outputs[recipe.skip_block - 1] if recipe.skip_block else None
    plan = [(tuple(features.shape[-2:]), size, recipe.decoder_widths, "decoder_widths")]
    if skip is not None:
        plan = [(tuple(features.shape[-2:]), tuple(skip.shape[-2:]), recipe.decoder_widths, "decoder_widths"),
                (tuple(skip.shape[-2:]), size, recipe.skip_widths, "skip_widths")]
    for i, (source, target, widths, field_name) in enumerate(plan):
        stages = upsampling_stages(target, source)
        # With an input head, the last decoder may stop short: the rest is a bilinear resize.
        short_ok = recipe.input_head and i == len(plan) - 1 and len(widths) < stages
        if len(widths) != stages and not short_ok:
            raise ValueError(f"Recipe {recipe.name!r}: bringing {source} to {target} takes {stages} upsampling stages, "
                             f"but {field_name} has {len(widths)}.")
    interpreter = PIQInterpreter(features.shape[1], n_classes, keys_per_class=recipe.keys_per_class, dim=recipe.code_dim,
                                 normalize=recipe.normalize_codes, decoder_widths=tuple(recipe.decoder_widths),
                                 latent_blocks=recipe.latent_blocks, skip_block=recipe.skip_block,
                                 skip_channels=0 if skip is None else skip.shape[1], skip_dim=recipe.skip_dim,
                                 skip_widths=tuple(recipe.skip_widths),
                                 input_channels=input_shape[0] if recipe.input_head else 0, input_width=recipe.input_width,
                                 input_kernel=recipe.input_kernel, head_upsamples=recipe.head_upsamples,
                                 quantised_block=recipe.quantised_block).to(device)
    return PIQModel(backbone, interpreter)


@torch.no_grad()
def classifier_representations(model: PIQModel, split: Split, recipe: PIQRecipe, device: torch.device,
                               batch_size: int = 128) -> dict[str, torch.Tensor]:
    """For every sample of ``split`` (on CPU): the feature map the interpreter quantises ``features``
    ``(N, D, h, w)`` (the classifier's last, or its ``quantised_block``'s), the classifier's predicted
    class ``predicted`` ``(N,)``, the training target mask ``targets``
    ``(N, H, W)`` (bool) and, for a two-level interpreter, the finer block's output ``skip`` (float16:
    it is large); with an input head also the ``inputs`` (float16)."""
    parts: dict[str, list[torch.Tensor]] = {"features": [], "predicted": [], "targets": [], "skip": [], "inputs": []}
    for start in range(0, len(split), batch_size):
        index = np.arange(start, min(len(split), start + batch_size))
        x = split.inputs(index)
        decision, features, skip = model.representations(x.to(device))
        parts["features"].append(features.cpu())
        parts["predicted"].append(model.classify_features(decision).argmax(1).cpu())
        parts["targets"].append(target_masks(recipe.target, split, index, x, recipe.target_threshold) > 0.5)
        if skip is not None:
            parts["skip"].append(skip.half().cpu())
        if model.interpreter.input_channels:
            parts["inputs"].append(x.half().cpu())
    return {k: torch.cat(v) for k, v in parts.items() if v}


@torch.no_grad()
def mixture_representations(model: PIQModel, recipe: PIQRecipe, device: torch.device, batch_size: int = 64) -> dict[str, torch.Tensor]:
    """The contaminated counterpart's training split (``MIXTURES``) as examples: every source of a mixture
    is one example *for its own class*, with that source's ground-truth mask as the target (the mask PIQ
    should give when asked for that class). Returns what :func:`classifier_representations` does, once per
    mixture, plus per example ``rows`` (its mixture) and ``classes``, with ``targets`` per example."""
    from interp_core.methods.piq.metrics import MIXTURES

    if recipe.dataset not in MIXTURES:
        raise ValueError(f"Recipe {recipe.name!r}: {recipe.dataset!r} has no contaminated counterpart to train on "
                         f"(known: {', '.join(sorted(MIXTURES))}).")
    name, labels_key, masks_key = MIXTURES[recipe.dataset]
    split = load_split(name, "train")
    parts: dict[str, list[torch.Tensor]] = {"features": [], "skip": [], "inputs": [], "rows": [], "classes": [], "targets": []}
    for start in range(0, len(split), batch_size):
        index = np.arange(start, min(len(split), start + batch_size))
        x = split.inputs(index)
        _, features, skip = model.representations(x.to(device))
        parts["features"].append(features.cpu())
        if skip is not None:
            parts["skip"].append(skip.half().cpu())
        if model.interpreter.input_channels:
            parts["inputs"].append(x.half().cpu())
        labels = torch.as_tensor(np.asarray(split.extras[labels_key][index]))
        masks = torch.as_tensor(np.asarray(split.extras[masks_key][index]))
        mixture, source = torch.nonzero(labels >= 0, as_tuple=True)
        parts["rows"].append(mixture + start)
        parts["classes"].append(labels[mixture, source])
        parts["targets"].append(masks[mixture, source].bool())
    return {k: torch.cat(v) for k, v in parts.items() if v}


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft Dice loss (Sudre et al. 2017) of sigmoid masks ``(N, H, W)`` against binary targets."""
    mask = torch.sigmoid(logits).flatten(1)
    target = target.flatten(1)
    return (1 - (2 * (mask * target).sum(1) + eps) / (mask.sum(1) + target.sum(1) + eps)).mean()


def piq_loss(out, target: torch.Tensor, reconstruction: str = "bce", commitment: float = 1.0) -> dict[str, torch.Tensor]:
    """PIQ Eq. 2: ``d(x_int || x_target) + ||h' - sg(h''')||^2 + ||sg(h') - h'''||^2`` (the first squared
    term, commitment, weighted by ``commitment``; both summed over the quantisation levels). ``out``: the
    interpreter's :class:`~interp_core.methods.piq.model.Interpretation`; ``target`` ``(N, H, W)`` float."""
    logits = out.logits[:, 0]
    rec = F.binary_cross_entropy_with_logits(logits, target)
    if reconstruction == "bce+dice":
        rec = rec + dice_loss(logits, target)
    codebook = sum(F.mse_loss(q, h.detach()) for h, q in zip(out.adapted, out.codes))
    commit = sum(F.mse_loss(h, q.detach()) for h, q in zip(out.adapted, out.codes))
    return {"loss": rec + codebook + commitment * commit, "reconstruction": rec, "codebook": codebook, "commitment": commit}


def train_piq(recipe: PIQRecipe, model: PIQModel, device: torch.device, progress, show_bar: bool) -> dict:
    from tqdm.auto import tqdm

    seed_everything(recipe.seed)
    train = load_split(recipe.dataset, "train")
    if recipe.train_subset and recipe.train_subset < len(train):
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(recipe.seed))
        train = train.subset(order[: recipe.train_subset].sort().values.numpy())
    model.to(device).eval()
    start = time.perf_counter()
    data = classifier_representations(model, train, recipe, device)
    features, targets, skip, inputs = data["features"], data["targets"], data.get("skip"), data.get("inputs")
    # One example per row: the feature row it reads and the class whose keys quantise it (PIQ: the
    # classifier's prediction; a mixture's source: its own class).
    rows, classes = torch.arange(len(features)), data["predicted"]
    if recipe.train_on_mixtures:
        mix = mixture_representations(model, recipe, device)
        rows = torch.cat([rows, mix["rows"] + len(features)])
        classes, targets = torch.cat([classes, mix["classes"]]), torch.cat([targets, mix["targets"]])
        features = torch.cat([features, mix["features"]])
        skip = None if skip is None else torch.cat([skip, mix["skip"]])
        inputs = None if inputs is None else torch.cat([inputs, mix["inputs"]])
    examples = len(rows)

    def rows_of(tensor: torch.Tensor | None, picked: torch.Tensor) -> torch.Tensor | None:
        return None if tensor is None else tensor[rows[picked]].float().to(device)

    stats: dict = {"representation_seconds": round(time.perf_counter() - start, 2), "train_samples": len(train),
                   "mixture_examples": examples - len(train), "target_area": float(targets.float().mean())}
    size = tuple(targets.shape[-2:])
    interpreter = model.interpreter.train()
    generator = torch.Generator().manual_seed(recipe.seed)
    with torch.no_grad():
        seed_rows = torch.randperm(len(train), generator=generator)[:2048]
        interpreter.codebook.init_from(interpreter.adapt(rows_of(features, seed_rows)).cpu(), classes[seed_rows], generator)
        if skip is not None:
            picked = seed_rows[:256]
            first = interpreter(rows_of(features, picked), classes[picked].to(device), size, rows_of(skip, picked), rows_of(inputs, picked))
            interpreter.skip_codebook.init_from(first.adapted[1].cpu(), classes[picked], generator)
    optimizer = torch.optim.Adam(interpreter.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = math.ceil(examples / recipe.batch_size)
    total = recipe.epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))))
    rng = np.random.default_rng(recipe.seed)
    history = []
    bar = tqdm(total=total, desc="piq", unit="batch", disable=not show_bar, leave=False)
    for epoch in range(1, recipe.epochs + 1):
        order = rng.permutation(examples)
        sums = {"loss": 0.0, "reconstruction": 0.0, "codebook": 0.0, "commitment": 0.0}
        used = torch.zeros(interpreter.codebook.weight.shape[0], dtype=torch.bool)
        for i in range(steps_per_epoch):
            idx = torch.from_numpy(order[i * recipe.batch_size : (i + 1) * recipe.batch_size])
            out = interpreter(rows_of(features, idx), classes[idx].to(device), size, rows_of(skip, idx), rows_of(inputs, idx))
            terms = piq_loss(out, targets[idx].to(device).float(), recipe.reconstruction, recipe.commitment)
            if not torch.isfinite(terms["loss"]):
                raise FloatingPointError(f"PIQ loss became {terms['loss'].item()} at epoch {epoch}; lower the learning rate.")
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
            scheduler.step()
            for k in sums:
                sums[k] += float(terms[k].detach()) * len(idx)
            used[out.indices.flatten().cpu()] = True
            bar.update(1)
            if progress is not None and (i % 10 == 0 or i == steps_per_epoch - 1):
                done = ((epoch - 1) * steps_per_epoch + i + 1) / total
                progress(Progress("train", done, f"epoch {epoch}/{recipe.epochs} · loss {sums['loss'] / ((i + 1) * recipe.batch_size):.3f}",
                                  epoch, recipe.epochs))
        row = {"epoch": epoch, **{k: v / examples for k, v in sums.items()}, "keys_used": float(used.float().mean()),
               "seconds": round(time.perf_counter() - start, 2)}
        history.append(row)
        bar.set_postfix(epoch=epoch, loss=f"{row['loss']:.3f}")
    bar.close()
    model.eval()
    stats.update(history=history, train_seconds=round(time.perf_counter() - start, 2))
    return stats


def evaluate_piq_recipe(recipe: PIQRecipe, model: PIQModel, device: torch.device) -> dict:
    from interp_core.methods.piq.metrics import evaluate_piq

    return evaluate_piq(model, recipe.dataset, load_model(recipe.backbone, device).card, lime_samples=8, mixture_samples=200)


register_handler("piq", RecipeHandler(build_piq, train_piq, evaluate_piq_recipe))
