"""Pure scoring of explanations and models, shared by families: the grid pointing game (B-cos paper), and
more as families add theirs. An explainer, data and grids in; scores out. Running metrics for models by
recipe name lives in :mod:`interp_core.evaluation`."""
from interp_core.metrics.pointing_game import (
    GridSpec,
    PointingGameError,
    cell_fractions,
    default_smooth,
    evaluate_grids,
    localisation_scores,
    make_grid,
    sample_grids,
    summarize_scores,
)

__all__ = [
    "GridSpec", "PointingGameError", "cell_fractions", "default_smooth", "evaluate_grids", "localisation_scores",
    "make_grid", "sample_grids", "summarize_scores",
]
