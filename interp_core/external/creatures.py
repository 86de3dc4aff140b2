"""The shipped recipes on ``creatures`` (our 2D FunnyBirds), one per family, for the benchmark every family
takes (torch-free at import; a recipe provider).

Each is a shapes recipe of its family re-made for ``creatures`` with ``dataclasses.replace``: same recipe
class, architecture and hyper-parameters (both datasets are 64x64 RGB with 48 classes), unless said here.

* ``cnn-creatures``: ``cnn-shapes`` (4-block CNN, CE, AdamW lr 2e-3, cosine); the backbone of the others.
* ``bcos-creatures``: ``bcos-shapes`` (9-layer B-cos CNN, B = 2.5, BCE, shift-flip augmentation) with B-cos
  v2's uncentered batch norm, which it needs to learn on creatures (see below).
* ``kmex-creatures``: ``kmex-shapes`` on the frozen ``cnn-creatures``.
* ``qsenn-dense-creatures`` -> ``qsenn-creatures``: ``qsenn-dense-shapes`` / ``qsenn-shapes`` from
  ``cnn-creatures``: 24 features, 5 ternary weights per class; nothing to compare beside the dense model
  (no glm-saga5 or SLDD recipe here). Alignment r is against the part variants of the parts drawn.
* ``piq-creatures``: ``piq-shapes`` (the creature's mask, body and parts drawn, as the target).

The training images carry FunnyBirds' part-removal augmentation with a single-label loss (see
:mod:`interp_core.data.creatures`); :func:`intervened_accuracy` scores a model on test images with parts
removed, a prediction counting as correct when it is a class consistent with the parts still drawn.
Measured accuracies and training times: ``docs/creatures.md``.
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

from interp_core.store.recipes import Recipe, get_recipe, register_recipe

DATASET = "creatures"
#: The recipes of this module, in training order (each after the ones it builds on).
CREATURES_RECIPES = ("cnn-creatures", "bcos-creatures", "kmex-creatures", "qsenn-dense-creatures", "qsenn-creatures",
                     "piq-creatures")


def _on_creatures(template: str, name: str, description: str, **changes: Any) -> Recipe:
    recipe = dataclasses.replace(get_recipe(template), name=name, dataset=DATASET, shipped=True,
                                 description=description, **changes)
    return register_recipe(recipe)


# 16 epochs instead of 12: with half the training images missing parts, 12 epochs stopped at 0.93 test accuracy.
_on_creatures("cnn-shapes", "cnn-creatures",
              "Standard 4-block CNN on creatures (the cnn-shapes recipe, 16 epochs); the backbone of the creatures benchmark.",
              epochs=16, patience=4)
# B-cos v2's uncentered batch norm after every 3x3 layer (as bcos-resnet50-cub): the plain v1 network of
# bcos-shapes stayed at the trivial loss (4.80 against 4.86) for 8 epochs on creatures, whose classes differ
# only in small parts on a body common to all; with the norm it learns from the first epochs. T = 0.11 gives
# the initial logits the spread T = 1.7e4 gives without the norm; lr 2e-3 as cnn-creatures. 32 epochs: after 16
# (2026-12-07) the test accuracy was 0.943, 5 points under cnn-creatures, with the loss still falling.
_BCOS = get_recipe("bcos-shapes")
_on_creatures("bcos-shapes", "bcos-creatures",
              "9-layer B-cos CNN (B=2.5) with B-cos v2's uncentered batch norm on creatures (bcos-shapes otherwise).",
              arch_kwargs={**_BCOS.arch_kwargs, "norm": "uncentered-bn", "temperature": 0.11}, lr=2e-3, epochs=32, patience=6)
_on_creatures("kmex-shapes", "kmex-creatures",
              "KMEx prototypes (5 per class) and B4/B34/B234 encoder prototypes of the frozen cnn-creatures.",
              backbone="cnn-creatures")
_on_creatures("qsenn-dense-shapes", "qsenn-dense-creatures",
              "Dense 4-block CNN on creatures (from cnn-creatures) trained with the Feature Diversity Loss.",
              init_from="cnn-creatures")
_on_creatures("qsenn-shapes", "qsenn-creatures",
              "Q-SENN: 24 selected features of qsenn-dense-creatures, ternary layer with 5 weights per class, 4 iterations.",
              dense="qsenn-dense-creatures", compare=())
_on_creatures("piq-shapes", "piq-creatures",
              "PIQ interpreter of the frozen cnn-creatures: 8 keys per class, the creature's mask as target.",
              backbone="cnn-creatures")


def removal_subsets(n_parts: int) -> np.ndarray:
    """``(2**n_parts, n_parts)`` bool: every set of removed parts, from none to all, by size."""
    subsets = np.array(list(itertools.product([False, True], repeat=n_parts)), dtype=bool)
    return subsets[np.argsort(subsets.sum(1), kind="stable")]


def intervened_accuracy(name: str, *, images: int = 480, batch_size: int = 256, device: str | None = None) -> dict[str, Any]:
    """Accuracy of recipe ``name``'s model on the first ``images`` creatures test scenes drawn again with
    every set of parts removed (32 renders each, FunnyBirds' ``body_<parts>`` interventions), counting a
    prediction correct when its class is consistent with the parts still drawn
    (:func:`~interp_core.data.creatures.consistent_classes`). Returns ``by_removed`` (accuracy per number
    of parts removed, 0..5; 5 is 1.0 by definition), ``intervened`` (the mean over 1..4 parts removed,
    every set equally weighted), ``ambiguous`` (the share of those renders with more than one consistent
    class) and ``images``."""
    import torch

    from interp_core.data import load_split
    from interp_core.data.creatures import PARTS, consistent_classes, render_scenes, scenes_of
    from interp_core.store.models import load_model

    loaded = load_model(name, device, train_if_missing=False, show_bar=False)
    test = load_split(DATASET, "test")
    index = np.arange(min(images, len(test)))
    scenes = scenes_of(test, index)
    subsets = removal_subsets(len(PARTS))
    correct = np.zeros((len(subsets), len(index)), dtype=bool)
    ambiguous = np.zeros_like(correct)
    for s, removed in enumerate(subsets):
        drawn = render_scenes(scenes, remove_parts=removed)
        allowed = consistent_classes(scenes.variants, removed)
        predictions = []
        with torch.no_grad():
            for start in range(0, len(index), batch_size):
                batch = test.to_input(drawn.images[start:start + batch_size]).to(loaded.device)
                predictions.append(loaded.model(batch).argmax(1).cpu().numpy())
        predicted = np.concatenate(predictions)
        correct[s] = allowed[np.arange(len(index)), predicted]
        ambiguous[s] = allowed.sum(1) > 1
    sizes = subsets.sum(1)
    by_removed = {int(k): float(correct[sizes == k].mean()) for k in range(len(PARTS) + 1)}
    partial = (sizes > 0) & (sizes < len(PARTS))
    return {"name": name, "images": int(len(index)), "by_removed": by_removed,
            "intervened": float(correct[partial].mean()), "ambiguous": float(ambiguous[partial].mean())}
