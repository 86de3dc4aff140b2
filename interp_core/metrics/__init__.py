"""Metrics that score explanations and models: the grid pointing game (B-cos), and more by method family."""
from interp_core.metrics.pointing_game import (
    GridSpec,
    PointingGameError,
    cell_fractions,
    default_smooth,
    evaluate_grids,
    localisation_scores,
    make_grid,
    run_pointing_game,
    sample_grids,
    summarize_scores,
)

__all__ = [
    "GridSpec", "PointingGameError", "cell_fractions", "default_smooth", "evaluate_grids", "localisation_scores",
    "make_grid", "run_pointing_game", "sample_grids", "summarize_scores",
]
