"""What the pointing-game view shows beside the scores: the time a run will take, measured by earlier runs
on this machine, and the chart of the score distributions."""
from __future__ import annotations

from typing import Any

from interp_core.metrics.pointing_game import COSTLY_GRIDS

#: How the summary table shows its numbers.
SCORE_FORMATS = {c: "%.3f" for c in ("mean", "median", "q25", "q75", "oracle", "uniform", "colour_prior")}


def _grid_seconds_file():
    from interp_core.paths import cache_subdir

    return cache_subdir("pointing_game") / "grid_seconds.json"


def measured_grid_seconds() -> dict[str, float]:
    """Seconds per grid measured by earlier runs on this machine, by ``model/method/size``."""
    from interp_core.io import read_json_or_none

    found = read_json_or_none(_grid_seconds_file())
    return found if isinstance(found, dict) else {}


def record_grid_seconds(result: dict[str, Any], size: int) -> None:
    """Remember the seconds per freshly scored grid of every pair of a run (``run_pointing_game``'s result)."""
    from interp_core.io import write_json_atomic

    rates = measured_grid_seconds()
    for row in result["results"]:
        fresh = row["grids"] - row["cached_grids"]
        if fresh > 0:
            rates[f"{row['model']}/{row['method']}/{size}"] = row["seconds"] / fresh
    write_json_atomic(_grid_seconds_file(), rates, indent=1)


def run_estimate(pairs: list[tuple[str, str]], n_grids: int, size: int) -> tuple[float, list[str]]:
    """``(seconds, unmeasured)``: at most how long the ``(model, method)`` pairs take on ``n_grids`` grids (an
    upper bound: grids already scored come from the cache), from the rates measured here; and the pairs
    without a measured rate."""
    from interp_core.methods.base import explainer_class

    rates = measured_grid_seconds()
    estimate, unknown = 0.0, []
    for model, method in pairs:
        grids = min(n_grids, COSTLY_GRIDS) if explainer_class(method).costly else n_grids
        rate = rates.get(f"{model}/{method}/{size}")
        if rate is None:
            unknown.append(f"{method} on {model}")
        else:
            estimate += rate * grids
    return estimate, unknown


def scores_figure(long_rows: list[dict], size: int):
    """Box plots of the scores per method and model (rows of ``long_scores``), chance dotted."""
    import pandas as pd
    import plotly.express as px

    fig = px.box(pd.DataFrame(long_rows), x="method", y="score", color="model", points=False,
                 title="Localisation per method and model")
    fig.add_hline(y=1 / size ** 2, line_dash="dot", annotation_text="chance")
    fig.update_yaxes(title="share of positive attribution in the own cell", range=[0, 1])
    return fig


def warm_up(context) -> None:
    """The Pointing game view's default selection, warmed at server start (:mod:`interp_core.evaluation.warmup`):
    its default models (their cards decide which methods it offers)."""
    from interp_core.evaluation.pointing import default_selection, pointing_models

    models, _ = context.step("choosing the default models", lambda: default_selection(pointing_models()))
    for name in models:
        context.model(name)
