"""Example grids of the pointing game with each class's map, for showing what a score means."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp_core.metrics.pointing_game import (
    REFERENCE_SEED,
    GridSpec,
    confidence_kind,
    default_smooth,
    grid_pool,
    localisation_scores,
    make_grid,
    model_grids,
)


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
    from interp_core.data import dataset_info
    from interp_core.methods import get_explainer
    from interp_core.store import get_recipe, load_model

    recipe = get_recipe(model_name)
    info = dataset_info(recipe.dataset)
    spec = GridSpec(size, seed, threshold, confidence_kind(getattr(recipe, "loss", "ce")))
    pool = grid_pool(recipe.dataset, size)
    grids = model_grids(model_name, spec, count, pool)
    loaded = load_model(model_name, train_if_missing=False, show_bar=False)
    explainer = get_explainer(method, loaded.model)
    kernel = 1 if getattr(explainer, "perturbation_based", False) else default_smooth(info.input_shape[-1])
    examples = []
    for idx in grids[:count]:
        image = make_grid(pool.inputs(idx), size)
        target = torch.as_tensor(pool.labels[idx], dtype=torch.long, device=loaded.device)
        maps = explainer.attribute(image.unsqueeze(0).expand(len(idx), *image.shape).to(loaded.device), target).detach().float().cpu()
        scores = localisation_scores(maps, torch.arange(len(idx)), size, kernel)
        examples.append(ExampleGrid(image, maps, [int(c) for c in pool.labels[idx]], scores.tolist(), size))
    return examples


def scores_table(result: dict) -> list[dict]:
    """Rows of a run's results in a fixed column order (for tables and CSV export)."""
    columns = ("model", "method", "mean", "median", "q25", "q75", "n", "grids", "seconds")
    return [{c: row.get(c) for c in columns} for row in result["results"]]


def long_scores(result: dict) -> list[dict]:
    """One row per (model, method, score): the full distributions, for box plots and CSV."""
    return [{"model": model, "method": method, "score": float(s)}
            for model, by_method in result["distributions"].items() for method, scores in by_method.items() for s in scores]
