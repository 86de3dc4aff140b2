"""KMEx encoder explanations through the common explainer contract (``kmex-b4``, ``kmex-b234``).

The explainer takes the CNN itself (or a :class:`KMExModel`). Prototypes come from the fitted KMEx
recipe of that backbone when its weights match (fitted and cached by the store on first use), and are
otherwise fitted lazily on the training set of a KMEx recipe for the same dataset shape and kept in
memory for the process.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.methods.base import Explainer, register_explainer
from interp_core.methods.kmex.model import KMExModel, check_backbone, weights_fingerprint
from interp_core.methods.kmex.patches import segments_to_rgba

log = logging.getLogger("interp_core.kmex")

_FITTED: dict[tuple[bytes, str], KMExModel] = {}


def _in_channels(model: nn.Module) -> int | None:
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return conv.in_channels if conv is not None else None


def kmex_for_backbone(model: nn.Module, dataset: str | None = None) -> KMExModel:
    """The fitted :class:`KMExModel` for a CNN.

    In order: the model itself if it is one; the store's KMEx recipe whose backbone has exactly these
    weights (loaded, or fitted and cached on first use); else a fit kept in memory, on the training set
    of ``dataset`` (default: the dataset of the first KMEx recipe matching the CNN's input channels and
    class count) with that recipe's hyper-parameters.
    """
    if isinstance(model, KMExModel):
        return model
    check_backbone(model)
    from interp_core.data import dataset_info
    from interp_core.store import ModelNotTrainedError, all_recipes, load_model
    from interp_core.store.kmex_recipes import KMExRecipe, fit_recipe_on

    device = next(model.parameters()).device
    key = (weights_fingerprint(model), str(device))
    if key in _FITTED:
        return _FITTED[key]
    candidates = []
    for recipe in all_recipes().values():
        if recipe.kind != "kmex" or (dataset is not None and recipe.dataset != dataset):
            continue
        info = dataset_info(recipe.dataset)
        if info.num_classes == model.classifier.out_features and info.input_shape[0] == _in_channels(model):
            candidates.append(recipe)
    for recipe in candidates:
        try:
            backbone = load_model(recipe.backbone, device, train_if_missing=False)
        except ModelNotTrainedError:
            continue
        if weights_fingerprint(backbone.model) == key[0]:
            _FITTED[key] = load_model(recipe.name, device).model
            return _FITTED[key]
    if candidates:
        recipe = candidates[0]
    elif dataset is not None:
        recipe = KMExRecipe(name=f"kmex-{dataset}-adhoc", dataset=dataset, backbone="")
    else:
        raise ValueError(
            f"No KMEx recipe fits a CNN with {model.classifier.out_features} classes and {_in_channels(model)} input "
            "channels; name its training dataset (dataset=...)."
        )
    log.info("fitting KMEx (%s hyper-parameters) on a CNN that matches no stored backbone", recipe.name)
    _FITTED[key] = fit_recipe_on(recipe, model)
    return _FITTED[key]


class KMExEncoderExplainer(Explainer):
    """Gradient-free attribution (Eq. 11 carried up by segment-wise averaging) on the explanation map.

    ``attribute`` returns ``(N, H, W)`` at input resolution, piecewise constant on the segments.
    ``extras``: ``segments`` ``(H, W)`` prototype indices (nearest upsampling of the explanation map),
    ``rgba`` (segments in the prototype palette), ``palette`` ``(K, 3)``, ``prototypes`` (the prototypes
    in the map by area: index, class, area fraction, colour), ``prediction`` and ``class_scores``
    (Eq. 10). ``scope="all"`` (default, Eq. 9) or ``"target"`` (only the target class's prototypes).
    ``dataset``: the CNN's training dataset, only needed for a CNN that no KMEx recipe knows.
    """

    inherent = True
    variant = "b4"

    def __init__(self, model: nn.Module, scope: str = "all", dataset: str | None = None):
        if not isinstance(model, KMExModel):
            check_backbone(model)  # refuse other model families here, so that ``supports`` can tell
        super().__init__(model)
        if scope not in ("all", "target"):
            raise ValueError(f"scope must be 'all' or 'target', got {scope!r}.")
        self.scope = scope
        self.dataset = dataset
        self._last: tuple | None = None
        self._kmex: KMExModel | None = None

    @property
    def kmex_model(self) -> KMExModel:
        """Resolved on first use and kept: fingerprinting the weights on every call would cost more
        than the explanation itself."""
        if self._kmex is None:
            self._kmex = kmex_for_backbone(self.model, self.dataset)
        return self._kmex

    @torch.no_grad()
    def _explain(self, inputs: torch.Tensor, target: torch.Tensor):
        kmex = self.kmex_model
        outputs = self.model.block_outputs(inputs)
        result = kmex.explain_encoder(None, self.variant, target, scope=self.scope, outputs=outputs)
        size = inputs.shape[-2:]
        segments = F.interpolate(result.segments.unsqueeze(1).float(), size=size, mode="nearest").squeeze(1).long()
        attribution = F.interpolate(result.attribution.unsqueeze(1), size=size, mode="nearest").squeeze(1)
        self._last = (inputs, target, segments, result)
        return attribution

    def attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self._explain(inputs, target)

    def extras(self, inputs: torch.Tensor, target: torch.Tensor, maps: torch.Tensor) -> list[dict[str, Any]]:
        if self._last is None or self._last[0] is not inputs or not torch.equal(self._last[1], target):
            self._explain(inputs, target)
        _, _, segments, result = self._last
        kmex = self.kmex_model
        palette = kmex.palette
        out = []
        for i in range(inputs.shape[0]):
            seg = segments[i].cpu().numpy()
            ids, counts = np.unique(seg, return_counts=True)
            order = np.argsort(-counts)
            prototypes = [
                {"index": int(ids[j]), "class": int(ids[j]) // kmex.per_class, "area": float(counts[j] / seg.size), "color": tuple(float(c) for c in palette[ids[j]])}
                for j in order
            ]
            out.append({
                "segments": seg,
                "rgba": segments_to_rgba(seg, palette),
                "palette": palette,
                "prototypes": prototypes,
                "prediction": int(result.prediction[i]),
                "class_scores": result.class_scores[i].cpu().numpy(),
                "variant": self.variant,
            })
        return out


@register_explainer("kmex-b4")
class KMExB4(KMExEncoderExplainer):
    """KMEx encoder explanation from the last block only (the paper's B4)."""

    variant = "b4"


@register_explainer("kmex-b234")
class KMExB234(KMExEncoderExplainer):
    """KMEx encoder explanation from the last three blocks (the paper's B234)."""

    variant = "b234"
