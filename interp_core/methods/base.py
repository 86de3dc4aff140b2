"""The one explanation contract shared by every method family.

An :class:`Explainer` wraps a model and, like Captum, has one call for every method:
``attribute(inputs (N, C, H, W), target (N,)) -> (N, H, W)`` attribution maps at input resolution
(time-frequency maps ``(N, F, T)`` for audio models). ``explain`` packages maps for one input and several
target classes as :class:`Explanation` objects with method-specific extras, so the pointing game, the
side-by-side comparison and the rating study take any method without special cases.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch


@dataclass
class Explanation:
    """One explanation of one input for one target class.

    ``attribution``: ``(H, W)`` (image) or ``(F, T)`` (audio) float32 CPU tensor at input resolution.
    ``extras``: method-specific outputs, by convention ``rgba`` ``(H, W, 4)`` numpy in [0, 1],
    ``contributions``, ``segments`` ``(H, W)`` int, ``mask``, ``prototypes``.
    """

    method: str
    target: int
    attribution: torch.Tensor
    score: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Explainer:
    """Base class. Subclasses set ``name`` and implement ``attribute``; no work in ``__init__``."""

    name: str = "base"
    #: True for methods whose maps come from the model itself (B-cos, KMEx, PIQ, Q-SENN).
    inherent: bool = False

    def __init__(self, model: torch.nn.Module):
        self.model = model

    @classmethod
    def supports(cls, model: torch.nn.Module) -> bool:
        """Whether this method can explain ``model``. Explainers do no work in ``__init__`` and refuse models
        of another family there with ``ValueError``/``TypeError``, so trying to construct one is the test."""
        try:
            cls(model)
        except (ValueError, TypeError):
            return False
        return True

    def attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Attribution maps ``(N, H, W)`` for ``inputs`` ``(N, C, H, W)`` and ``target`` ``(N,)``."""
        raise NotImplementedError

    def extras(self, inputs: torch.Tensor, target: torch.Tensor, maps: torch.Tensor) -> list[dict[str, Any]]:
        """Method-specific extras for each row; default none."""
        return [{} for _ in range(inputs.shape[0])]

    @torch.no_grad()
    def scores(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = self.model(inputs)
        return logits.gather(1, target.view(-1, 1)).squeeze(1)

    def explain(self, x: torch.Tensor, targets: Sequence[int]) -> list[Explanation]:
        """Explain one input ``x`` ``(C, H, W)`` for each class in ``targets`` (batched in one call)."""
        device = next(self.model.parameters()).device
        inputs = x.unsqueeze(0).expand(len(targets), *x.shape).to(device)
        target = torch.as_tensor(list(targets), device=device, dtype=torch.long)
        maps = self.attribute(inputs, target).detach()
        extras = self.extras(inputs, target, maps)
        scores = self.scores(inputs[:1].expand_as(inputs), target)
        return [
            Explanation(self.name, int(t), maps[i].float().cpu(), float(scores[i]), extras[i])
            for i, t in enumerate(targets)
        ]


EXPLAINERS: dict[str, Callable[[torch.nn.Module], Explainer]] = {}
# Modules that register explainers when imported; imported on first lookup.
_PROVIDERS = ("interp_core.methods.posthoc", "interp_core.methods.bcos", "interp_core.methods.kmex")


def _load_providers() -> None:
    import importlib

    for module in _PROVIDERS:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def available_explainers() -> list[str]:
    _load_providers()
    return sorted(EXPLAINERS)


def register_explainer(name: str):
    """Class decorator: make an explainer available by name to the CLI, pages and benchmarks."""

    def wrap(cls):
        cls.name = name
        EXPLAINERS[name] = cls
        return cls

    return wrap


def get_explainer(name: str, model: torch.nn.Module, **kwargs) -> Explainer:
    if name not in EXPLAINERS:
        _load_providers()
    if name not in EXPLAINERS:
        raise KeyError(f"Unknown explanation method {name!r}. Available: {', '.join(sorted(EXPLAINERS))}.")
    return EXPLAINERS[name](model, **kwargs)
