"""KMEx encoder explanations through the common explainer contract (``kmex-b4``, ``kmex-b234``).

They explain KMEx models (recipe kind ``kmex``: a frozen CNN with its fitted prototypes), nothing else:
the prototypes come from the model itself, never from a guess about which fitted state belongs to a CNN.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.methods.base import Explainer, ExplainerOutput, register_explainer
from interp_core.methods.kmex.model import KMExModel
from interp_core.store.card import ModelCard


class KMExEncoderExplainer(Explainer):
    """Gradient-free attribution (Eq. 11 carried up by segment-wise averaging) on the explanation map.

    ``attribute`` returns ``(N, H, W)`` at input resolution (``(N, F, T)`` over a spectrogram: the prototypes
    are then taken over time-frequency positions), piecewise constant on the segments; it is drawn as a heat
    map with the segment map beside it. With details: ``segments`` ``(H, W)`` prototype indices
    (nearest upsampling of the explanation map) and ``palette`` ``(K, 3)``; extras ``prototypes`` (the
    prototypes in the map by area: index, class, area fraction, colour), ``prediction`` and
    ``class_scores`` (Eq. 10) and ``variant``. ``scope="all"`` (default, Eq. 9) or ``"target"`` (only the
    target class's prototypes).
    """

    inherent = True
    modalities = ("image", "audio")
    panels = ("heatmap", "segments")
    variant = "b4"
    kinds = ("kmex",)
    model_type = KMExModel

    def __init__(self, model: nn.Module, card: ModelCard, scope: str = "all"):
        super().__init__(model, card)
        if scope not in ("all", "target"):
            raise ValueError(f"scope must be 'all' or 'target', got {scope!r}.")
        self.scope = scope

    @torch.no_grad()
    def compute(self, inputs: torch.Tensor, target: torch.Tensor, details: bool) -> ExplainerOutput:
        kmex: KMExModel = self.model
        outputs = kmex.block_outputs(inputs)
        result = kmex.explain_encoder(None, self.variant, target, scope=self.scope, outputs=outputs)
        size = inputs.shape[-2:]
        attribution = F.interpolate(result.attribution.unsqueeze(1), size=size, mode="nearest").squeeze(1)
        if not details:
            return ExplainerOutput(attribution, [{} for _ in range(inputs.shape[0])])
        segments = F.interpolate(result.segments.unsqueeze(1).float(), size=size, mode="nearest").squeeze(1).long().cpu().numpy()
        palette = kmex.palette
        rows: list[dict[str, Any]] = []
        for i in range(inputs.shape[0]):
            ids, counts = np.unique(segments[i], return_counts=True)
            order = np.argsort(-counts)
            prototypes = [
                {"index": int(ids[j]), "class": int(ids[j]) // kmex.prototypes_per_class, "area": float(counts[j] / segments[i].size),
                 "color": tuple(float(c) for c in palette[ids[j]])}
                for j in order
            ]
            rows.append({
                "segments": segments[i], "palette": palette, "prototypes": prototypes,
                "prediction": int(result.prediction[i]), "class_scores": result.class_scores[i].cpu().numpy(), "variant": self.variant,
            })
        return ExplainerOutput(attribution, rows)


@register_explainer("kmex-b4")
class KMExB4(KMExEncoderExplainer):
    """KMEx encoder explanation from the last block only (the paper's B4)."""

    variant = "b4"
    summary = "KMEx B4: gradient-free attribution on the last block's prototype map"


@register_explainer("kmex-b234")
class KMExB234(KMExEncoderExplainer):
    """KMEx encoder explanation from the last three blocks (the paper's B234)."""

    variant = "b234"
    summary = "KMEx B234: gradient-free attribution on blocks 2-4's prototype map"
