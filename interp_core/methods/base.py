"""The one explanation contract shared by every method family.

An :class:`Explainer` is built from a loaded model and its :class:`~interp_core.store.card.ModelCard`
(``Explainer(model, card, **params)``, or ``get_explainer(name, trained_model)``). Like Captum, it has one
call for every method: ``attribute(inputs (N, C, H, W), target (N,)) -> (N, H, W)`` attribution maps at
input resolution (time-frequency maps ``(N, F, T)`` for audio models). ``explain(x, targets)`` packages
maps for one input and several target classes as :class:`Explanation` objects with typed optional
fields, so the pointing game, the side-by-side comparison and the rating study take any method without
special cases. Inputs and targets may come on any device (or as arrays and lists): the contract moves
them to the model's device before a method sees them (:meth:`Explainer.on_device`).

A method implements one hook, :meth:`Explainer.compute`, which returns the maps and each row's extras
together (no method keeps a memo of its last call). What a method is, is declared on the class:
``inherent``, ``costly``, ``perturbation_based``, ``modalities`` and ``panels`` (how it is drawn; see
:func:`interp_core.visualize.explanation_panels`); which models it explains is answered by
``supports(card)`` without building anything.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Sequence

import numpy as np
import torch

from interp_core.families import family_modules
from interp_core.registry import Registry
from interp_core.store.card import ModelCard

#: How an explanation can be drawn: ``heatmap`` (signed attribution over the input or spectrogram),
#: ``signed`` (the attribution alone, red positive and blue negative), ``rgba`` (the method's coloured
#: image on black), ``segments`` (segment map in its palette), ``mask`` (a mask over the input).
PANELS = ("heatmap", "signed", "rgba", "segments", "mask")


class UnsupportedModelError(ValueError):
    """The explainer does not apply to this model (its card says why)."""


@dataclass
class Explanation:
    """One explanation of one input for one target class.

    ``attribution``: ``(H, W)`` (image) or ``(F, T)`` (audio) float32 CPU tensor at input resolution; the
    map the pointing game scores. ``score``: the model's output for ``target`` on the input (the logit for
    classifiers, the prototype score for KMEx models: what the card's ``output`` activation turns into a
    probability). ``panels``: how the method is drawn, in order. Typed optional fields: ``rgba`` ``(H, W, 4)``
    float in [0, 1] (a coloured image, e.g. B-cos W(x)); ``segments`` ``(H, W)`` int with ``palette``
    ``(K, 3)`` float in [0, 1]; ``mask`` ``(H, W)`` float in [0, 1]; ``contributions`` ``(K,)`` float (e.g.
    per-feature contributions to the logit); ``waveform`` ``(S,)`` float32 (audio rebuilt from the
    explanation). ``extras``: anything else the method returns (documented by the method).
    """

    method: str
    target: int
    attribution: torch.Tensor
    score: float | None = None
    panels: tuple[str, ...] = ("heatmap",)
    rgba: np.ndarray | None = None
    segments: np.ndarray | None = None
    palette: np.ndarray | None = None
    mask: np.ndarray | None = None
    contributions: np.ndarray | None = None
    waveform: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)


#: Typed fields a method may fill from :meth:`Explainer.compute`'s rows.
TYPED_FIELDS = tuple(f.name for f in fields(Explanation) if f.name not in ("method", "target", "attribution", "score", "panels", "extras"))


@dataclass
class ExplainerOutput:
    """What :meth:`Explainer.compute` returns: ``maps`` ``(N, H, W)`` and one dict per row whose keys are
    :data:`TYPED_FIELDS` or method-specific extras (empty dicts when ``details`` was False)."""

    maps: torch.Tensor
    rows: list[dict[str, Any]]


class Explainer:
    """Base class. Subclasses set the class attributes and implement :meth:`compute` (and, to refuse
    models, :meth:`accepts`); no work in ``__init__`` beyond checking and storing parameters."""

    name: ClassVar[str] = "base"
    #: True for methods whose maps come from the model itself (B-cos, KMEx, PIQ, Q-SENN): they explain
    #: only their own family's models.
    inherent: ClassVar[bool] = False
    #: Hundreds of forward passes per map (the pointing game defaults to fewer grids, Compare to opt-in).
    costly: ClassVar[bool] = False
    #: Maps from perturbing the input (not smoothed by the pointing game, as in the B-cos paper).
    perturbation_based: ClassVar[bool] = False
    #: Input modalities the method explains.
    modalities: ClassVar[tuple[str, ...]] = ("image", "audio")
    #: How the method is drawn (see :data:`PANELS`).
    panels: ClassVar[tuple[str, ...]] = ("heatmap",)
    #: One line for menus and tables.
    summary: ClassVar[str] = ""
    #: Recipe kinds of the models the method explains (the default :meth:`accepts`).
    kinds: ClassVar[tuple[str, ...]] = ("classifier",)
    #: The module type an inherent method reads its explanation from (None: any module).
    model_type: ClassVar[type | None] = None

    def __init__(self, model: torch.nn.Module, card: ModelCard):
        if not isinstance(card, ModelCard):
            raise TypeError(f"{type(self).__name__} needs the model's card (ModelCard), got {type(card).__name__}.")
        if not self.supports(card):
            raise UnsupportedModelError(
                f"The {self.name!r} method does not explain {card.recipe!r} ({card.family} {card.kind}, {card.modality})."
            )
        if self.model_type is not None and not isinstance(model, self.model_type):
            raise UnsupportedModelError(f"The {self.name!r} method explains {self.model_type.__name__} models, "
                                        f"got {type(model).__name__}.")
        self.model = model
        self.card = card

    @classmethod
    def supports(cls, card: ModelCard) -> bool:
        """Whether this method explains the model described by ``card`` (nothing is built or run)."""
        return card.modality in cls.modalities and cls.accepts(card)

    @classmethod
    def accepts(cls, card: ModelCard) -> bool:
        """The method's own rule beyond modality; default: a model of one of :attr:`kinds`."""
        return card.kind in cls.kinds

    def compute(self, inputs: torch.Tensor, target: torch.Tensor, details: bool) -> ExplainerOutput:
        """The one hook: maps ``(N, H, W)`` for ``inputs`` ``(N, C, H, W)`` and ``target`` ``(N,)``, and,
        when ``details``, each row's typed fields and extras (skipped by metrics, which need only maps)."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        param = next(self.model.parameters(), None)
        return param.device if param is not None else torch.device("cpu")

    def on_device(self, inputs: torch.Tensor, target: torch.Tensor | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``inputs`` and ``target`` (a tensor, array or list of class indices, ``(N,)`` int64) on the model's
        device: every call of the contract goes through here, so no method has to move its inputs itself."""
        device = self.device
        return torch.as_tensor(inputs).to(device), torch.as_tensor(target, device=device, dtype=torch.long).view(-1)

    def attribute(self, inputs: torch.Tensor, target: torch.Tensor | Sequence[int]) -> torch.Tensor:
        """Attribution maps ``(N, H, W)`` (detached, on the model's device) for ``inputs`` ``(N, C, H, W)`` on
        any device and ``target`` ``(N,)``."""
        return self.compute(*self.on_device(inputs, target), details=False).maps.detach()

    @torch.no_grad()
    def scores(self, inputs: torch.Tensor, target: torch.Tensor | Sequence[int]) -> torch.Tensor:
        """The model's output ``(N,)`` for each row's target (what :attr:`Explanation.score` holds)."""
        inputs, target = self.on_device(inputs, target)
        return self.model(inputs).gather(1, target.view(-1, 1)).squeeze(1)

    def explain(self, x: torch.Tensor, targets: Sequence[int]) -> list[Explanation]:
        """Explain one input ``x`` ``(C, H, W)`` for each class in ``targets`` (batched in one call)."""
        inputs, target = self.on_device(x.unsqueeze(0).expand(len(targets), *x.shape), list(targets))
        out = self.compute(inputs, target, details=True)
        with torch.no_grad():
            logits = self.model(inputs[:1])[0]
        explanations = []
        for i, t in enumerate(targets):
            row = dict(out.rows[i]) if out.rows else {}
            typed = {k: row.pop(k) for k in TYPED_FIELDS if k in row}
            explanations.append(Explanation(self.name, int(t), out.maps[i].detach().float().cpu(), float(logits[int(t)]),
                                            tuple(self.panels), extras=row, **typed))
        return explanations


EXPLAINERS: Registry[type[Explainer]] = Registry("explanation method", lambda: family_modules("explainers"))


def register_explainer(name: str):
    """Class decorator: make an explainer available by name to the CLI, pages, benchmarks and studies."""

    def wrap(cls):
        cls.name = name
        EXPLAINERS.register(name, cls)
        return cls

    return wrap


def available_explainers() -> list[str]:
    return sorted(EXPLAINERS.names())


def explainer_class(name: str) -> type[Explainer]:
    return EXPLAINERS.get(name)


def methods_for(card: ModelCard) -> list[str]:
    """Every registered method that explains the model of ``card``."""
    return [name for name in available_explainers() if EXPLAINERS.get(name).supports(card)]


def get_explainer(name: str, model, card: ModelCard | None = None, **params) -> Explainer:
    """The explainer ``name`` for a loaded model: ``get_explainer(name, trained)`` with a
    :class:`~interp_core.store.models.TrainedModel`, or ``get_explainer(name, module, card)``."""
    cls = EXPLAINERS.get(name)
    if card is None:
        if not isinstance(getattr(model, "card", None), ModelCard):
            raise TypeError(f"get_explainer({name!r}, ...) needs a loaded model (load_model(...)) or a module and its card.")
        model, card = model.model, model.card
    return cls(model, card, **params)
