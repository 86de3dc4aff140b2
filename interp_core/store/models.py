"""Loading, training and shipping models by recipe name, whatever their family.

Each recipe kind has a :class:`RecipeHandler`, registered by the family that owns the kind in its
``training`` module (see :mod:`interp_core.families`): it builds the untrained module, trains it in
place, evaluates it on the test split, and may write extra shipped assets. This module knows no family.
"""
from __future__ import annotations

import logging
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

import interp_core
from interp_core.data import DatasetInfo, dataset_info
from interp_core.device import choose_device
from interp_core.families import family_modules
from interp_core.paths import SHIPPED_CHECKPOINTS, with_ext
from interp_core.registry import Registry
from interp_core.store.card import ModelCard
from interp_core.store.catalog import checkpoint_fingerprint, checkpoint_stems
from interp_core.store.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from interp_core.store.provenance import code_fingerprint
from interp_core.store.recipes import Recipe, get_recipe, recipe_hash
from interp_core.store.trainable import TrainingRefused, training_refusal
from interp_core.progress import ProgressCallback

log = logging.getLogger("interp_core.store")


class ModelNotTrainedError(RuntimeError):
    """No verified checkpoint exists for a recipe and training was not allowed."""


@dataclass
class RecipeHandler:
    """How one recipe kind is made. ``train(recipe, model, device, progress, show_bar) -> fit stats``;
    ``evaluate(recipe, model, device) -> test metrics``; ``ship_assets(loaded) -> extra files`` written
    into ``assets/`` beside the checkpoint (e.g. a precomputed projection), if any."""

    build: Callable[[Recipe], nn.Module]
    train: Callable[[Recipe, nn.Module, torch.device, ProgressCallback | None, bool], dict[str, Any]]
    evaluate: Callable[[Recipe, nn.Module, torch.device], dict[str, Any]]
    ship_assets: Callable[["TrainedModel"], list[Path]] | None = None


HANDLERS: Registry[RecipeHandler] = Registry("recipe kind", lambda: family_modules("training"))


def register_handler(kind: str, handler: RecipeHandler) -> RecipeHandler:
    return HANDLERS.register(kind, handler)


@dataclass
class TrainedModel:
    """A ready model: ``model`` in eval mode on ``device`` with its ``card``; ``source`` is shipped, cache
    or trained."""

    recipe: Recipe
    model: nn.Module
    meta: dict[str, Any]
    info: DatasetInfo
    source: str
    device: torch.device
    card: ModelCard
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.recipe.name


def model_card(recipe: Recipe, meta: dict[str, Any]) -> ModelCard:
    """The card of ``recipe``'s model whose checkpoint metadata is ``meta``."""
    info = dataset_info(recipe.dataset)
    return ModelCard(
        recipe=recipe.name, family=recipe.family, kind=recipe.kind, dataset=recipe.dataset, modality=info.kind,
        output=recipe.output_activation, class_names=tuple(info.class_names), input_shape=tuple(info.input_shape),
        fingerprint=str(meta.get("weights_sha256", "unknown"))[:12], trained=str(meta.get("created", "")),
    )


_LOADED: dict[tuple, TrainedModel] = {}


def _memo_key(recipe: Recipe, device: torch.device) -> tuple:
    """What an in-memory model depends on: its recipe, device, and the weights on disk of it and of every
    recipe it is built on (a checkpoint retrained by another process is never served from memory)."""
    names = (recipe.name, *recipe.depends_on)
    return (recipe.name, recipe_hash(recipe), str(device), tuple(checkpoint_fingerprint(n) for n in names))


def _to_device(model: nn.Module, device: torch.device) -> nn.Module:
    return model.to(device).eval().requires_grad_(True)


def load_model(
    name: str,
    device: str | torch.device | None = None,
    *,
    train_if_missing: bool = True,
    progress: ProgressCallback | None = None,
    show_bar: bool = True,
) -> TrainedModel:
    """Return the verified model for recipe ``name``: cached, else shipped, else trained now.

    A checkpoint that fails verification (truncated, tampered, not plain tensors, wrong shapes, fitted on
    other weights) is refused with a logged message and the model is retrained into the cache.
    """
    recipe = get_recipe(name)
    device = choose_device(device)
    key = _memo_key(recipe, device)
    if key in _LOADED:
        return _LOADED[key]
    handler = HANDLERS.get(recipe.kind)
    notes: list[str] = []
    for source, stem in checkpoint_stems(recipe).items():
        if not with_ext(stem, ".json").exists():
            continue
        try:
            state, meta = load_checkpoint(stem)
            model = handler.build(recipe)
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as err:
                raise CheckpointError(f"{stem} does not fit recipe {name!r}: {str(err).splitlines()[0]}") from None
        except CheckpointError as err:
            msg = f"Refused {source} checkpoint of {name!r}: {err}"
            log.warning(msg)
            notes.append(msg)
            continue
        loaded = TrainedModel(recipe, _to_device(model, device), meta, dataset_info(recipe.dataset), source, device,
                              model_card(recipe, meta), notes)
        _LOADED[key] = loaded
        return loaded
    if not train_if_missing:
        raise ModelNotTrainedError(
            f"Model {name!r} is not trained yet. Train it with `python -m interp_core train {name}` or from the Home page."
        )
    loaded = train_recipe(name, device=device, progress=progress, show_bar=show_bar)
    loaded.notes[:0] = notes
    return loaded


def train_recipe(
    name: str,
    device: str | torch.device | None = None,
    *,
    progress: ProgressCallback | None = None,
    show_bar: bool = True,
) -> TrainedModel:
    """Train recipe ``name`` from scratch (seeded), evaluate it on the test split, cache it atomically.
    Raises :class:`~interp_core.store.trainable.TrainingRefused` for a recipe that must not train here (a
    GPU-sized one without CUDA, an imported model)."""
    recipe = get_recipe(name)
    device = choose_device(device)
    if (refusal := training_refusal(name, device)) is not None:
        raise TrainingRefused(refusal)
    handler = HANDLERS.get(recipe.kind)
    torch.manual_seed(recipe.seed)
    model = handler.build(recipe).to(device)
    start = time.perf_counter()
    fit = handler.train(recipe, model, device, progress, show_bar)
    seconds = time.perf_counter() - start
    metrics = handler.evaluate(recipe, model.eval(), device)
    meta = {
        "recipe": recipe.to_dict(),
        "recipe_type": type(recipe).__name__,
        "recipe_hash": recipe_hash(recipe),
        "seed": recipe.seed,
        "test_metrics": metrics,
        "fit": fit,
        "train_seconds": round(seconds, 2),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "interp_core_version": interp_core.__version__,
        "code_fingerprint": code_fingerprint(recipe),
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    meta = save_checkpoint(checkpoint_stems(recipe)["cache"], dict(model.state_dict()), meta)
    log.info("trained %s in %.1fs: %s", name, seconds, metrics)
    loaded = TrainedModel(recipe, _to_device(model, device), meta, dataset_info(recipe.dataset), "trained", device,
                          model_card(recipe, meta))
    _LOADED[_memo_key(recipe, device)] = loaded
    return loaded


def evaluate_recipe(name: str, device: str | torch.device | None = None, *, train_if_missing: bool = False) -> dict[str, Any]:
    """Metrics computed now on the test split, from the cached or shipped model."""
    loaded = load_model(name, device, train_if_missing=train_if_missing)
    metrics = HANDLERS.get(loaded.recipe.kind).evaluate(loaded.recipe, loaded.model, loaded.device)
    return {"recipe": name, "source": loaded.source, "fingerprint": loaded.card.fingerprint, **metrics}


def ship_recipe(name: str) -> Path:
    """Copy the cached checkpoint of ``name`` into ``assets/checkpoints`` (removing older versions), and
    write the extra assets its handler ships."""
    recipe = get_recipe(name)
    stems = checkpoint_stems(recipe)
    load_checkpoint(stems["cache"])  # verify before shipping
    SHIPPED_CHECKPOINTS.mkdir(parents=True, exist_ok=True)
    for old in SHIPPED_CHECKPOINTS.glob(f"{name}-*"):
        if old.stem.rsplit("-", 1)[0] == name:
            old.unlink()
    for suffix in (".safetensors", ".json"):
        shutil.copy2(with_ext(stems["cache"], suffix), with_ext(stems["shipped"], suffix))
    handler = HANDLERS.get(recipe.kind)
    if handler.ship_assets is not None:
        handler.ship_assets(load_model(name, train_if_missing=False, show_bar=False))
    return stems["shipped"]
