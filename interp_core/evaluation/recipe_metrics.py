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


#: Reference rows that need orchestration (running other models), by recipe kind: ``module:function`` with
#: the signature of :data:`interp_core.store.references.ReferenceRows`.
ORCHESTRATED_REFERENCES = {"bcosified": "interp_core.evaluation.bcosified:bcosified_references"}


def _orchestrated(kind: str):
    import importlib

    if kind not in ORCHESTRATED_REFERENCES:
        return None
    module, _, function = ORCHESTRATED_REFERENCES[kind].partition(":")
    return getattr(importlib.import_module(module), function)


def reference_metrics(name: str, device: str | torch.device | None, metrics: dict[str, Any]) -> dict[str, Any]:
    """The reference rows of recipe ``name`` (empty when its kind registers none), from the model the
    metrics were computed on; a reference key that would overwrite a metric raises ``KeyError``."""
    from interp_core.store.models import load_model
    from interp_core.store.recipes import get_recipe
    from interp_core.store.references import reference_rows

    kind = get_recipe(name).kind
    compute = reference_rows(kind) or _orchestrated(kind)
    if compute is None:
        return {}
    loaded = load_model(name, device, train_if_missing=False, show_bar=False)
    rows = compute(loaded.recipe, loaded.model, loaded.device)
    if clash := sorted(set(rows) & set(metrics)):
        raise KeyError(f"Reference rows of {name!r} would overwrite its metrics: {', '.join(clash)}.")
    return rows


def not_trained_by_current_code(code_status: dict[str, str]) -> list[str]:
    """``"name (state)"`` for each model of ``code_status`` that today's code did not train (or cannot tell)."""
    return [f"{name} ({state})" for name, state in code_status.items() if state in ("stale", "unknown")]
