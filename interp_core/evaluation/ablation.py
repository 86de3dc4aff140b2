"""Localisation along an ablation: the grid pointing game of one method on each trained model of a series
that varies one setting (B-cos Fig. 5 varies B), with the accuracy recorded at training beside it."""
from __future__ import annotations

from typing import Callable

from interp_core.evaluation.pointing import run_pointing_game
from interp_core.progress import ProgressCallback
from interp_core.store.catalog import recorded_metrics
from interp_core.store.recipes import Recipe, get_recipe


def localisation_per_setting(recipes: list[str], method: str, setting: Callable[[Recipe], float], n_grids: int = 50,
                             progress: ProgressCallback | None = None) -> list[dict]:
    """The pointing game of ``method``'s explanations of each trained model in ``recipes`` on ``n_grids``
    3x3 grids (computed now, or read from the pointing game's per-grid cache). One row per recipe, ordered
    by ``setting(recipe)``: ``recipe``, ``setting``, ``accuracy`` (recorded at training), ``localisation``
    (mean score), ``median``, ``grids``, ``cached_grids``."""
    if not recipes:
        return []
    result = run_pointing_game(list(recipes), [method], n_grids=n_grids, size=3, progress=progress, train_if_missing=False)
    rows = []
    for row in result["results"]:
        accuracy = recorded_metrics(row["model"]).get("accuracy")
        rows.append({"recipe": row["model"], "setting": setting(get_recipe(row["model"])),
                     "accuracy": None if accuracy is None else float(accuracy), "localisation": row["mean"],
                     "median": row["median"], "grids": row["grids"], "cached_grids": row["cached_grids"]})
    return sorted(rows, key=lambda r: r["setting"])
