"""Pure scoring of explanations and models, shared by families: the grid pointing game (B-cos paper), and
more as families add theirs. An ``attribute(inputs, target)`` function, data and grids in; scores out; no I/O. Running metrics for models by
recipe name lives in :mod:`interp_core.evaluation`."""
from interp_core.metrics.pointing_game import (
    GridSpec,
    PointingGameError,
    cell_fractions,
    default_smooth,
    evaluate_grids,
    grid_maps,
    grid_scores,
    localisation_scores,
    make_grid,
    sample_grids,
    summarize_scores,
)

__all__ = [
    "GridSpec", "PointingGameError", "cell_fractions", "default_smooth", "evaluate_grids", "grid_maps", "grid_scores", "localisation_scores",
    "make_grid", "sample_grids", "summarize_scores",
]
