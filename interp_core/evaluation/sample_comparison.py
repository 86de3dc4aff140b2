"""The side-by-side comparison of one dataset sample as plain data (``python -m interp_core compare``):
each (method, model) pair's prediction, timing and map summary, the maps optionally written as ``.npy``."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from interp_core.evaluation.compare import ComparisonEntry


def entry_row(entry: ComparisonEntry, maps_dir: Path | None = None) -> dict[str, Any]:
    """``entry`` as JSON-ready data: method, model, predicted class, its probability, the target's
    probability, weights fingerprint, seconds, error; with a map: the explained target and the map's
    shape, sum, max and min (and ``map_file``, the ``<model>--<method>.npy`` written into ``maps_dir``)."""
    import numpy as np

    row = {"method": entry.method, "model": entry.model, "predicted": entry.predicted, "probability": entry.probability,
           "target_probability": entry.target_probability, "fingerprint": entry.fingerprint,
           "seconds": round(entry.seconds, 3), "error": entry.error}
    if entry.explanation is not None:
        attribution = entry.explanation.attribution.numpy()
        row.update(target=entry.explanation.target, map_shape=list(attribution.shape), map_sum=float(attribution.sum()),
                   map_max=float(attribution.max()), map_min=float(attribution.min()))
        if maps_dir is not None:
            path = maps_dir / f"{entry.model}--{entry.method}.npy"
            np.save(path, attribution, allow_pickle=False)
            row["map_file"] = str(path)
    return row


def compare_sample(models: list[str], methods: list[str] | None = None, *, split: str = "test", index: int = 0,
                   target: int | None = None, maps_dir: str | Path | None = None) -> dict[str, Any]:
    """Explain sample ``index`` of ``split`` with every method of ``methods`` (None: every applicable one)
    that supports each model of ``models`` (all of one dataset), for class ``target`` (None: each model's
    prediction). Returns ``{"dataset", "split", "index", "label", "class_names", "entries"}``, one
    :func:`entry_row` per pair; raises ``ValueError`` for models of several datasets, no applicable
    method or an index outside the split."""
    from interp_core.data import load_split
    from interp_core.evaluation.compare import compare, comparison_pairs
    from interp_core.store import get_recipe

    datasets = {get_recipe(m).dataset for m in models}
    if len(datasets) != 1:
        raise ValueError(f"Compare takes models of one dataset; {', '.join(models)} are on {', '.join(sorted(datasets))}.")
    dataset = datasets.pop()
    pairs = comparison_pairs(dataset, methods, models)
    if not pairs:
        raise ValueError(f"No method explains {', '.join(models)}" + (f" among {','.join(methods)}." if methods else "."))
    samples = load_split(dataset, split)
    if not 0 <= index < len(samples):
        raise ValueError(f"The sample index must be in 0..{len(samples) - 1} for the {split} split of {dataset}.")
    entries = compare(samples.inputs([index])[0], target, pairs)
    if maps_dir is not None:
        maps_dir = Path(maps_dir)
        maps_dir.mkdir(parents=True, exist_ok=True)
    return {"dataset": dataset, "split": split, "index": index, "label": int(samples.labels[index]),
            "class_names": list(samples.info.class_names), "entries": [entry_row(e, maps_dir) for e in entries]}
