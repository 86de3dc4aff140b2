"""Side-by-side comparison: every applicable method of every family on one input and one target class.

Pairs each registered explainer with every ready model of the dataset whose card it supports (inherent
methods their own family's models, post-hoc methods any classifier), so the Compare view needs no
per-method code.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from interp_core.evaluation.models import loaded
from interp_core.store.catalog import ready_models
from interp_core.methods.base import Explanation, available_explainers, explainer_class, get_explainer


@dataclass
class ComparisonEntry:
    method: str
    model: str
    predicted: int
    probability: float
    target_probability: float
    fingerprint: str = ""
    explanation: Explanation | None = None
    seconds: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def comparison_pairs(dataset: str, methods: list[str] | None = None, models: list[str] | None = None) -> list[tuple[str, str]]:
    """(method, model) pairs for ``dataset``: each method with each ready model whose card it supports (the
    cards are read from the checkpoints' metadata: nothing is loaded)."""
    from interp_core.store.catalog import checkpoint_meta
    from interp_core.store.models import model_card
    from interp_core.store.recipes import get_recipe

    methods = methods or available_explainers()
    pairs = []
    for model_name in models or ready_models(dataset=dataset):
        card = model_card(get_recipe(model_name), checkpoint_meta(model_name))
        pairs += [(m, model_name) for m in methods if explainer_class(m).supports(card)]
    return pairs


def default_models(models: list[str]) -> list[str]:
    """The models among ``models`` (recipe names of one dataset) that the Compare view opens with: one per
    family, its own model of the dataset (``FAMILY-DATASET``: ``bcos-shapes``, not its B ablation
    ``bcos-shapes-b2``; ``qsenn-shapes``, not the SLDD baseline), else its first. The ablations, baselines and
    conversions are one choice away; every map costs a model load, an explanation and a picture."""
    from interp_core.store.recipes import get_recipe

    by_family: dict[str, list] = {}
    for name in models:
        recipe = get_recipe(name)
        by_family.setdefault(recipe.family, []).append(recipe)
    chosen = {next((r for r in recipes if r.name == f"{family}-{r.dataset}"), recipes[0]).name
              for family, recipes in by_family.items()}
    return [name for name in models if name in chosen]


def compare(x: torch.Tensor, target: int | None, pairs: list[tuple[str, str]]) -> list[ComparisonEntry]:
    """Explain ``x`` ``(C, H, W)`` for class ``target`` (None: each model's own prediction) with every pair.

    A failing method yields an entry with ``error`` set instead of stopping the comparison.
    """
    entries = []
    for method, model_name in pairs:
        model = loaded(model_name)
        with torch.no_grad():
            probs = model.card.probabilities(model.model(x.unsqueeze(0).to(model.device)))[0].cpu()
        predicted = int(probs.argmax())
        cls = predicted if target is None else int(target)
        entry = ComparisonEntry(method, model_name, predicted, float(probs[predicted]), float(probs[cls]), model.card.fingerprint)
        start = time.perf_counter()
        try:
            entry.explanation = get_explainer(method, model).explain(x, [cls])[0]
        except Exception as err:  # one broken method must not hide the others
            entry.error = f"{type(err).__name__}: {err}"
        entry.seconds = time.perf_counter() - start
        entries.append(entry)
    return entries


def is_costly(method: str) -> bool:
    """Methods that cost hundreds of forward passes per map (declared ``costly`` on the explainer)."""
    return explainer_class(method).costly


def compared_models(pairs) -> tuple[str, ...]:
    """The models of ``(method, model)`` pairs, each once in order: what a cache of their comparison keys on."""
    return tuple(dict.fromkeys(model for _, model in pairs))


#: How the Compare view draws each explanation panel: map kind and what its colour bar measures.
PANEL_KINDS = {"heatmap": ("signed", "attribution"), "signed": ("signed", "contribution"), "mask": ("mask", "mask"),
               "rgba": ("rgba", ""), "segments": ("segments", "")}
#: The width of the Compare view's input picture (inches), for a sound and for an image.
INPUT_WIDTH = {True: 3.4, False: 2.4}


def panel_pictures(explanation: Explanation, base, audio: bool) -> list[tuple[str, tuple]]:
    """``(panel, map)`` of each panel of ``explanation`` the Compare view draws, in order (a panel whose data the
    explanation lacks is left out); ``map`` as :data:`interp_core.visualize.MapSpec` over ``base``."""
    import numpy as np

    from interp_core.visualize import as_array

    pictures = []
    for panel in (p for p in explanation.panels if p in PANEL_KINDS):
        missing = {"rgba": explanation.rgba, "segments": explanation.segments, "mask": explanation.mask}
        if panel in missing and missing[panel] is None:
            continue
        kind, scale = PANEL_KINDS[panel]
        values = (None if kind in ("rgba", "segments") else np.asarray(explanation.mask, dtype=np.float32) if kind == "mask"
                  else as_array(explanation.attribution))
        options = {"base": base, "audio": audio, "scale": scale, "rgba": explanation.rgba if kind == "rgba" else None,
                   "segments": np.asarray(explanation.segments) if kind == "segments" else None,
                   "palette": np.asarray(explanation.palette) if kind == "segments" else None}
        pictures.append((panel, (kind, values, options)))
    return pictures


def warm_up(context) -> None:
    """The Compare view's default selection, warmed at server start (:mod:`interp_core.evaluation.warmup`): on
    the first dataset with ready models, every cheap method on the default models (:func:`default_models`),
    each explaining its prediction of the first test sample the first classifier gets right, and every map drawn as
    the page draws it."""
    from interp_core.data import dataset_info
    from interp_core.evaluation.models import datasets_with_models
    from interp_core.store.recipes import all_recipes
    from interp_core.visualize import input_map, map_base

    datasets = datasets_with_models()
    if not datasets:
        return
    dataset = datasets[0]
    pairs = context.step(f"reading the models of {dataset}", lambda: comparison_pairs(dataset))
    models, recipes = compared_models(pairs), all_recipes()
    first_classifier = next((m for m in models if m in recipes and recipes[m].kind == "classifier"), models[0] if models else None)
    x = context.sample(dataset, first_classifier).x
    shown = default_models(list(models))
    chosen = tuple((method, model) for method, model in pairs if not is_costly(method) and model in shown)
    entries = context.call(compare, x, None, chosen, models=compared_models(chosen))
    audio = dataset_info(dataset).kind == "audio"
    base = map_base(x, audio)
    context.picture(input_map(base, audio, width=INPUT_WIDTH[audio]))
    for entry in entries or ():  # the maps as the page draws them
        for _, spec in panel_pictures(entry.explanation, base, audio) if entry.explanation is not None else ():
            context.picture(spec)
