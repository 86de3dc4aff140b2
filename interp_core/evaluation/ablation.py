"""B-cos Fig. 5's localisation per B: the grid pointing game of each trained model of the B ablation."""
from __future__ import annotations

from interp_core.evaluation.pointing import run_pointing_game
from interp_core.methods.bcos.views import b_value
from interp_core.progress import ProgressCallback
from interp_core.store.catalog import recorded_metrics
from interp_core.store.recipes import get_recipe


def ablation_localisation(recipes: list[str], n_grids: int = 50, progress: ProgressCallback | None = None) -> list[dict]:
    """The grid pointing game of the ``bcos`` explanations of each trained ablation model on ``n_grids``
    3x3 grids (computed now, or read from the pointing game's per-grid cache), with the test accuracy
    recorded at training. One row per recipe, ordered by B: ``recipe``, ``b``, ``accuracy``,
    ``localisation`` (mean score), ``median``, ``grids``, ``cached_grids``."""
    if not recipes:
        return []
    result = run_pointing_game(list(recipes), ["bcos"], n_grids=n_grids, size=3, progress=progress, train_if_missing=False)
    rows = []
    for row in result["results"]:
        accuracy = recorded_metrics(row["model"]).get("accuracy")
        rows.append({"recipe": row["model"], "b": b_value(get_recipe(row["model"])),
                     "accuracy": None if accuracy is None else float(accuracy), "localisation": row["mean"],
                     "median": row["median"], "grids": row["grids"], "cached_grids": row["cached_grids"]})
    return sorted(rows, key=lambda r: r["b"])
