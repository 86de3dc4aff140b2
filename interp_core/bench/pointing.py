"""Pointing-game speed benchmark: how long 500 3×3 grids × 9 targets take per explanation method.

``run_pointing_benchmark()`` times the pointing game (grid assembly, ``attribute`` for the 9 targets of a
grid in one call, scoring) for B-cos's inherent explanations on ``bcos-shapes`` (skipped with a note when
the ``bcos`` explainer or recipe is missing or the model is not trained) and for the gradient methods on
``cnn-shapes``, against a plain forward pass of the same 9-image grid batch measured in the same run.

Goals on 2 CPU cores: B-cos 500 grids < 5 min; the gradient methods together < 20 min. Unless
``measure_grids`` is None, only that many grids are timed per method and the 500-grid time is
extrapolated linearly; every such row and group says ``"extrapolated": True``.
"""
from __future__ import annotations

import os
import statistics
import time
from typing import Any

import torch

from interp_core.progress import Progress, ProgressCallback

GRADIENT_METHODS = ("gradient", "input_x_gradient", "integrated_gradients", "deeplift", "gradcam")
#: Goal for each group of methods, seconds for 500 grids on 2 CPU cores (scaled for other grid counts).
GOALS_S = {"bcos": 300.0, "gradient methods": 1200.0}


def _forward_seconds(model: torch.nn.Module, batch: torch.Tensor, repeats: int = 5) -> float:
    with torch.no_grad():
        model(batch)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(batch)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def integrated_gradients_floor(model: torch.nn.Module, grid: torch.Tensor, targets: int, n_steps: int = 50,
                               repeats: int = 3) -> dict[str, float]:
    """The model work any ``n_steps`` Integrated Gradients of one grid needs: ``n_steps`` forward passes of
    the scaled grid (with autograd) and one input-gradient backward per target over them (a convolution's
    backward does not batch over several output gradients). Returns ``forward_s`` (the forward of all
    steps as one batch), ``backward_s`` (one target's backward), ``floor_s_per_grid`` = forward_s +
    targets × backward_s; medians of ``repeats``."""
    x = grid.unsqueeze(0).expand(n_steps, *grid.shape).contiguous()
    forwards, backwards = [], []
    for _ in range(repeats + 1):
        scaled = x.clone().requires_grad_(True)
        start = time.perf_counter()
        logits = model(scaled)
        middle = time.perf_counter()
        torch.autograd.grad(logits[:, 0].sum(), scaled)
        end = time.perf_counter()
        forwards.append(middle - start)
        backwards.append(end - middle)
    forward_s, backward_s = statistics.median(forwards[1:]), statistics.median(backwards[1:])
    return {"forward_s": forward_s, "backward_s": backward_s, "floor_s_per_grid": forward_s + targets * backward_s}


def run_pointing_benchmark(
    n_grids: int = 500,
    size: int = 3,
    measure_grids: int | None = 20,
    *,
    cnn: str = "cnn-shapes",
    bcos: str = "bcos-shapes",
    gradient_methods: tuple[str, ...] = GRADIENT_METHODS,
    train_if_missing: bool = False,
    untrained_timing: bool = True,
    device: str | torch.device | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Time the pointing game per (model, method); see the module docstring.

    A model without a checkpoint is trained only with ``train_if_missing``. Otherwise, with
    ``untrained_timing``, the B-cos row is timed on a freshly initialised ``bcos`` network over the CNN's
    grids (the cost of an explanation does not depend on the weights); such a row has
    ``"untrained": True`` and no score.

    Returns ``{"rows": [{"model", "method", "grids_measured", "seconds_measured", "seconds_per_grid",
    "seconds_for_n_grids", "extrapolated", "forward_ratio", "mean_score", "untrained"}, plus for path methods
    with ``n_steps`` (IG) "floor_seconds_per_grid", "floor_seconds_for_n_grids" (see
    :func:`integrated_gradients_floor`) and "over_floor"], "groups":
    [{"group", "model", "methods", "seconds_for_n_grids", "goal_seconds", "meets_goal", "extrapolated"}],
    "forward_seconds": {model: s}, "notes", "n_grids", "size", "device", "threads", "load_average"}``.
    ``forward_ratio`` is the time per grid over one plain forward pass of the grid's ``size²``-image batch.
    No result cache is used: every number is measured now (the first grid of each method is an untimed
    warm-up).
    """
    from interp_core.device import choose_device, describe_device
    from interp_core.methods.base import available_explainers, get_explainer
    from interp_core.evaluation.pointing import grid_pool, grid_spec, model_grids
    from interp_core.metrics.pointing_game import default_smooth, evaluate_grids, make_grid, summarize_scores
    from interp_core.store import HANDLERS, ModelNotTrainedError, all_recipes, load_model, model_card

    if measure_grids is not None and measure_grids < 1:
        raise ValueError(f"measure_grids must be at least 1 (or None for all {n_grids}), got {measure_grids}.")
    device = choose_device(device)
    notes: list[str] = []

    def subject(name: str, fallback_grids=None):
        """(model, card, pool, grids, untrained) for recipe ``name``, or None with a note."""
        try:
            loaded = load_model(name, device, train_if_missing=train_if_missing)
        except ModelNotTrainedError as err:
            if fallback_grids is None:
                notes.append(f"{name} skipped: {err}")
                return None
            recipe = all_recipes()[name]
            torch.manual_seed(recipe.seed)
            model = HANDLERS.get(recipe.kind).build(recipe).to(device).eval()
            notes.append(f"{name} is not trained: timed with untrained weights on {cnn}'s grids (no score).")
            return (model, model_card(recipe, {"weights_sha256": "untrained"}), *fallback_grids, True)
        pool = grid_pool(loaded.recipe.dataset, size)
        grids = model_grids(loaded, grid_spec(loaded, size), n_grids, pool)
        if len(grids) < n_grids:
            notes.append(f"{name}: only {len(grids)} grids exist; times are still given for {n_grids}.")
        return loaded.model, loaded.card, pool, grids, False

    cnn_subject = subject(cnn)
    plan: list[tuple[str, str, tuple[str, ...], Any]] = []
    if "bcos" in available_explainers() and bcos in all_recipes():
        same_data = cnn_subject is not None and all_recipes()[bcos].dataset == all_recipes()[cnn].dataset
        fallback = cnn_subject[2:4] if untrained_timing and same_data else None
        plan.append(("bcos", bcos, ("bcos",), subject(bcos, fallback)))
    else:
        notes.append(f"B-cos skipped: the 'bcos' explainer or the {bcos!r} recipe is not available.")
    plan.append(("gradient methods", cnn, tuple(gradient_methods), cnn_subject))

    total = sum(len(methods) for _, _, methods, _ in plan)
    rows, groups, forward = [], [], {}
    done = 0
    for group, name, methods, subj in plan:
        if subj is None:
            done += len(methods)
            continue
        model, card, pool, grids, untrained = subj
        timed = grids[1:] if measure_grids is None else grids[1:measure_grids + 1]
        batch = make_grid(pool.inputs(grids[0]), size).to(device).unsqueeze(0).expand(size * size, -1, -1, -1)
        forward[name] = _forward_seconds(model, batch)
        group_seconds, group_extrapolated = 0.0, False
        for method in methods:
            explainer = get_explainer(method, model, card)
            smooth = 1 if explainer.perturbation_based else default_smooth(pool.info.input_shape[-1])
            evaluate_grids(explainer.attribute, pool, grids[:1], size=size, smooth=smooth, device=explainer.device)  # warm-up
            start = time.perf_counter()
            scores = evaluate_grids(explainer.attribute, pool, timed, size=size, smooth=smooth, device=explainer.device)
            seconds = time.perf_counter() - start
            per_grid = seconds / max(1, len(timed))
            extrapolated = len(timed) < n_grids
            row = {
                "model": name, "method": method, "grids_measured": int(len(timed)), "seconds_measured": round(seconds, 3),
                "seconds_per_grid": round(per_grid, 4), "seconds_for_n_grids": round(per_grid * n_grids, 1),
                "extrapolated": extrapolated, "forward_ratio": round(per_grid / forward[name], 1),
                "mean_score": None if untrained else round(summarize_scores(scores)["mean"], 4), "untrained": untrained,
            }
            n_steps = getattr(explainer, "n_steps", None)
            if isinstance(n_steps, int):  # path methods: the model work their steps need, measured now
                floor = integrated_gradients_floor(model, batch[0], size * size, n_steps)
                row.update({"floor_seconds_per_grid": round(floor["floor_s_per_grid"], 4),
                            "floor_seconds_for_n_grids": round(floor["floor_s_per_grid"] * n_grids, 1),
                            "over_floor": round(per_grid / floor["floor_s_per_grid"], 3)})
            rows.append(row)
            group_seconds += per_grid * n_grids
            group_extrapolated |= extrapolated
            done += 1
            if progress is not None:
                progress(Progress("benchmark", done / total, f"{name} / {method}: {per_grid:.2f} s per grid"))
        goal = GOALS_S[group] * n_grids / 500 if group in GOALS_S else None
        groups.append({
            "group": group, "model": name, "methods": list(methods), "seconds_for_n_grids": round(group_seconds, 1),
            "goal_seconds": goal, "meets_goal": None if goal is None else group_seconds < goal,
            "extrapolated": group_extrapolated,
        })
    return {
        "rows": rows, "groups": groups, "forward_seconds": {k: round(v, 4) for k, v in forward.items()}, "notes": notes,
        "n_grids": n_grids, "size": size, "device": describe_device(device), "threads": torch.get_num_threads(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
