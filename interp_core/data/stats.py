"""What a dataset holds, measured: classes, attributes by group, how concepts are shared between classes and
vary inside them, captions, ground-truth arrays, and how long generating a split takes.

``python -m interp_core data stats NAME --json`` prints :func:`dataset_stats`.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from typing import Any, Iterator

import numpy as np


@contextlib.contextmanager
def _fresh_cache() -> Iterator[None]:
    """Send the dataset cache to an empty temporary folder, so a load really generates."""
    old = os.environ.get("INTERP_CORE_HOME")
    with tempfile.TemporaryDirectory(prefix="interp-core-stats-") as tmp:
        os.environ["INTERP_CORE_HOME"] = tmp
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("INTERP_CORE_HOME", None)
            else:
                os.environ["INTERP_CORE_HOME"] = old


def attribute_groups(names: tuple[str, ...]) -> dict[str, list[int]]:
    """Attribute indices by group (the part of ``"group::value"`` before ``::``), in order."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name.split("::", 1)[0], []).append(i)
    return groups


def concept_structure(attributes: np.ndarray, labels: np.ndarray, names: tuple[str, ...], n_classes: int) -> dict[str, Any]:
    """How concepts relate to classes, from the binary attributes ``(N, A)`` and labels ``(N,)``.

    ``classes_per_value``: for each attribute, the classes in which most samples have it (a defining value
    shared by several classes has a count > 1). ``within_class``: per group, the share of classes whose
    samples show more than one value of the group, and the mean over classes of the share of samples that
    differ from the class's most common value (0 for a group fixed by the class).
    """
    attributes = np.asarray(attributes).astype(bool)
    rates = np.stack([attributes[labels == c].mean(0) if np.any(labels == c) else np.zeros(attributes.shape[1])
                      for c in range(n_classes)])  # (C, A)
    per_value = {names[a]: int((rates[:, a] > 0.5).sum()) for a in range(len(names))}
    within = {}
    for group, idx in attribute_groups(names).items():
        varying, off_mode = 0, []
        for c in range(n_classes):
            rows = attributes[labels == c][:, idx]
            if len(rows) == 0:
                continue
            patterns, counts = np.unique(rows, axis=0, return_counts=True)
            varying += int(len(patterns) > 1)
            off_mode.append(1 - counts.max() / counts.sum())
        within[group] = {"values": len(idx), "classes_varying": varying, "share_varying": varying / n_classes,
                         "off_mode": float(np.mean(off_mode)) if off_mode else 0.0}
    return {"classes_per_value": per_value, "within_class": within}


def dataset_stats(name: str, split: str = "train", *, time_generation: bool = True) -> dict[str, Any]:
    """Measured facts about one split of a registered dataset (see module docstring).

    ``time_generation``: generate the split once in an empty cache folder and report the seconds
    (``generation_seconds``, ``samples_per_second``); the returned numbers come from that same split.
    """
    from interp_core.data import DATASETS

    entry = DATASETS.get(name)
    start = time.perf_counter()
    if time_generation:
        with _fresh_cache():
            data = entry.load(split)
    else:
        from interp_core.data import load_split

        data = load_split(name, split)
    seconds = time.perf_counter() - start
    info = data.info
    out: dict[str, Any] = {
        "dataset": name, "split": split, "kind": info.kind, "samples": len(data), "input_shape": list(info.input_shape),
        "classes": info.num_classes, "class_names": list(info.class_names),
        "samples_per_class": {"min": int(np.bincount(data.labels, minlength=info.num_classes).min()),
                              "max": int(np.bincount(data.labels, minlength=info.num_classes).max())},
        "attributes": len(info.attribute_names),
        "attribute_groups": {g: [info.attribute_names[i].split("::", 1)[-1] for i in idx]
                             for g, idx in attribute_groups(info.attribute_names).items()},
        "ground_truth": {key: list(np.shape(value)) for key, value in data.extras.items()},
        "captions": 0 if data.captions is None else len(data.captions),
        "distinct_captions": 0 if data.captions is None else len(set(data.captions)),
    }
    if "attributes" in data.extras and info.attribute_names:
        out.update(concept_structure(data.extras["attributes"], data.labels, info.attribute_names, info.num_classes))
    if time_generation:
        out["generation_seconds"] = round(seconds, 2)
        out["samples_per_second"] = round(len(data) / seconds, 1) if seconds > 0 else None
    return out
