"""Per-input records of the intervention benchmark, in the one result cache (:mod:`interp_core.store.results`,
keyed on the recipe hash and weights fingerprint), extended input by input so that an interrupted run
resumes after the last saved one:

* a model's **outcomes**: its outputs on every intervention of every input (method-free);
* a (model, method) pair's **importances**: the map's mass in each item region for the label, the
  prediction and the two contrast classes, and the Gini index of the label's map;
* a (model, method) pair's **randomisation** curve (a small JSON).

The scoring is :mod:`interp_core.metrics.funnybirds`, :mod:`interp_core.metrics.randomisation` and
:mod:`interp_core.metrics.map_statistics`; the run by recipe name is :mod:`interp_core.evaluation.benchmark`.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from interp_core.evaluation.interventions import InterventionBatch, InterventionSuite
from interp_core.metrics.funnybirds import Importances, Outcomes, item_regions, region_masses
from interp_core.metrics.funnybirds_references import item_weight_maps, random_item_weights
from interp_core.metrics.map_statistics import gini

#: Bump when a change to the records or the explainers makes cached records stale.
CACHE_VERSION = 1
#: Inputs per batch of interventions (32 + 3 renders each on creatures, 8 mixtures each on sounds-mix).
CHUNK = 8


class RowCache:
    """Rows of one result, one per input of ``indices``, kept as one ``.npz`` (every array's first axis is
    the input, plus ``indices``); :meth:`add` appends rows in order, saved atomically at most ``save_every_s``
    apart and when the ``with`` block ends (however it ends). A cache written for other inputs, or
    unreadable, is started again; one that holds more inputs serves its first ones."""

    def __init__(self, path: Path | None, indices: np.ndarray, save_every_s: float = 2.0):
        from interp_core.store.results import read_arrays

        self.path, self.indices, self.save_every_s = path, np.asarray(indices, np.int64), save_every_s
        self.rows: dict[str, list[np.ndarray]] = {}
        self.saved_at, self.unsaved = time.monotonic(), False
        data = read_arrays(path) if path is not None else None
        self.cached = 0
        if data is not None and "indices" in data:
            k = min(len(data["indices"]), len(self.indices))
            if np.array_equal(data["indices"][:k], self.indices[:k]) and all(len(v) >= k for v in data.values()):
                self.rows = {key: [value[:k]] for key, value in data.items() if key != "indices"}
                self.cached = k
        self.done = self.cached

    @property
    def missing(self) -> np.ndarray:
        return self.indices[self.done:]

    def add(self, arrays: dict[str, np.ndarray]) -> None:
        for key, value in arrays.items():
            self.rows.setdefault(key, []).append(np.asarray(value))
        self.done += len(next(iter(arrays.values())))
        self.unsaved = True
        if time.monotonic() - self.saved_at >= self.save_every_s:
            self.save()

    def save(self) -> None:
        from interp_core.store.results import write_arrays

        if self.path is not None and self.unsaved:
            write_arrays(self.path, indices=self.indices[: self.done], **self.result())
        self.saved_at, self.unsaved = time.monotonic(), False

    def result(self) -> dict[str, np.ndarray]:
        return {key: np.concatenate(parts) for key, parts in self.rows.items()}

    def __enter__(self) -> "RowCache":
        return self

    def __exit__(self, *exc) -> None:
        self.save()


def model_outputs(model, inputs: torch.Tensor, batch_size: int = 128) -> np.ndarray:
    """The model's outputs ``(N, K)`` float32 (what its card's activation turns into probabilities)."""
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            out.append(model.model(inputs[start : start + batch_size].to(model.device)).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, model.card.num_classes), np.float32)


def batch_outcomes(model, batch: InterventionBatch) -> dict[str, np.ndarray]:
    """``keep_logits`` ``(n, 2**P, K)`` and ``removal_logits`` ``(n, D, K)`` of one model on ``batch``."""
    n, s = batch.keep_inputs.shape[:2]
    d = batch.removal_inputs.shape[1]
    keep = model_outputs(model, batch.keep_inputs.reshape(n * s, *batch.keep_inputs.shape[2:])).reshape(n, s, -1)
    removal = model_outputs(model, batch.removal_inputs.reshape(n * d, *batch.removal_inputs.shape[2:])).reshape(n, d, keep.shape[-1])
    return {"keep_logits": keep, "removal_logits": removal, "present": batch.present}


def outcomes_of(models: list, suite: InterventionSuite, indices: np.ndarray, paths: dict[str, Path | None],
                progress: Callable[[float], None] | None = None) -> dict[str, Outcomes]:
    """Every model's :class:`Outcomes` on ``indices`` (by model name), each input's interventions drawn once
    for all the models that still need it."""
    split = suite.split()
    caches = {m.name: RowCache(paths[m.name], indices) for m in models}
    try:
        start = min((c.done for c in caches.values()), default=len(indices))
        for first in range(start, len(indices), CHUNK):
            chunk = indices[first : first + CHUNK]
            needing = [m for m in models if caches[m.name].done < first + len(chunk)]
            if not needing:
                continue
            batch = suite.batch(chunk)
            for m in needing:
                rows = batch_outcomes(m, batch)
                skip = max(0, caches[m.name].done - first)
                caches[m.name].add({k: v[skip:] for k, v in rows.items()})
            if progress is not None:
                progress((first + len(chunk) - start) / max(1, len(indices) - start))
    finally:
        for cache in caches.values():
            cache.save()
    out = {}
    for name, cache in caches.items():
        rows = cache.result()
        out[name] = Outcomes(split.labels[indices].astype(np.int64), rows["keep_logits"], rows["removal_logits"], rows["present"].astype(bool))
    return out


def _distinct_rows(targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows to explain for ``targets`` ``(n, 4)``: ``image`` and ``target`` of each distinct (image, class),
    and ``slot`` ``(n, 4)``, the row that serves each entry (-1 for no class)."""
    images, classes = [], []
    slot = np.full(targets.shape, -1, np.int64)
    for i, row in enumerate(targets):
        seen: dict[int, int] = {}
        for j, c in enumerate(row):
            if c < 0:
                continue
            if c not in seen:
                seen[int(c)] = len(images)
                images.append(i)
                classes.append(int(c))
            slot[i, j] = seen[int(c)]
    return np.asarray(images, np.int64), np.asarray(classes, np.int64), slot


def importance_rows(maps: np.ndarray, slot: np.ndarray, regions: np.ndarray, n_items: int) -> dict[str, np.ndarray]:
    """Region masses of maps ``(M, H, W)`` arranged by ``slot`` ``(n, 4)`` into :class:`Importances` fields
    (zeros where no class), plus ``gini`` ``(n,)`` of each label map."""
    n, roles = slot.shape
    owner = np.repeat(np.arange(n), roles)[slot.reshape(-1) >= 0]
    masses = region_masses(maps[slot[slot >= 0]], regions[owner], n_items)
    out = {"signed": np.zeros((n, roles, n_items)), "positive": np.zeros((n, roles, n_items)),
           "total_signed": np.zeros((n, roles)), "total_positive": np.zeros((n, roles))}
    valid = slot >= 0
    for key in out:
        out[key][valid] = masses[key]
    out["gini"] = gini(maps[slot[:, 0]])
    return out


def explain_targets(attribute, inputs: torch.Tensor, targets: np.ndarray, device) -> tuple[np.ndarray, np.ndarray]:
    """Maps ``(M, H, W)`` of every distinct (input, class) of ``targets`` ``(n, 4)``, explained in one
    ``attribute`` call (rows of one input share a perturbation method's model evaluations), and ``slot``
    ``(n, 4)``: the map of each entry (-1 for no class)."""
    images, classes, slot = _distinct_rows(targets)
    x = inputs[torch.as_tensor(images)].to(device)
    return attribute(x, torch.as_tensor(classes, device=device)).detach().double().cpu().numpy(), slot


def explain_importances(attribute, inputs: torch.Tensor, targets: np.ndarray, regions: np.ndarray, n_items: int,
                        device) -> dict[str, np.ndarray]:
    """One chunk of a pair's importance rows (:func:`explain_targets`, then :func:`importance_rows`)."""
    return {"targets": targets, **importance_rows(*explain_targets(attribute, inputs, targets, device), regions, n_items)}


def importances_of(cache: RowCache, suite: InterventionSuite, targets: np.ndarray, attribute, device,
                   progress: Callable[[float], None] | None = None, chunk: int = CHUNK) -> tuple[Importances, np.ndarray]:
    """Fill ``cache`` (one row per input of its ``indices``; ``targets`` ``(len(indices), 4)``) chunk by chunk
    with the importance rows of ``attribute``'s maps; returns the :class:`Importances` and ``gini`` ``(N,)``."""
    split, start = suite.split(), cache.done
    with cache:
        for first in range(cache.done, len(cache.indices), chunk):
            index = cache.indices[first : first + chunk]
            cache.add(explain_importances(attribute, split.inputs(index), targets[first : first + len(index)],
                                          regions_for(suite, suite.item_map(index)), len(suite.items), device))
            if progress is not None:
                progress((first + len(index) - start) / max(1, len(cache.indices) - start))
    return importances_from(cache.result())


def importances_from(rows: dict[str, np.ndarray]) -> tuple[Importances, np.ndarray]:
    return Importances(rows["targets"], rows["signed"], rows["positive"], rows["total_signed"], rows["total_positive"]), rows["gini"]


def regions_for(suite: InterventionSuite, item_map: np.ndarray) -> np.ndarray:
    """Exclusive, dilated item regions (:func:`~interp_core.metrics.funnybirds.item_regions`) of ``suite``."""
    return item_regions(item_map, len(suite.items), suite.dilation)


def reference_importances(suite: InterventionSuite, indices: np.ndarray, targets: np.ndarray, kind: str) -> tuple[Importances, np.ndarray]:
    """Importances and Gini of a reference map on ``indices``: ``"random"`` (random weights on the items and
    on the rest of the input, seeded by input and class: :func:`~interp_core.metrics.funnybirds.random_item_weights`) or ``"uniform"``
    (a constant map: each item weighs its region's area)."""
    rows: dict[str, list[np.ndarray]] = {}
    for first in range(0, len(indices), CHUNK):
        index = indices[first : first + CHUNK]
        chunk_targets = targets[first : first + len(index)]
        images, classes, slot = _distinct_rows(chunk_targets)
        item_map = suite.item_map(index)
        if kind == "random":
            weights = random_item_weights(np.column_stack([index[images], classes]), len(suite.items) + 1)
            maps = item_weight_maps(item_map[images], weights[:, 1:], rest=weights[:, 0])
        elif kind == "uniform":
            maps = np.ones(item_map[images].shape)
        else:
            raise ValueError(f"Unknown reference {kind!r}; expected 'random' or 'uniform'.")
        part = {"targets": chunk_targets, **importance_rows(maps, slot, regions_for(suite, item_map), len(suite.items))}
        for key, value in part.items():
            rows.setdefault(key, []).append(value)
    return importances_from({k: np.concatenate(v) for k, v in rows.items()})
