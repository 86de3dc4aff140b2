"""A recipe's test metrics together with the provenance of every model they were computed from."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def evaluate_with_code_status(name: str, device: str | torch.device | None = None, *,
                              train_if_missing: bool = False, references: bool = True) -> dict[str, Any]:
    """:func:`~interp_core.store.models.evaluate_recipe`'s metrics, then (with ``references``) the reference
    rows the recipe's family registers for its kind (:mod:`interp_core.store.references`: the figures a
    reader needs to judge the metrics, e.g. a random null), then ``code_status``: for every model this
    process has read (the recipe's own, its backbone, the models it is compared with), whether today's code
    trained it (current, stale, unknown). A stale comparison must not pass silently."""
    from interp_core.store import catalog
    from interp_core.store.loaded import loaded_recipes
    from interp_core.store.models import evaluate_recipe

    metrics = evaluate_recipe(name, device=device, train_if_missing=train_if_missing)
    if references:
        metrics.update(reference_metrics(name, device, metrics))
    metrics["code_status"] = {model: catalog.code_status(model) for model in loaded_recipes()}
    return metrics


#: Grids of a pointing-game comparison (the B-cos papers' 500 3x3 grids; costly methods the game's default).
COMPARISON_GRIDS = 500


def pointing_comparison_rows(name: str, device=None, *, grids: int = COMPARISON_GRIDS) -> dict[str, Any]:
    """The pointing-game groups the recipe's family names (:func:`interp_core.store.references.pointing_comparison`),
    played with the per-grid result cache: the first group as ``{"mean", "grids"}`` of its one pair, every
    other as ``{model (one method) or method: {"mean", "grids"}, "best", "gap"}`` where ``gap`` is the first group's mean
    minus that group's best."""
    from interp_core.evaluation.pointing import run_pointing_game
    from interp_core.store.recipes import get_recipe
    from interp_core.store.references import pointing_comparison

    groups_of = pointing_comparison(get_recipe(name).kind)
    groups = groups_of(get_recipe(name)) if groups_of else {}
    rows: dict[str, Any] = {}
    own: float | None = None
    for key, (models, methods) in groups.items():
        played = run_pointing_game(models, methods, grids, device=device, train_if_missing=False)["results"]
        scores = {(r["model"] if len(methods) == 1 else r["method"]): {"mean": round(float(r["mean"]), 4), "grids": int(r["grids"])}
                  for r in played}
        if own is None:
            rows[key] = next(iter(scores.values()))
            own = rows[key]["mean"]
            continue
        best = max(scores, key=lambda k: scores[k]["mean"])
        rows[key] = {**scores, "best": best, "gap": round(own - scores[best]["mean"], 4)}
    return rows


def reference_metrics(name: str, device: str | torch.device | None, metrics: dict[str, Any]) -> dict[str, Any]:
    """The reference rows of recipe ``name`` (empty when its kind registers none), from the model the
    metrics were computed on, and its family's pointing-game comparison (:func:`pointing_comparison_rows`); a
    reference key that would overwrite a metric raises ``KeyError``."""
    from interp_core.store.models import load_model
    from interp_core.store.recipes import get_recipe
    from interp_core.store.references import reference_rows

    compute = reference_rows(get_recipe(name).kind)
    rows: dict[str, Any] = {}
    if compute is not None:
        loaded = load_model(name, device, train_if_missing=False, show_bar=False)
        rows = compute(loaded.recipe, loaded.model, loaded.device)
    rows.update(pointing_comparison_rows(name, device))
    if clash := sorted(set(rows) & set(metrics)):
        raise KeyError(f"Reference rows of {name!r} would overwrite its metrics: {', '.join(clash)}.")
    return rows


def not_trained_by_current_code(code_status: dict[str, str]) -> list[str]:
    """``"name (state)"`` for each model of ``code_status`` that today's code did not train (or cannot tell)."""
    return [f"{name} ({state})" for name, state in code_status.items() if state in ("stale", "unknown")]
