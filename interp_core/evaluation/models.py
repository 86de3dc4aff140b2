"""Models that are ready to use (a checkpoint on disk), and their cards."""
from __future__ import annotations


def ready_models(dataset: str | None = None) -> list[str]:
    """Recipes (of ``dataset``, or all) with a checkpoint on disk (shipped or cached), of every family and kind."""
    from interp_core.store.catalog import checkpoint_status
    from interp_core.store.recipes import all_recipes

    return [r.name for r in all_recipes().values()
            if (dataset is None or r.dataset == dataset) and checkpoint_status(r.name) != "missing"]


def loaded(name: str):
    """The ready model ``name`` (never trains: a missing model raises ``ModelNotTrainedError``)."""
    from interp_core.store.models import load_model

    return load_model(name, train_if_missing=False, show_bar=False)


def datasets_with_models() -> list[str]:
    """Datasets that have at least one ready model, in the dataset registry's order."""
    from interp_core.data import DATASETS
    from interp_core.store.recipes import get_recipe

    used = {get_recipe(name).dataset for name in ready_models()}
    return [name for name in DATASETS.names() if name in used]
