"""Whether a recipe may train on this machine, and about how long its training takes.

Refusals are registered by whoever knows a recipe cannot train here (a GPU-sized recipe on a machine without
CUDA, an imported model whose weights come from elsewhere); :func:`~interp_core.store.models.train_recipe`
asks :func:`training_refusal` before it starts, so the CLI, the Home page and ``load_model`` refuse alike.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from interp_core.paths import SHIPPED_CHECKPOINTS

#: recipe name -> ``refusal(device) -> message | None``; filled by the recipe providers that need one.
REFUSALS: dict[str, Callable[[Any], str | None]] = {}


class TrainingRefused(RuntimeError):
    """``train_recipe`` refused to start: the message says why and what to do instead."""


def register_refusal(name: str, refusal: Callable[[Any], str | None]) -> None:
    """Have ``train_recipe(name)`` refuse with ``refusal(device)`` whenever that returns a message."""
    REFUSALS[name] = refusal


def training_refusal(name: str, device: Any = None) -> str | None:
    """Why recipe ``name`` must not train on ``device`` (a ``torch.device``, or None for the automatic
    choice) here, or None when it may."""
    from interp_core.store.recipes import get_recipe

    get_recipe(name)  # loads the recipe providers, which register their refusals; an unknown name fails here
    refusal = REFUSALS.get(name)
    if refusal is None:
        return None
    from interp_core.device import choose_device

    return refusal(choose_device(device))


def _shipped_train_seconds() -> dict[str, float]:
    """``train_seconds`` of every card in ``assets/checkpoints`` by recipe name, current or not (a recipe
    whose settings changed since its weights shipped still trains in about the same time)."""
    cards = sorted(SHIPPED_CHECKPOINTS.glob("*.json"))
    stamps = []
    for card in cards:
        try:
            stat = card.stat()
        except OSError:
            continue
        stamps.append((card.name, stat.st_mtime_ns, stat.st_size))
    if _TRAIN_SECONDS and _TRAIN_SECONDS[0][0] == stamps:  # no card changed since they were read (Home asks per model)
        return dict(_TRAIN_SECONDS[0][1])
    out: dict[str, float] = {}
    for card in cards:
        try:
            meta = json.loads(card.read_text())
            recipe, value = meta["recipe"]["name"], float(meta["train_seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        out[recipe] = max(value, out.get(recipe, 0.0))
    _TRAIN_SECONDS[:] = [(stamps, dict(out))]
    return out


_TRAIN_SECONDS: list = []  # [(the cards' names, times and sizes, the seconds read from them)]


def training_estimate(name: str) -> tuple[float | None, str]:
    """``(seconds, basis)``: how long training recipe ``name`` took when it was recorded, from the
    ``train_seconds`` in its checkpoint's card, or, without a checkpoint, in a shipped card of an earlier
    version of it, or in the card of its nearest trained relative (same family and dataset, then same
    family). ``(None, "")`` when nothing is recorded."""
    from interp_core.store.catalog import checkpoint_meta, checkpoint_status
    from interp_core.store.recipes import all_recipes, get_recipe

    def seconds(recipe_name: str) -> float | None:
        value = checkpoint_meta(recipe_name, copy=False).get("train_seconds") if checkpoint_status(recipe_name) != "missing" else None
        return float(value) if isinstance(value, (int, float)) else None

    own = seconds(name)
    if own is not None:
        return own, f"recorded when {name} was trained"
    earlier = _shipped_train_seconds().get(name)
    if earlier is not None:
        return earlier, f"recorded for an earlier version of {name}"
    recipe = get_recipe(name)
    relatives = [r for r in all_recipes().values() if r.name != name and r.family == recipe.family]
    for group in ([r for r in relatives if r.dataset == recipe.dataset], relatives):
        times = [(t, r.name) for r in group if (t := seconds(r.name)) is not None]
        if times:
            t, relative = max(times)
            return t, f"recorded for {relative}"
    return None, ""
