"""Side-by-side comparison: every available method of every family on one input and one target class.

Pairs each registered explainer with every ready model of the dataset that it supports (inherent methods
only their own family, post-hoc methods any model), so the Compare view needs no per-method code.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from interp_core.methods.base import EXPLAINERS, Explanation, available_explainers, get_explainer


def is_costly(method: str) -> bool:
    """Methods that cost hundreds of forward passes per map (explainer attribute ``costly``)."""
    return bool(getattr(EXPLAINERS[method], "costly", False))


@dataclass
class ComparisonEntry:
    method: str
    model: str
    predicted: int
    probability: float
    target_probability: float
    explanation: Explanation | None = None
    seconds: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def ready_models(dataset: str) -> list[str]:
    """Classifier recipes of ``dataset`` with a checkpoint on disk (shipped or cached)."""
    from interp_core.store.catalog import checkpoint_status
    from interp_core.store.recipes import all_recipes

    return [r.name for r in all_recipes().values()
            if r.kind == "classifier" and r.dataset == dataset and checkpoint_status(r.name) != "missing"]


def comparison_pairs(dataset: str, methods: list[str] | None = None, models: list[str] | None = None) -> list[tuple[str, str]]:
    """(method, model) pairs for ``dataset``: each method with each ready model it supports."""
    from interp_core.store import load_model

    methods = methods or available_explainers()
    pairs = []
    for model_name in models or ready_models(dataset):
        model = load_model(model_name, train_if_missing=False, show_bar=False).model
        pairs += [(m, model_name) for m in methods if EXPLAINERS[m].supports(model)]
    return pairs


def compare(x: torch.Tensor, target: int | None, pairs: list[tuple[str, str]]) -> list[ComparisonEntry]:
    """Explain ``x`` ``(C, H, W)`` for class ``target`` (None: each model's own prediction) with every pair.

    A failing method yields an entry with ``error`` set instead of stopping the comparison.
    """
    from interp_core.store import load_model
    from interp_core.training.engine import probabilities

    entries = []
    for method, model_name in pairs:
        loaded = load_model(model_name, train_if_missing=False, show_bar=False)
        xb = x.unsqueeze(0).to(loaded.device)
        with torch.no_grad():
            probs = probabilities(loaded.model(xb), getattr(loaded.recipe, "loss", "ce"))[0].cpu()
        predicted = int(probs.argmax())
        cls = predicted if target is None else int(target)
        entry = ComparisonEntry(method, model_name, predicted, float(probs[predicted]), float(probs[cls]))
        start = time.perf_counter()
        try:
            entry.explanation = get_explainer(method, loaded.model).explain(x, [cls])[0]
        except Exception as err:  # one broken method must not hide the others
            entry.error = f"{type(err).__name__}: {err}"
        entry.seconds = time.perf_counter() - start
        entries.append(entry)
    return entries
