"""Reference rows ``eval`` prints beside a B-cosified model's metrics (orchestration: they run the pointing
game on other models too, so they live here, not in the family's ``references`` module; see
:data:`interp_core.evaluation.recipe_metrics.ORCHESTRATED_REFERENCES`).

B-cosification's claim (Arya et al., NeurIPS 2024, Sec. 5) is that the converted model localises as well as
a B-cos network trained from scratch, and better than post-hoc methods on the conventional model it came
from. ``eval`` shows it on image datasets with the grid pointing game (500 3x3 grids, the B-cos papers'
setting; costly post-hoc methods on the pointing game's default 20): ``pointing_game`` for the converted
model's ``bcos`` maps, ``pointing_game_from_scratch`` for its twin's (:data:`FROM_SCRATCH`), and
``pointing_game_posthoc_on_base`` with every post-hoc method on the base classifier, each with its grids.
Scores come from the pointing game's per-grid result cache, so a second ``eval`` reads them.
"""
from __future__ import annotations

from typing import Any

from interp_core.methods.bcos.bcosify_recipes import FROM_SCRATCH, BcosifiedRecipe

#: Grids of the comparison (the B-cos papers' 500 3x3 grids).
GRIDS = 500


def posthoc_methods(card) -> list[str]:
    """The post-hoc methods (family ``posthoc``) that explain the model of ``card``."""
    from interp_core.methods.base import explainer_class, methods_for

    return [m for m in methods_for(card) if explainer_class(m).__module__.split(".")[2:3] == ["posthoc"]]


def bcosified_references(recipe: BcosifiedRecipe, model, device, *, grids: int = GRIDS) -> dict[str, Any]:
    """The pointing-game comparison of the module docstring ({} off image datasets)."""
    from interp_core.evaluation.pointing import run_pointing_game
    from interp_core.store.catalog import checkpoint_status
    from interp_core.store.models import load_model

    base = load_model(recipe.base, device, train_if_missing=False, show_bar=False)
    if base.card.modality != "image":
        return {}

    def score(row: dict[str, Any]) -> dict[str, Any]:
        return {"mean": round(float(row["mean"]), 4), "grids": int(row["grids"])}

    bcos_models = [recipe.name]
    twin = FROM_SCRATCH.get(recipe.name)
    if twin and checkpoint_status(twin) != "missing":
        bcos_models.append(twin)
    own = {row["model"]: score(row) for row in run_pointing_game(bcos_models, ["bcos"], grids, device=device,
                                                                   train_if_missing=False)["results"]}
    posthoc = run_pointing_game([recipe.base], posthoc_methods(base.card), grids, device=device, train_if_missing=False)
    rows: dict[str, Any] = {"pointing_game": own[recipe.name],
                            "pointing_game_posthoc_on_base": {row["method"]: score(row) for row in posthoc["results"]}}
    if twin in own:
        rows["pointing_game_from_scratch"] = {"recipe": twin, **own[twin],
                                              "gap": round(own[recipe.name]["mean"] - own[twin]["mean"], 4)}
    best = max(rows["pointing_game_posthoc_on_base"].items(), key=lambda item: item[1]["mean"])
    rows["pointing_game"]["above_best_posthoc"] = {"method": best[0], "margin": round(own[recipe.name]["mean"] - best[1]["mean"], 4)}
    return rows
