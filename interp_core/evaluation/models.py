"""Ready models (a checkpoint on disk; the query is :func:`interp_core.store.catalog.ready_models`), loaded."""
from __future__ import annotations


def loaded(name: str):
    """The ready model ``name`` (never trains: a missing model raises ``ModelNotTrainedError``)."""
    from interp_core.store.models import load_model

    return load_model(name, train_if_missing=False, show_bar=False)


def datasets_with_models() -> list[str]:
    """Datasets that have at least one ready model, in the dataset registry's order."""
    from interp_core.data import DATASETS
    from interp_core.store.catalog import ready_models
    from interp_core.store.recipes import get_recipe

    used = {get_recipe(name).dataset for name in ready_models()}
    return [name for name in DATASETS.names() if name in used]
