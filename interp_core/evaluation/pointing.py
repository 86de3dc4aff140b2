"""Pointing-game runs for models by recipe name: grid pools, grid selection, scores and example grids,
in the one result cache (:mod:`interp_core.store.results`: keyed on the recipe hash and weights
fingerprint, so retrained weights never reuse old grids or scores), resumed grid by grid after an
interruption.

The scoring itself is :mod:`interp_core.metrics.pointing_game`.
"""
from __future__ import annotations

import inspect
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interp_core.data.base import Split
from interp_core.evaluation.models import loaded as ready
from interp_core.methods.base import available_explainers, explainer_class, get_explainer
from interp_core.io import stable_key
from interp_core.metrics.pointing_game import (
    COSTLY_GRIDS,
    REFERENCE_SEED,
    STANDARD_GRIDS,
    GridSpec,
    PointingGameError,
    class_colour_templates,
    default_smooth,
    grid_maps,
    grid_scores,
    localisation_scores,
    reference_scores,
    sample_grids,
    summarize_scores,
)
from interp_core.progress import Progress, ProgressCallback


#: Test images per grid slot in the pool grids are drawn from. The paper's 500 ImageNet grids use about 4.5
#: of each class's 50 validation images, its most confident tenth; with our 48 classes, 500 3x3 grids
#: take 94 images per class, so the pool holds four times that and grids use each class's most
#: confident quarter (at 1.25x they used 80% of every class, down to its least confident images).
POOL_FACTOR = 4


#: Bump when a change to the scoring or to the explainers makes cached grids or scores stale.
CACHE_VERSION = 2  # 2: grids ranked by logit


def grid_pool(dataset: str, size: int, test_samples: int | None = None) -> Split:
    """The test images grids are drawn from.

    ``test_samples`` given: a test split of that many images (generated datasets only). None: the standard
    test split when it holds :data:`POOL_FACTOR` × the images of :data:`STANDARD_GRIDS` grids, else a test
    split of that many images when the dataset can generate one (``shapes``: 18,000 for 3×3), else the
    standard one (fewer grids; the count is reported). The choice does not depend on how many grids are
    asked for, so runs of 20 and 500 grids share their first 20.
    """
    from interp_core.data import DATASETS, load_split

    resizable = DATASETS.get(dataset).resizable
    if test_samples is not None:
        if not resizable:
            raise PointingGameError(f"Dataset {dataset!r} has a fixed test split; it cannot generate {test_samples} images.")
        return load_split(dataset, "test", num_samples=int(test_samples))
    standard = load_split(dataset, "test")
    needed = math.ceil(STANDARD_GRIDS * size * size * POOL_FACTOR / 1000) * 1000
    if len(standard) >= needed or not resizable:
        return standard
    return load_split(dataset, "test", num_samples=needed)


def _run_dir(model) -> Path:
    from interp_core.store.results import result_dir

    return result_dir("pointing_game", model)


def load_scores(path: Path | None, grids: np.ndarray) -> np.ndarray:
    """Cached scores ``(k, n)`` of the first ``k`` of ``grids``; empty when missing, unreadable or for other grids."""
    from interp_core.store.results import read_arrays

    empty = np.zeros((0, grids.shape[1]))
    data = read_arrays(path) if path is not None else None
    if data is None or "grids" not in data or "scores" not in data:
        return empty
    cached_grids, scores = data["grids"], data["scores"]
    k = min(len(cached_grids), len(grids))
    if cached_grids.shape[1:] != grids.shape[1:] or scores.shape != cached_grids.shape or not np.array_equal(cached_grids[:k], grids[:k]):
        return empty
    return scores[:k]


def evaluate_grids_resumable(attribute, split: Split, grids: np.ndarray, *, size: int, smooth: int = 1,
                             device: torch.device | str = "cpu", cache_file: Path | None = None,
                             progress: ProgressCallback | None = None, label: str = "grids",
                             save_every_s: float = 2.0) -> np.ndarray:
    """:func:`~interp_core.metrics.pointing_game.evaluate_grids` with a cache file: scores are saved
    atomically as they come (at most ``save_every_s`` apart, and when the run ends or is interrupted) and a
    later call resumes after the last saved grid."""
    from interp_core.store.results import write_arrays

    grids = np.asarray(grids, dtype=np.int64)
    scores = np.zeros(grids.shape)
    cached = load_scores(cache_file, grids)
    done = saved = len(cached)
    scores[:done] = cached
    last_save = time.monotonic()
    try:
        for g in range(done, len(grids)):
            scores[g] = grid_scores(attribute, split, grids[g], size=size, smooth=smooth, device=device)
            done = g + 1
            if cache_file is not None and time.monotonic() - last_save >= save_every_s:
                write_arrays(cache_file, grids=grids[:done], scores=scores[:done])
                saved, last_save = done, time.monotonic()
            if progress is not None:
                progress(Progress("pointing_game", done / len(grids), f"{label}: grid {done}/{len(grids)}"))
    finally:
        if cache_file is not None and done > saved:
            write_arrays(cache_file, grids=grids[:done], scores=scores[:done])
    return scores


def grid_spec(model, size: int, seed: int = REFERENCE_SEED, threshold: float = 0.5) -> GridSpec:
    """Grids for ``model``: its output activation decides the confidence filter."""
    return GridSpec(size, seed, threshold, model.card.output)


def model_grids(model, spec: GridSpec, n_grids: int, pool: Split) -> np.ndarray:
    """The first ``n_grids`` grids ``(G, size²)`` of the loaded ``model`` on ``pool`` (cached on disk)."""
    from interp_core.training.engine import predict_logits

    from interp_core.store.results import read_arrays, write_arrays

    path = _run_dir(model) / f"grids-{stable_key({'spec': asdict(spec), 'pool': len(pool), 'v': CACHE_VERSION})}.npz"
    data = read_arrays(path)
    if data is not None and "grids" in data and "exhausted" in data:
        if len(data["grids"]) >= n_grids or bool(data["exhausted"]):
            return data["grids"][:n_grids]
    logits = predict_logits(model.model, pool, model.device)
    grids = sample_grids(logits, pool.labels, spec, n_grids)
    write_arrays(path, grids=grids, exhausted=np.asarray(len(grids) < n_grids))
    return grids


def _method_params(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Every hyper-parameter of explainer class ``cls``: its ``__init__`` defaults overridden by ``kwargs``,
    so that changing a default never reuses scores computed with the old one."""
    params = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
              if p.default is not inspect.Parameter.empty}
    params.update(kwargs)
    return params


def _explainer_class(method: str):
    if method not in available_explainers():
        raise PointingGameError(f"Unknown explanation method {method!r}. Available: {', '.join(available_explainers())}.")
    return explainer_class(method)


def run_pointing_game(
    model_names: list[str],
    methods: list[str],
    n_grids: int = STANDARD_GRIDS,
    size: int = 3,
    progress: ProgressCallback | None = None,
    *,
    seed: int = REFERENCE_SEED,
    threshold: float = 0.5,
    smooth: int | None = None,
    n_grids_costly: int | None = COSTLY_GRIDS,
    test_samples: int | None = None,
    method_kwargs: dict[str, dict[str, Any]] | None = None,
    device: str | torch.device | None = None,
    use_cache: bool = True,
    train_if_missing: bool = True,
) -> dict[str, Any]:
    """Grid pointing game of every (model, method) pair; models by recipe name, methods by explainer name.

    ``n_grids`` grids of ``size`` × ``size`` (default 500 3×3, the paper's setting); costly methods
    (``costly = True``: IG, LIME, RISE) use ``min(n_grids, n_grids_costly)`` (None: ``n_grids``), the
    first grids of the same list. ``threshold``: confidence filter under the model's output activation.
    ``smooth``: odd kernel, default :func:`default_smooth` of the image size. ``method_kwargs``: extra
    explainer arguments by method. A pair whose method does not support the model (its card) is skipped
    with a note. Scores are cached per grid and resumed; the cache key holds the recipe hash, the weights
    fingerprint, the grid spec and pool, the kernel and every explainer hyper-parameter (defaults too).

    Returns ``{"results": [{"model", "method", "mean", "median", "q25", "q75", "min", "max", "n",
    "oracle", "uniform", "colour_prior", "grids", "cached_grids", "seconds", "smooth", "confidence", "pool",
    "fingerprint"}], "distributions":
    {model: {method: [score, ...]}}, "config": {...}, "notes": [...]}``; ``n`` counts grids × targets,
    ``seconds`` the time spent in this call, ``pool`` the number of test images grids were drawn from;
    ``oracle`` (ground-truth masks; absent without masks), ``uniform`` (1/n) and ``colour_prior`` (a
    model-free colour template) are the mean scores of the references on the same grids.
    """
    from interp_core.store.models import load_model

    if n_grids < 1:
        raise PointingGameError(f"n_grids must be at least 1, got {n_grids}.")
    method_kwargs = method_kwargs or {}
    classes = {m: _explainer_class(m) for m in methods}
    pairs = [(name, m) for name in model_names for m in methods]
    results, distributions, notes = [], {}, []
    references: dict[str, dict[str, np.ndarray]] = {}
    for p, (name, method) in enumerate(pairs):
        model = load_model(name, device, train_if_missing=train_if_missing, show_bar=False)
        if model.card.modality != "image":
            raise PointingGameError(f"The grid pointing game needs an image classifier; {name!r} classifies {model.card.modality}.")
        cls = classes[method]
        if not cls.supports(model.card):
            notes.append(f"{method} does not apply to {name}; skipped.")
            continue
        spec = grid_spec(model, size, seed, threshold)
        pool = grid_pool(model.card.dataset, size, test_samples)
        wanted = min(n_grids, n_grids_costly) if cls.costly and n_grids_costly else n_grids
        grids = model_grids(model, spec, n_grids, pool)[:wanted]
        if len(grids) < wanted:
            notes.append(f"{name}: only {len(grids)} {size}x{size} grids of unused confident images exist in {len(pool)} test images.")
        kernel = 1 if cls.perturbation_based else (smooth or default_smooth(model.card.input_shape[-1]))
        kwargs = method_kwargs.get(method, {})
        config = {"spec": asdict(spec), "pool": len(pool), "smooth": kernel, "params": _method_params(cls, kwargs),
                  "v": CACHE_VERSION}
        cache_file = _run_dir(model) / f"scores-{method}-{stable_key(config)}.npz" if use_cache else None
        cached = len(load_scores(cache_file, grids)) if cache_file is not None else 0

        def report(step: Progress, p=p, name=name) -> None:
            if progress is not None:
                progress(Progress("pointing_game", (p + step.fraction) / len(pairs), f"{name} / {step.message}"))

        start = time.perf_counter()
        if cached >= len(grids):
            scores = load_scores(cache_file, grids)
            report(Progress("pointing_game", 1.0, f"{method}: {len(grids)} grids from cache"))
        else:
            explainer = get_explainer(method, model, **kwargs)
            scores = evaluate_grids_resumable(explainer.attribute, pool, grids, size=size, smooth=kernel,
                                              device=explainer.device, cache_file=cache_file, progress=report,
                                              label=explainer.name)
        if name not in references:
            references[name] = model_references(model, pool, model_grids(model, spec, n_grids, pool), size,
                                                smooth or default_smooth(model.card.input_shape[-1]))
        refs = {key: float(values[: len(grids)].mean()) if len(grids) else float("nan") for key, values in references[name].items()}
        row = {"model": name, "method": method, **summarize_scores(scores), **refs, "grids": int(len(grids)),
               "cached_grids": int(min(cached, len(grids))), "seconds": round(time.perf_counter() - start, 3),
               "smooth": kernel, "confidence": spec.confidence, "pool": len(pool), "fingerprint": model.card.fingerprint}
        results.append(row)
        distributions.setdefault(name, {})[method] = scores.reshape(-1).tolist()
    if not results:
        raise PointingGameError("None of the methods applies to the chosen models: " + " ".join(notes))
    config = {"n_grids": n_grids, "size": size, "seed": seed, "threshold": threshold, "smooth": smooth,
              "n_grids_costly": n_grids_costly, "test_samples": test_samples}
    return {"results": results, "distributions": distributions, "config": config, "notes": list(dict.fromkeys(notes))}


def model_references(model, pool: Split, grids: np.ndarray, size: int, smooth: int) -> dict[str, np.ndarray]:
    """Oracle, uniform and colour-prior scores ``(G, size²)`` on ``model``'s grids (see
    :func:`interp_core.metrics.pointing_game.reference_scores`); the colour templates come from the
    dataset's training split, so the prior knows nothing the model does not also see."""
    from interp_core.data import load_split

    templates = class_colour_templates(load_split(model.card.dataset, "train"), model.card.num_classes)
    refs = reference_scores(pool, grids, size, smooth, templates)
    return {key: refs[key] for key in ("oracle", "uniform", "colour_prior") if key in refs}


@dataclass
class ExampleGrid:
    """One grid: ``image`` ``(3, S*H, S*W)``, ``maps`` ``(S*S, S*H, S*W)`` (one per cell's class, row-major),
    the class of every cell and the score of every map."""

    image: torch.Tensor
    maps: torch.Tensor
    classes: list[int]
    scores: list[float]
    size: int


def example_grids(model_name: str, method: str, *, size: int = 3, count: int = 2, seed: int = REFERENCE_SEED,
                  threshold: float = 0.5) -> list[ExampleGrid]:
    """The first ``count`` grids the pointing game uses for ``model_name``, explained by ``method``."""
    model = ready(model_name)
    pool = grid_pool(model.card.dataset, size)
    grids = model_grids(model, grid_spec(model, size, seed, threshold), count, pool)
    explainer = get_explainer(method, model)
    kernel = 1 if explainer.perturbation_based else default_smooth(model.card.input_shape[-1])
    examples = []
    for idx in grids[:count]:
        image, maps = grid_maps(explainer.attribute, pool, idx, size=size, device=model.device)
        scores = localisation_scores(maps, torch.arange(len(idx)), size, kernel)
        examples.append(ExampleGrid(image, maps, [int(c) for c in pool.labels[idx]], scores.tolist(), size))
    return examples


def scores_table(result: dict) -> list[dict]:
    """Rows of a run's results in a fixed column order (for tables and CSV export)."""
    columns = ("model", "method", "mean", "median", "q25", "q75", "n", "grids", "oracle", "uniform", "colour_prior", "seconds")
    return [{c: row.get(c) for c in columns} for row in result["results"]]


def long_scores(result: dict) -> list[dict]:
    """One row per (model, method, score): the full distributions, for box plots and CSV."""
    return [{"model": model, "method": method, "score": float(s)}
            for model, by_method in result["distributions"].items() for method, scores in by_method.items() for s in scores]


def pointing_models() -> list[str]:
    """Ready models of image datasets (the grid pointing game needs images)."""
    from interp_core.store.catalog import ready_models

    return ready_models(modality="image")


def default_selection(models: list[str]) -> tuple[list[str], list[str]]:
    """A first run to offer: on the dataset of the first model, the first standard classifier and the first
    model with an inherent method, with every cheap method (not ``costly``) that explains one of them."""
    from interp_core.methods.base import EXPLAINERS
    from interp_core.store.recipes import get_recipe

    if not models:
        return [], []
    dataset = get_recipe(models[0]).dataset
    classes = [explainer_class(name) for name in EXPLAINERS.names()]
    cards, standard, inherent = {}, [], []
    for m in (m for m in models if get_recipe(m).dataset == dataset):  # loaded in order until both are found
        card = cards[m] = ready(m).card
        if any(k.inherent and k.supports(card) for k in classes):
            inherent.append(m)
        elif card.kind == "classifier":
            standard.append(m)
        if standard and inherent:
            break
    chosen = standard[:1] + inherent[:1]
    methods = [name for name in available_explainers()
               if not explainer_class(name).costly and any(explainer_class(name).supports(cards[m]) for m in chosen)]
    return chosen, methods
