"""Reference rows that ``eval`` prints beside a recipe's metrics, registered by recipe kind.

A figure such as a diversity or faithfulness score cannot be judged alone: the pointing game prints its
oracle and uniform maps beside every method for that reason. A family registers, for its recipe kind, a
function ``(recipe, model, device) -> {key: value}`` in its ``references`` module (found on disk, like the
handlers of :mod:`interp_core.store.models`); :func:`interp_core.evaluation.recipe_metrics.evaluate_with_code_status`
merges what it returns into the metrics. The metrics themselves stay as the handler computes them, so
adding a reference changes no checkpoint's provenance.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from interp_core.families import family_modules
from interp_core.registry import Registry

if TYPE_CHECKING:
    import torch
    import torch.nn as nn

    from interp_core.store.recipes import Recipe

ReferenceRows = Callable[["Recipe", "nn.Module", "torch.device"], dict[str, Any]]

REFERENCES: Registry[ReferenceRows] = Registry("reference rows", lambda: family_modules("references"))
#: ``recipe -> {key: (models, methods)}``: pointing-game groups ``eval`` plays beside a recipe's metrics (the
#: first group is the recipe's own maps; every other is reported with its gap to it).
PointingComparison = Callable[["Recipe"], dict[str, tuple[list[str], list[str]]]]
POINTING_COMPARISONS: Registry[PointingComparison] = Registry("pointing-game comparisons", lambda: family_modules("references"))


def register_references(kind: str, compute: ReferenceRows) -> ReferenceRows:
    """Make ``compute`` the reference rows of every recipe of ``kind``."""
    return REFERENCES.register(kind, compute)


def reference_rows(kind: str) -> ReferenceRows | None:
    """The reference rows of recipe ``kind``, or None when its family registers none."""
    return REFERENCES.get(kind) if kind in REFERENCES else None


def register_pointing_comparison(kind: str, groups: PointingComparison) -> PointingComparison:
    """Make ``groups`` the pointing-game comparison ``eval`` shows for every recipe of ``kind``."""
    return POINTING_COMPARISONS.register(kind, groups)


def pointing_comparison(kind: str) -> PointingComparison | None:
    """The pointing-game comparison of recipe ``kind``, or None when its family registers none."""
    return POINTING_COMPARISONS.get(kind) if kind in POINTING_COMPARISONS else None
