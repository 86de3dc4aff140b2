"""The intervention benchmark by recipe name: every method of every family that explains each ready model of
a dataset, scored with FunnyBirds' metrics on inputs drawn again without parts (``creatures``) or re-mixed
without sources (``sounds-mix``), plus the cascading randomisation test, sparseness and, on images, the grid
pointing game; three reference rows per model (a random map, a constant one and the ground-truth oracle).

Per-input records are cached in the one result cache under each model's weights fingerprint
(:mod:`~interp_core.evaluation.benchmark_records`), so a repeated run reads them and an interrupted one
resumes; costly methods (``costly = True``) run on fewer inputs by default, as in the pointing game. The
scoring is :mod:`interp_core.metrics.funnybirds`. This module imports no torch until a run starts, so the
recorded results (:func:`read_results`) open without it.
"""
from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from interp_core.progress import Progress, ProgressCallback

#: Default sizes of a run, by benchmark: inputs per method (costly methods fewer), inputs of the
#: randomisation test, and pointing-game grids (3x3). Creatures' costly methods on 50 inputs, not 10: on the
#: first 10 inputs, Grad-CAM's, Input×Gradient's and B-cos' SD and TS differed by up to 0.08 from their values
#: on 200 (2026-12-07).
DEFAULTS: dict[str, dict[str, int]] = {
    "creatures": {"images": 200, "costly_images": 50, "randomisation_images": 8, "costly_randomisation_images": 2,
                  "pointing_grids": 20, "costly_pointing_grids": 2},
    "sounds-mix": {"images": 200, "costly_images": 10, "randomisation_images": 0, "costly_randomisation_images": 0,
                   "pointing_grids": 0, "costly_pointing_grids": 0},
}
#: One key per metric in every row, in the order tables show them (None where a metric does not apply).
METRICS = ("csdc", "csdc_best", "pc", "pc_best", "dc", "dc_best", "d", "d_best", "bi", "sd", "ts", "completeness",
           "completeness_best", "correctness", "contrastivity", "randomisation", "sparseness", "pointing_game")
#: The reference rows' ``method``: chance (random weights on the items), what the items' areas alone give (a
#: constant map) and the ceiling (the true part masks weighted by the true score drops).
REFERENCES = ("random", "uniform", "oracle")


class BenchmarkError(ValueError):
    """The benchmark cannot run as asked; the message says why."""


def method_family(method: str) -> str:
    """The family package that registers ``method`` (from where its class is defined)."""
    from interp_core.methods.base import explainer_class

    parts = explainer_class(method).__module__.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "methods" else parts[-1]


def benchmark_models(benchmark: str = "creatures") -> list[str]:
    """Ready models (a checkpoint on disk) of the datasets the benchmark's inputs come from."""
    from interp_core.evaluation.interventions import get_suite
    from interp_core.store.catalog import ready_models

    return [name for dataset in get_suite(benchmark).model_datasets for name in ready_models(dataset=dataset)]


def _settings(benchmark: str, overrides: dict[str, int | None]) -> dict[str, int]:
    settings = dict(DEFAULTS[benchmark])
    settings.update({k: int(v) for k, v in overrides.items() if v is not None})
    if settings["images"] < 1:
        raise BenchmarkError(f"images must be at least 1, got {settings['images']}.")
    return settings


def _head(outcomes, k: int):
    from interp_core.metrics.funnybirds import Outcomes

    return Outcomes(outcomes.labels[:k], outcomes.keep_logits[:k], outcomes.removal_logits[:k], outcomes.present[:k])


def _score_row(suite, outcomes, importances, ginis, normalise: str) -> dict[str, Any]:
    from interp_core.metrics.funnybirds import funnybirds_scores

    scores = funnybirds_scores(outcomes, importances, class_table=suite.class_table(), normalise=normalise)
    return {**scores, "sparseness": float(np.mean(ginis)) if len(ginis) else None}


def _randomisation(model, method: str, suite, indices: np.ndarray, path: Path | None, every_step: bool) -> dict:
    """The cached cascading randomisation curve of one pair on ``indices`` (``every_step=False``: only the
    fully randomised model)."""
    import torch

    from interp_core.methods.base import get_explainer
    from interp_core.metrics.randomisation import cascading_randomisation, randomisation_summary
    from interp_core.store.results import cached_json

    def compute() -> dict:
        split = suite.split()
        randomised_card = model.card.with_fingerprint(f"{model.card.fingerprint}-randomised")

        def make_attribute(module):
            card = model.card if module is model.model else randomised_card
            return get_explainer(method, module, card).attribute

        inputs = split.inputs(indices).to(model.device)
        target = torch.as_tensor(split.labels[indices], dtype=torch.long, device=model.device)
        result = cascading_randomisation(model.model, make_attribute, inputs, target, every_step=every_step)
        layers = result["layers"]
        steps = [layers[k - 1] if every_step else f"all {k} layers" for k in result["evaluated"]]
        return {"layers": steps, "curve": randomisation_summary(result["correlations"]), "images": int(len(indices))}

    return compute() if path is None else cached_json(path, compute)


def run_benchmark(benchmark: str = "creatures", models: list[str] | None = None, methods: list[str] | None = None,
                  images: int | None = None, costly_images: int | None = None, *, randomisation_images: int | None = None,
                  costly_randomisation_images: int | None = None, pointing_grids: int | None = None,
                  costly_pointing_grids: int | None = None, normalise: str = "positive",
                  progress: ProgressCallback | None = None, device: str | None = None, use_cache: bool = True) -> dict[str, Any]:
    """Score every (model, method) pair on ``benchmark`` (``"creatures"`` or ``"sounds-mix"``).

    ``models``: recipe names (default: every ready model of the benchmark's datasets); ``methods``:
    explainer names (default: every method that supports each model; a pair whose method does not support
    the model is skipped with a note). Sizes default to :data:`DEFAULTS`: the first ``images`` test inputs
    per method (``costly_images`` for costly methods), the first ``randomisation_images`` of them for the
    randomisation test, ``pointing_grids`` 3x3 grids. ``normalise``: ``"positive"`` (default) or the paper's
    ``"signed"`` rule for the important parts (:mod:`interp_core.metrics.funnybirds`).

    Returns ``{"benchmark", "rows": [{"model", "method", "family", "images", "costly", <every key of
    METRICS>, "best_threshold", "counts", "curves", "randomisation_curve", "seconds", "cached"}],
    "references": [rows with "method" in REFERENCES and "family" "reference"], "config", "notes",
    "fingerprints", "date", "seconds"}``. ``randomisation`` is the mean Spearman correlation of ``|map|`` with
    the trained model's at full randomisation (lower: the map depends more on the model);
    ``randomisation_curve`` lists it per step.
    """
    from interp_core.evaluation.benchmark_records import CACHE_VERSION, outcomes_of
    from interp_core.evaluation.interventions import get_suite
    from interp_core.io import stable_key
    from interp_core.methods.base import available_explainers, explainer_class
    from interp_core.metrics.funnybirds import contrast_pairs, explained_targets
    from interp_core.store.models import load_model
    from interp_core.store.results import result_dir

    started = time.perf_counter()
    suite = get_suite(benchmark)
    settings = _settings(benchmark, {"images": images, "costly_images": costly_images, "randomisation_images": randomisation_images,
                                     "costly_randomisation_images": costly_randomisation_images,
                                     "pointing_grids": pointing_grids, "costly_pointing_grids": costly_pointing_grids})
    names = list(models or benchmark_models(benchmark))
    if not names:
        raise BenchmarkError(f"No model of {', '.join(suite.model_datasets)} is ready; train one first "
                             f"(python -m interp_core train RECIPE).")
    unknown = [m for m in methods or () if m not in available_explainers()]
    if unknown:
        raise BenchmarkError(f"Unknown explanation method(s) {', '.join(unknown)}. Available: {', '.join(available_explainers())}.")
    loaded = [load_model(name, device, train_if_missing=False, show_bar=False) for name in names]
    for model in loaded:
        if model.card.dataset not in suite.model_datasets:
            raise BenchmarkError(f"{model.name} is a model of {model.card.dataset}; the {benchmark} benchmark takes models of "
                                 f"{', '.join(suite.model_datasets)}.")
    notes: list[str] = []
    plan = {m.name: [x for x in (methods or available_explainers()) if explainer_class(x).supports(m.card)] for m in loaded}
    for method in methods or ():
        if not any(method in chosen for chosen in plan.values()):
            notes.append(f"{method} explains none of the chosen models; skipped.")
    split = suite.split()
    n = min(settings["images"], len(split))
    indices = np.arange(n)
    key = stable_key({"benchmark": benchmark, "pool": len(split), "v": CACHE_VERSION})
    folders = {m.name: result_dir("benchmark", m) for m in loaded}
    total = 1 + sum(len(v) + (1 if _plays_pointing(suite, settings, v) else 0) for v in plan.values())
    done = [0]

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(Progress("benchmark", min(1.0, (done[0] + fraction) / total), message))

    outcomes = outcomes_of(loaded, suite, indices, {m.name: folders[m.name] / f"outcomes-{key}.npz" if use_cache else None for m in loaded},
                           progress=lambda f: report(f, f"interventions: {round(f * n)}/{n} inputs"))
    done[0] += 1
    class_table = suite.class_table()
    pairs = contrast_pairs(class_table) if class_table is not None else None
    if pairs is not None and (pairs[:, 0] < 0).any():
        notes.append(f"TS: classes {', '.join(str(c) for c in np.nonzero(pairs[:, 0] < 0)[0])} have no pair of contrast "
                     f"classes; their inputs have no TS score.")
    rows, references = [], []
    for model in loaded:
        result = outcomes[model.name]
        targets = explained_targets(result.labels, result.predictions, pairs)
        pointing = _pointing(model, plan[model.name], suite, settings, use_cache, notes,
                             lambda step: report(step.fraction, f"{model.name} / pointing game: {step.message}"))
        done[0] += 1 if _plays_pointing(suite, settings, plan[model.name]) else 0
        for method in plan[model.name]:
            row = _method_row(model, method, suite, settings, result, targets, folders[model.name], key, normalise, use_cache,
                              lambda f, msg: report(f, f"{model.name} / {method}: {msg}"))
            row["pointing_game"] = _finite(pointing.get(method, {}).get("mean"))
            rows.append(row)
            done[0] += 1
        references += _reference_rows(model, suite, result, targets, indices, pointing, normalise)
    report(0.0, "done")
    return {"benchmark": benchmark, "rows": rows, "references": references,
            "config": {**settings, "benchmark": benchmark, "normalise": normalise, "dilation": suite.dilation,
                       "thresholds": {"start": 0.01, "stop": 0.5, "count": 80}, "relevance": 0.05, "items": list(suite.items),
                       "test_inputs": len(split)},
            "notes": list(dict.fromkeys(notes + _standing_notes(benchmark))), "fingerprints": {m.name: m.card.fingerprint for m in loaded},
            "date": date.today().isoformat(), "seconds": round(time.perf_counter() - started, 2)}


def _method_row(model, method, suite, settings, outcomes, targets, folder, key, normalise, use_cache, report) -> dict[str, Any]:
    from interp_core.evaluation.benchmark_records import RowCache, importances_of
    from interp_core.evaluation.pointing import _method_params
    from interp_core.io import stable_key
    from interp_core.methods.base import explainer_class, get_explainer
    from interp_core.metrics.funnybirds import background_independence

    start = time.perf_counter()
    cls = explainer_class(method)
    k = min(len(outcomes.labels), settings["costly_images" if cls.costly else "images"])
    method_key = stable_key({"key": key, "params": _method_params(cls, {}), "dilation": suite.dilation})
    cache = RowCache(folder / f"importances-{method}-{method_key}.npz" if use_cache else None, np.arange(k))
    cached = cache.done
    explainer = get_explainer(method, model) if len(cache.missing) else None
    attribute = explainer.attribute if explainer is not None else None
    importances, ginis = importances_of(cache, suite, targets[:k], attribute, model.device,
                                        progress=lambda f: report(0.9 * f, f"{round(f * (k - cached))}/{k - cached} inputs"),
                                        chunk=1 if cls.costly else 8)
    row = {"model": model.name, "method": method, "family": method_family(method), "images": k, "costly": bool(cls.costly),
           **_score_row(suite, _head(outcomes, k), importances, ginis, normalise)}
    row["bi"] = background_independence(outcomes)  # model-only: on all the model's inputs, whatever the method's count
    r = min(k, settings["costly_randomisation_images" if cls.costly else "randomisation_images"])
    row["randomisation"], row["randomisation_curve"] = None, []
    if r > 0:
        report(0.9, "randomisation")
        every_step = not cls.costly  # a costly method explains only the fully randomised model
        path = folder / f"randomisation-{method}-{stable_key({'m': method_key, 'n': r, 'every': every_step})}.json" if use_cache else None
        curve = _randomisation(model, method, suite, np.arange(r), path, every_step)
        row["randomisation"] = curve["curve"][-1] if curve["curve"] else None
        row["randomisation_curve"] = [{"layer": layer, "spearman": value} for layer, value in zip(curve["layers"], curve["curve"])]
    row["cached"] = int(cached)
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def _plays_pointing(suite, settings, methods: list[str]) -> bool:
    return suite.image and settings["pointing_grids"] > 0 and bool(methods)


def _pointing(model, methods: list[str], suite, settings, use_cache: bool, notes: list[str], progress) -> dict[str, dict]:
    """Grid pointing game rows of ``model``'s methods by method (empty for audio or with no grids)."""
    if not _plays_pointing(suite, settings, methods):
        return {}
    from interp_core.evaluation.pointing import run_pointing_game

    result = run_pointing_game([model.name], methods, n_grids=settings["pointing_grids"], size=3, progress=progress,
                               n_grids_costly=settings["costly_pointing_grids"] or None, test_samples=len(suite.split()),
                               use_cache=use_cache, train_if_missing=False)
    notes.extend(f"pointing game: {note}" for note in result["notes"])
    return {row["method"]: row for row in result["results"]}


def _reference_rows(model, suite, outcomes, targets, indices, pointing: dict[str, dict], normalise: str) -> list[dict[str, Any]]:
    """The reference maps on ``model``'s inputs (:data:`REFERENCES`), scored like every method; their
    pointing-game scores are the pointing game's own references on the same grids (random item weights
    and a constant map both score chance there, 1/9)."""
    from interp_core.evaluation.benchmark_records import reference_importances
    from interp_core.metrics.funnybirds_references import item_weight_maps, oracle_importances
    from interp_core.metrics.map_statistics import gini

    any_pointing = next(iter(pointing.values()), {})
    oracle = oracle_importances(outcomes, targets)
    built = {"random": reference_importances(suite, indices, targets, "random"),
             "uniform": reference_importances(suite, indices, targets, "uniform"),
             "oracle": (oracle, gini(item_weight_maps(suite.item_map(indices), oracle.signed[:, 0])))}
    rows = []
    for method in REFERENCES:
        importances, ginis = built[method]
        row = {"model": model.name, "method": method, "family": "reference", "images": int(len(indices)), "costly": False,
               **_score_row(suite, outcomes, importances, ginis, normalise)}
        row.update({"randomisation": None, "randomisation_curve": [], "cached": 0, "seconds": 0.0,
                    "pointing_game": _finite(any_pointing.get("oracle" if method == "oracle" else "uniform"))})
        rows.append(row)
    return rows


def _finite(value) -> float | None:
    """``value`` as a float, or None when missing or not finite (no grid was scored)."""
    return float(value) if value is not None and np.isfinite(value) else None


def _standing_notes(benchmark: str) -> list[str]:
    notes = ["Thresholded metrics: the mean over 80 thresholds (0.01-0.50) and, in *_best, the paper's best threshold "
             "(chosen per model and method on these inputs: optimistic).",
             "randomisation: Spearman correlation of |map| with the trained model's map after every layer is re-drawn "
             "(lower: the map depends more on the model; costly methods explain only the fully randomised model); it "
             "does not apply to the references.",
             "References: random (random weights on the items: chance), uniform (a constant map: what the items' areas "
             "alone give) and oracle (the true part masks weighted by the true score drops)."]
    if benchmark == "sounds-mix":
        notes.append("sounds-mix: the parts are the mixture's sources (event a, event b, background), re-mixed without "
                     "each; D counts the sources whose removal does not lower the label (irrelevant ones); CSDC, BI and TS "
                     "need a class table or background objects and do not apply.")
    return notes


# ----------------------------------------------------------------------------- the recorded run


def results_path(benchmark: str = "creatures") -> Path:
    """Where the shipped results of the default run of ``benchmark`` live (``assets/benchmarks/``)."""
    from interp_core.paths import ASSETS_DIR

    return ASSETS_DIR / "benchmarks" / f"{benchmark}.json"


def write_results(result: dict[str, Any], path: Path | None = None) -> Path:
    """Write a run's result (labelled with its date and the weights fingerprints it was computed on)."""
    from interp_core.io import write_json_atomic

    path = Path(path) if path is not None else results_path(result["benchmark"])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, result)
    return path


def read_results(benchmark: str = "creatures", path: Path | None = None) -> dict[str, Any] | None:
    """The recorded result of ``benchmark`` when every model it covers still has the weights it was computed
    on (checkpoint fingerprints, read without torch); None when missing, unreadable or outdated."""
    from interp_core.io import read_json_or_none
    from interp_core.store.catalog import checkpoint_fingerprint

    found = read_json_or_none(Path(path) if path is not None else results_path(benchmark))
    if not isinstance(found, dict) or not isinstance(found.get("fingerprints"), dict) or not found["fingerprints"]:
        return None
    try:
        current = all(checkpoint_fingerprint(name) == fp for name, fp in found["fingerprints"].items())
    except KeyError:  # a recipe that no longer exists
        return None
    return found if current else None


def drill_down(model: str, method: str, index: int, benchmark: str = "creatures") -> dict[str, Any]:
    """One test input of ``benchmark`` explained by ``method`` on ``model``, for a close look (see
    :func:`interp_core.evaluation.benchmark_drill.drill_down`)."""
    from interp_core.evaluation.benchmark_drill import drill_down as inspect

    return inspect(model, method, index, benchmark)
