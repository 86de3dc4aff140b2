"""What ``eval`` compares a B-cosified model with (:mod:`interp_core.store.references`).

B-cosification's claim (Arya et al., NeurIPS 2024, Sec. 5) is that the converted model localises as well as
a B-cos network trained from scratch, and better than post-hoc methods on the conventional model it came
from. On image datasets ``eval`` shows it with the grid pointing game (500 3x3 grids, the B-cos papers'
setting): this module names the groups, the orchestration layer plays them
(:func:`interp_core.evaluation.recipe_metrics.pointing_comparison_rows`): ``pointing_game`` (the converted
model's ``bcos`` maps), ``pointing_game_from_scratch`` (its twin, :data:`FROM_SCRATCH`) and
``pointing_game_posthoc_on_base`` (every post-hoc method on the base classifier).
"""
from __future__ import annotations

from interp_core.methods.bcos.bcosify_recipes import FROM_SCRATCH, BcosifiedRecipe
from interp_core.store.references import register_pointing_comparison


def posthoc_methods(card) -> list[str]:
    """The post-hoc methods (family ``posthoc``) that explain the model of ``card``."""
    from interp_core.methods.base import explainer_class, methods_for

    return [m for m in methods_for(card) if explainer_class(m).__module__.split(".")[2:3] == ["posthoc"]]


def bcosified_comparison(recipe: BcosifiedRecipe) -> dict[str, tuple[list[str], list[str]]]:
    """The pointing-game groups of the module docstring ({} off image datasets), the first being the model's own."""
    from interp_core.store.catalog import checkpoint_status
    from interp_core.store.models import load_model

    base = load_model(recipe.base, None, train_if_missing=False, show_bar=False)
    if base.card.modality != "image":
        return {}
    groups = {"pointing_game": ([recipe.name], ["bcos"])}
    twin = FROM_SCRATCH.get(recipe.name)
    if twin and checkpoint_status(twin) != "missing":
        groups["pointing_game_from_scratch"] = ([twin], ["bcos"])
    groups["pointing_game_posthoc_on_base"] = ([recipe.base], posthoc_methods(base.card))
    return groups


register_pointing_comparison("bcosified", bcosified_comparison)
