"""One benchmark input up close: its items (parts, distractors or sources), a method's map, the map's mass on
each item beside the item's true importance, and every single-item intervention with the score it changed.
Computed now, not cached (one input, a handful of renders)."""
from __future__ import annotations

from typing import Any

import numpy as np


def _display(inputs: np.ndarray, image: bool) -> np.ndarray | None:
    """``(..., H, W, 3)`` uint8 of image inputs ``(..., 3, H, W)`` in [0, 1] (None for audio)."""
    if not image:
        return None
    return np.clip(np.round(np.moveaxis(inputs, -3, -1) * 255.0), 0, 255).astype(np.uint8)


def drill_down(model_name: str, method: str, index: int, benchmark: str = "creatures") -> dict[str, Any]:
    """Test input ``index`` of ``benchmark`` explained by ``method`` for its label on the ready model
    ``model_name``.

    Returns ``benchmark``, ``model``, ``method``, ``index``, ``label`` and ``prediction`` (class indices),
    ``class_names``, ``score`` (the label's output), ``items`` (names), ``item_map`` ``(H, W)`` (0 none,
    ``k + 1`` item ``k``), ``regions`` ``(H, W)`` (the dilated, exclusive regions the masses are summed over,
    ``-1`` none), ``input`` (the model input), ``image`` (``(H, W, 3)`` uint8; None for audio), ``map``
    ``(H, W)`` (the label's map), ``importance``: one entry per present item with ``signed`` and ``positive``
    mass, ``share`` (of the map's positive mass) and ``true_drop`` (the label's output drop when the item is
    removed), ``single_deletion`` (this input's SD score, None without a rank), and ``interventions``: one
    per present item, with ``removed``, ``input``, ``image``, ``score`` (label output), ``change`` (score
    minus the original's) and ``prediction``.
    """
    from interp_core.evaluation.benchmark_records import batch_outcomes, explain_targets, importance_rows, regions_for
    from interp_core.evaluation.interventions import get_suite
    from interp_core.evaluation.models import loaded
    from interp_core.methods.base import get_explainer
    from interp_core.metrics.funnybirds import Outcomes, contrast_pairs, explained_targets
    from interp_core.metrics.map_statistics import spearman_rows

    suite = get_suite(benchmark)
    split = suite.split()
    if not 0 <= int(index) < len(split):
        raise ValueError(f"index must lie in [0, {len(split)}) for the {benchmark} test inputs, got {index}.")
    model = loaded(model_name)
    explainer = get_explainer(method, model)
    batch = suite.batch(np.array([int(index)]))
    rows = batch_outcomes(model, batch)
    outcomes = Outcomes(split.labels[[int(index)]].astype(np.int64), rows["keep_logits"], rows["removal_logits"], batch.present)
    table = suite.class_table()
    targets = explained_targets(outcomes.labels, outcomes.predictions, contrast_pairs(table) if table is not None else None)
    regions = regions_for(suite, batch.item_map)
    maps, slot = explain_targets(explainer.attribute, batch.inputs, targets, model.device)
    masses = importance_rows(maps, slot, regions, len(suite.items))
    label = int(outcomes.labels[0])
    drops = np.concatenate([outcomes.part_drops(outcomes.labels), outcomes.distractor_drops(outcomes.labels)], 1)[0]
    present = np.concatenate([np.ones(len(suite.parts), bool), batch.present[0]])
    total = masses["total_positive"][0, 0]
    p, full = len(suite.parts), outcomes.full
    score = float(outcomes.logits[0, label])
    interventions, importance = [], []
    for k, name in enumerate(suite.items):
        if not present[k]:
            continue
        importance.append({"item": name, "signed": float(masses["signed"][0, 0, k]), "positive": float(masses["positive"][0, 0, k]),
                           "share": float(masses["positive"][0, 0, k] / total) if total > 0 else 0.0, "true_drop": float(drops[k])})
        if k < p:
            x, out = batch.keep_inputs[0, full ^ (1 << k)], rows["keep_logits"][0, full ^ (1 << k)]
        else:
            x, out = batch.removal_inputs[0, k - p], rows["removal_logits"][0, k - p]
        x = x.numpy()
        interventions.append({"removed": name, "input": x, "image": _display(x, suite.image), "score": float(out[label]),
                              "change": float(out[label]) - score, "prediction": int(out.argmax())})
    rho = spearman_rows(drops[None, :p], masses["signed"][:, 0, :p])[0]
    x = batch.inputs[0].numpy()
    return {"benchmark": benchmark, "model": model_name, "method": method, "index": int(index), "label": label,
            "prediction": int(outcomes.predictions[0]), "class_names": list(model.card.class_names), "score": score,
            "items": list(suite.items), "item_map": batch.item_map[0], "regions": regions[0], "input": x,
            "image": _display(x, suite.image), "map": maps[slot[0, 0]].astype(np.float32), "importance": importance,
            "single_deletion": None if np.isnan(rho) else float((rho + 1) / 2), "interventions": interventions}
