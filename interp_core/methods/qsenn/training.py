"""The handlers of the Q-SENN family: ``qsenn-dense`` (the dense model with the Feature Diversity Loss)
and ``qsenn`` (glm-saga5, SLDD and Q-SENN sparse layers built on a dense model).

The Q-SENN pipeline (Fig. 2, method-notes §2.4-2.8), each step a named stage of the progress:

1. ``dense``: the dense recipe's model (loaded, or trained through the store);
2. ``features``: pooled features of the train split, split 90/10 into train/val as the dense training did,
   standardised by the train mean and std;
3. ``select``: n*_f features by SLDD's group-sparse selection (:class:`~.sparse.FeatureSelector`);
4. ``path``: the glm-saga path on the selected standardised features;
5. ``layer``: SLDD's pick (real values) or Q-SENN's quantisation to 5·C weights of one magnitude and the
   bias rule; the model's mean/std are reset to the features' statistics;
6. ``finetune``: the layer fixed, backbone and mean/std trainable, cross-entropy + Feature Diversity Loss;
   Q-SENN repeats 2 (features of the current model, same selection), 4, 5 and 6 once per entry of
   ``finetune_epochs``, at learning rate ``finetune_lr * lr_decay**i``.

glm-saga5 stops after the path (all dense features, the point with at most 5 weights per class).
"""
from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch

from interp_core.data import dataset_info, load_split
from interp_core.data.base import Split
from interp_core.methods.qsenn.diversity import FeatureDiversityLoss
from interp_core.methods.qsenn.metrics import extract_features, qsenn_table_metrics
from interp_core.methods.qsenn.model import QSENNModel, build_qsenn_model
from interp_core.methods.qsenn.recipes import DenseFDLRecipe, SparseLayerRecipe
from interp_core.methods.qsenn.sparse import (
    FeatureSelector,
    glm_path,
    glm_saga5_pick,
    qsenn_bias,
    quantize_ternary,
    sldd_pick,
    standardise,
)
from interp_core.store.models import ModelNotTrainedError, RecipeHandler, load_model, register_handler
from interp_core.store.recipes import get_recipe
from interp_core.progress import Progress, ProgressCallback, stage_progress
from interp_core.training.engine import fit_classifier, split_train_val


# ---------------------------------------------------------------------------------------------- dense
def build_dense(recipe: DenseFDLRecipe) -> QSENNModel:
    info = dataset_info(recipe.dataset)
    return build_qsenn_model(recipe.arch, in_channels=info.input_shape[0], num_classes=info.num_classes,
                             dropout=recipe.dropout, **recipe.arch_kwargs)


def train_dense(recipe: DenseFDLRecipe, model: QSENNModel, device: torch.device, progress: ProgressCallback | None,
                show_bar: bool) -> dict:
    train, val = split_train_val(load_split(recipe.dataset, "train"), recipe.val_fraction, recipe.seed)
    if recipe.init_from:
        start = load_model(recipe.init_from, device, show_bar=False)
        if start.recipe.dataset != recipe.dataset:
            raise ValueError(f"Recipe {recipe.name!r} is on {recipe.dataset!r} but {recipe.init_from!r} is not.")
        model.blocks.load_state_dict(start.model.blocks.state_dict())
        model.set_layer(start.model.classifier.weight.detach(), start.model.classifier.bias.detach())
    model.freeze_normalisation()  # the dense model's layer sees the raw pooled features
    fit = fit_classifier(
        model, train, val, epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr, weight_decay=recipe.weight_decay,
        warmup_epochs=recipe.warmup_epochs, patience=recipe.patience, seed=recipe.seed, device=device,
        progress=stage_progress(progress, "dense", 0.0, 1.0), show_bar=show_bar,
        extra_losses=(FeatureDiversityLoss(recipe.beta),), stage="dense",
    )
    return fit


def evaluate_dense(recipe: DenseFDLRecipe, model: QSENNModel, device: torch.device) -> dict:
    """Tables 1/4 for the dense model, without binary features (a mean shift per each of its 128 features
    takes minutes on 2 cores; the sparse models report theirs)."""
    return qsenn_table_metrics(model, load_split(recipe.dataset, "train"), load_split(recipe.dataset, "test"), device, binary=False)


# ---------------------------------------------------------------------------------------------- sparse
def build_sparse(recipe: SparseLayerRecipe) -> QSENNModel:
    dense = get_recipe(recipe.dense)
    info = dataset_info(recipe.dataset)
    n_features = None if recipe.method == "glm-saga5" else recipe.n_features
    return build_qsenn_model(dense.arch, in_channels=info.input_shape[0], num_classes=info.num_classes, n_features=n_features,
                             dropout=recipe.dropout, **dense.arch_kwargs)


class _Stages:
    """Progress over the whole sparse pipeline: each stage gets a share of [0, 1] in order."""

    def __init__(self, progress: ProgressCallback | None, shares: list[tuple[str, float]]):
        self.progress = progress
        total = sum(s for _, s in shares)
        self.bounds, start = [], 0.0
        for name, share in shares:
            self.bounds.append((name, start, start + share / total))
            start += share / total
        self.index = 0

    def next(self) -> tuple[str, ProgressCallback | None]:
        name, start, end = self.bounds[self.index]
        self.index += 1
        report = stage_progress(self.progress, name, start, end)
        if report is not None:
            report(Progress(name, 0.0, "started"))
        return name, report


def _layer_from_path(recipe: SparseLayerRecipe, X: torch.Tensor, y: torch.Tensor, X_val: torch.Tensor, y_val: torch.Tensor,
                     n_classes: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """The glm-saga path on standardised features and the method's layer from it."""
    per_class = recipe.per_class
    if recipe.method == "glm-saga5":
        stop = lambda pts: pts[-1].nonzero_per_class > per_class  # noqa: E731  (the sparse end is enough)
    elif recipe.method == "sldd":
        stop = lambda pts: pts[-1].nonzero_per_class > per_class / 0.5  # noqa: E731
    else:
        stop = None  # Q-SENN quantises the least regularised point
    start = time.perf_counter()
    path = glm_path(X, y, X_val, y_val, n_classes, alpha=recipe.glm_alpha, n_lambdas=recipe.glm_lambdas, epsilon=recipe.glm_epsilon,
                    epochs=recipe.glm_epochs, lr=recipe.glm_lr, lookbehind=recipe.glm_lookbehind, batch_size=recipe.glm_batch_size,
                    seed=recipe.seed, stop=stop)
    info: dict[str, Any] = {"path_points": len(path), "path_seconds": round(time.perf_counter() - start, 2)}
    if recipe.method == "glm-saga5":
        weight, bias, index = glm_saga5_pick(path, per_class)
    elif recipe.method == "sldd":
        weight, bias, index = sldd_pick(path, per_class)
    else:
        nonzero_points = path[:-1] if len(path) > 1 and path[-1].lam == 0 else path
        index = len(nonzero_points) - 1
        point = nonzero_points[index]
        weight, alpha = quantize_ternary(point.weight, per_class * n_classes)
        bias = qsenn_bias(weight, float(point.bias.abs().max()))
        info["alpha"] = alpha
    info.update(path_index=index, path_lambda=path[index].lam, path_val_accuracy=path[index].val_accuracy,
                path_nonzero_per_class=path[index].nonzero_per_class)
    return weight, bias, info


def _dense_model(recipe: SparseLayerRecipe, device: torch.device) -> QSENNModel:
    dense = load_model(recipe.dense, device, show_bar=False)
    if dense.recipe.dataset != recipe.dataset:
        raise ValueError(f"Recipe {recipe.name!r} is on {recipe.dataset!r} but its dense recipe {recipe.dense!r} is not.")
    return dense.model


def train_sparse(recipe: SparseLayerRecipe, model: QSENNModel, device: torch.device, progress: ProgressCallback | None,
                 show_bar: bool) -> dict:
    iterations = len(recipe.finetune_epochs) if recipe.method == "qsenn" else (1 if recipe.method == "sldd" else 0)
    shares = [("dense", 1.0), ("features", 0.5), ("select", 0.5)]
    for i in range(max(iterations, 1)):
        if i:
            shares.append((f"features {i + 1}", 0.5))
        shares += [(f"path {i + 1}", 1.0), (f"finetune {i + 1}", float(recipe.finetune_epochs[i]) if iterations else 0.0)]
    stages = _Stages(progress, shares)
    stats: dict[str, Any] = {"method": recipe.method, "stages": {}}

    def timed(name: str, start: float) -> None:
        stats["stages"][name] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    stages.next()
    dense = _dense_model(recipe, device)
    model.blocks.load_state_dict(copy.deepcopy(dense.blocks.state_dict()))
    model.to(device)
    timed("dense", start)

    full = load_split(recipe.dataset, "train")
    train, val = split_train_val(full, 0.1, get_recipe(recipe.dense).seed)
    n_classes = full.info.num_classes
    y, y_val = torch.from_numpy(train.labels), torch.from_numpy(val.labels)

    start = time.perf_counter()
    stages.next()
    features, features_val = extract_features(model, train, device, all_channels=True), extract_features(model, val, device, all_channels=True)
    timed("features", start)

    start = time.perf_counter()
    stages.next()
    if recipe.method == "glm-saga5":
        channels = torch.arange(model.width)
    else:
        X, _, _ = standardise(features)
        selector = FeatureSelector(recipe.n_features, alpha=recipe.select_alpha, lambda_scale=recipe.select_lambda_scale).fit(X, y, n_classes)
        channels = selector.selected_
        stats["selection_order"] = selector.order_.tolist()
        stats["selection_iterations"] = selector.iterations_
    model.set_selection(channels.to(device))
    stats["feature_ids"] = channels.tolist()
    timed("select", start)

    history = []
    for i in range(max(iterations, 1)):
        if i:
            start = time.perf_counter()
            stages.next()
            features, features_val = extract_features(model, train, device), extract_features(model, val, device)
            timed(f"features {i + 1}", start)
        else:
            features, features_val = features[:, channels], features_val[:, channels]
        start = time.perf_counter()
        stages.next()
        X, mean, std = standardise(features)
        X_val, _, _ = standardise(features_val, mean, std)
        weight, bias, info = _layer_from_path(recipe, X, y, X_val, y_val, n_classes)
        model.set_layer(weight.to(device), bias.to(device), mean.to(device), std.to(device))
        timed(f"path {i + 1}", start)
        row: dict[str, Any] = {"iteration": i + 1, **info}
        _, report = stages.next()
        if iterations:
            start = time.perf_counter()
            model.freeze_layer().freeze_normalisation(False)
            lr = recipe.finetune_lr * recipe.lr_decay ** i
            fit = fit_classifier(
                model, train, val, epochs=recipe.finetune_epochs[i], batch_size=recipe.batch_size, lr=lr, patience=0,
                seed=recipe.seed + i, device=device, progress=report, show_bar=show_bar,
                extra_losses=(FeatureDiversityLoss(recipe.beta),), stage=f"finetune {i + 1}",
            )
            row.update(lr=lr, val_accuracy=fit["val_accuracy"], best_epoch=fit["best_epoch"])
            timed(f"finetune {i + 1}", start)
        history.append(row)
    model.freeze_layer(False).freeze_normalisation(False)
    stats["iterations"] = history
    return stats


def _prefix(method: str) -> str:
    return method.replace("-", "_") + "_"


def evaluate_sparse(recipe: SparseLayerRecipe, model: QSENNModel, device: torch.device) -> dict:
    """Tables 1/4 for this model, and for its dense model and the ``compare`` recipes (prefixed), computed
    now; a comparison that is not trained is left out and named in ``missing``."""
    train, test = load_split(recipe.dataset, "train"), load_split(recipe.dataset, "test")
    metrics = qsenn_table_metrics(model, train, test, device)
    missing = []
    for name, prefix in [(recipe.dense, "dense_")] + [(n, _prefix(get_recipe(n).method)) for n in recipe.compare]:
        try:
            other = load_model(name, device, train_if_missing=False, show_bar=False)
        except ModelNotTrainedError:
            missing.append(name)
            continue
        other_metrics = qsenn_table_metrics(other.model, train, test, device, binary=False)
        metrics.update({prefix + k: v for k, v in other_metrics.items()})
    if missing:
        metrics["missing"] = missing
    return metrics


register_handler("qsenn-dense", RecipeHandler(build_dense, train_dense, evaluate_dense))
register_handler("qsenn", RecipeHandler(build_sparse, train_sparse, evaluate_sparse))
