"""A frozen CNN together with its fitted KMEx state, as one ``nn.Module`` the model store can save.

The module's ``state_dict`` holds only the KMEx tensors (prototypes, representative-patch indices, a
fingerprint of the backbone weights), never the backbone itself: the
backbone is the store's own model of the backbone recipe. Loading a state fitted on other backbone
weights raises :class:`StaleKMExError`, so the store refits instead of pairing prototypes with the
wrong encoder.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from interp_core.data.base import Split
from interp_core.methods.kmex.encoder import (
    EncoderKMEx,
    classifier_attribution,
    propagate_attribution,
    variant_name,
    variant_start,
)
from interp_core.methods.kmex.patches import PrototypePatch, prototype_palette
from interp_core.methods.kmex.prototypes import KMEx
from interp_core.store.card import state_digest


class StaleKMExError(RuntimeError):
    """A stored KMEx state does not belong to this backbone (other weights, shapes or classes)."""


def weights_fingerprint(module: nn.Module) -> bytes:
    """SHA-256 (32 bytes) of a module's state dict: names, dtypes, shapes and values."""
    return state_digest(module.state_dict())


def check_backbone(model: nn.Module) -> None:
    """KMEx needs a :class:`~interp_core.models.cnn.BlockCNN`-like model: ``block_outputs``, ``embed`` and
    a linear ``classifier`` after global average pooling."""
    missing = [name for name in ("block_outputs", "embed", "classifier") if not hasattr(model, name)]
    if missing or not isinstance(getattr(model, "classifier", None), nn.Linear):
        raise ValueError(
            f"KMEx explains CNNs with block outputs, a pooled embedding and a linear classifier (BlockCNN); "
            f"{type(model).__name__} lacks {', '.join(missing) or 'a linear classifier'}."
        )


class KMExState(nn.Module):
    """Plain-tensor buffers of a fitted KMEx model. Their shapes depend on the fit (classes, prototypes,
    feature widths), so loading adopts the stored shapes; :meth:`KMExModel.load_state_dict` validates them."""

    def __init__(self, keys: Sequence[str]):
        super().__init__()
        for key in keys:
            self.register_buffer(key, torch.empty(0))

    def set(self, key: str, value: torch.Tensor) -> None:
        if key not in self._buffers:
            raise KeyError(f"KMEx state has no entry {key!r}.")
        self._buffers[key] = value.detach()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        for name, current in list(self._buffers.items()):
            key = prefix + name
            if key in state_dict:
                self._buffers[name] = state_dict[key].detach().clone().to(current.device)
            elif strict:
                missing_keys.append(key)
        if strict:
            unexpected_keys.extend(k for k in state_dict if k.startswith(prefix) and k[len(prefix):] not in self._buffers)


def state_keys(variants: Sequence[str]) -> list[str]:
    keys = ["backbone_fingerprint", "prototypes", "prototype_classes", "cluster_sizes", "prototype_images"]
    for v in variants:
        keys += [f"{v}_prototypes", f"{v}_sizes", f"{v}_patch_images", f"{v}_patch_boxes"]
    return keys


@dataclass
class EncoderExplanation:
    """Low-resolution result of explaining the encoder for one batch.

    ``segments`` ``(N, H', W')`` prototype indices (the explanation map), ``attribution`` ``(N, H', W')``
    (piecewise constant on the segments), ``class_scores`` ``(N, C)`` (Eq. 10), ``prediction`` ``(N,)``.
    """

    segments: torch.Tensor
    attribution: torch.Tensor
    class_scores: torch.Tensor
    prediction: torch.Tensor


class KMExModel(nn.Module):
    """A frozen CNN explained by KMEx: pooled-embedding prototypes and encoder prototypes per variant.

    ``forward(x)`` returns per-class KMEx scores ``(N, C)`` (log-similarity of the closest prototype of
    each class; the argmax is the nearest-prototype prediction). ``embed``, ``block_outputs`` and
    ``classifier`` are the backbone's, so the model can stand in for its CNN.
    """

    def __init__(self, backbone: nn.Module, n_classes: int, prototypes_per_class: int, variants: Sequence[str] = ("b4", "b34", "b234"), block_scale: str = "dim", dataset: str | None = None):
        super().__init__()
        check_backbone(backbone)
        self.backbone = backbone
        self.n_classes = n_classes
        self.prototypes_per_class = prototypes_per_class
        self.variants = tuple(variants)
        self.block_scale = block_scale
        self.dataset = dataset
        self.kmex_state = KMExState(state_keys(self.variants))
        self._cache: dict[str, object] = {}

    # -- state: only the KMEx tensors are saved and loaded
    def state_dict(self, *args, **kwargs):
        return self.kmex_state.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        result = self.kmex_state.load_state_dict(state_dict, strict=strict)
        self._cache.clear()
        self.validate()
        return result

    def _apply(self, fn, *args, **kwargs):
        self._cache.clear()
        return super()._apply(fn, *args, **kwargs)

    def buffer(self, key: str) -> torch.Tensor:
        return self.kmex_state._buffers[key]

    def validate(self) -> None:
        """Raise :class:`StaleKMExError` unless the state fits this backbone and its class layout."""
        stored = bytes(self.buffer("backbone_fingerprint").cpu().numpy().astype(np.uint8).tolist())
        if stored != weights_fingerprint(self.backbone):
            raise StaleKMExError("the stored KMEx prototypes were fitted on other backbone weights; refit them.")
        k = self.n_classes * self.prototypes_per_class
        dim = self.backbone.classifier.in_features
        if tuple(self.buffer("prototypes").shape) != (k, dim):
            raise StaleKMExError(f"stored prototypes have shape {tuple(self.buffer('prototypes').shape)}, expected {(k, dim)}.")
        for v in self.variants:
            if self.buffer(f"{v}_prototypes").shape[0] != k or tuple(self.buffer(f"{v}_patch_boxes").shape) != (k, 4):
                raise StaleKMExError(f"stored {v} prototypes do not have {k} rows.")

    # -- the backbone, so this module can stand in for its CNN
    @property
    def classifier(self) -> nn.Linear:
        return self.backbone.classifier

    def block_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.backbone.block_outputs(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.embed(x)

    @property
    def gradcam_layer(self) -> nn.Module:
        return self.backbone.gradcam_layer

    # -- fitted estimators, rebuilt from the buffers (cached until the next load or device move)
    @property
    def kmex(self) -> KMEx:
        if "kmex" not in self._cache:
            self._cache["kmex"] = KMEx.from_prototypes(self.buffer("prototypes"), self.buffer("prototype_classes"), self.n_classes)
        return self._cache["kmex"]

    def encoder(self, variant: str) -> EncoderKMEx:
        if variant not in self.variants:
            raise ValueError(f"Unknown KMEx encoder variant {variant!r}; this model has {', '.join(self.variants)}.")
        if variant not in self._cache:
            self._cache[variant] = EncoderKMEx.from_prototypes(
                variant_start(variant), self.buffer(f"{variant}_prototypes"), self.n_classes, self.block_scale
            )
        return self._cache[variant]

    @property
    def palette(self) -> np.ndarray:
        """``(K, 3)`` fixed colour of every prototype, shared by maps and representative patches."""
        return prototype_palette(self.n_classes, self.prototypes_per_class)

    def representative_patches(self, variant: str = "b234", classes: Sequence[int] | None = None, train: Split | None = None) -> list[PrototypePatch]:
        """The representative training patch of each prototype of ``variant`` (Fig. 1), for ``classes``
        (default all), with the prototype's palette colour. ``variant="kmex"``: the pooled-embedding
        prototypes, each represented by its nearest training image of its class (whole image).
        ``train``: the training split the model was fitted on (default: loaded by the model's dataset)."""
        if train is None:
            if self.dataset is None:
                raise ValueError("This KMEx model does not know its dataset, so it cannot show training patches.")
            from interp_core.data import load_split

            train = load_split(self.dataset, "train")
        if variant == "kmex":
            images = self.buffer("prototype_images").cpu()
            height, width = train.info.input_shape[-2:]
            boxes = torch.tensor([[0, 0, height, width]]).expand(len(images), 4)
        else:
            self.encoder(variant)  # validates the name
            images, boxes = self.buffer(f"{variant}_patch_images").cpu(), self.buffer(f"{variant}_patch_boxes").cpu()
        palette = self.palette
        wanted = range(self.n_classes) if classes is None else classes
        out = []
        for c in wanted:
            for k in range(c * self.prototypes_per_class, (c + 1) * self.prototypes_per_class):
                box = tuple(int(v) for v in boxes[k])
                image = train.inputs([int(images[k])])[0]
                out.append(PrototypePatch(k, c, int(images[k]), box, tuple(float(v) for v in palette[k]), PrototypePatch.crop(image, box)))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.kmex.predict_scores(self.backbone.embed(x))

    # -- explaining the encoder
    @torch.no_grad()
    def explain_encoder(
        self,
        x: torch.Tensor | None,
        variant: str = "b234",
        target: torch.Tensor | None = None,
        *,
        scope: str = "all",
        outputs: Sequence[torch.Tensor] | None = None,
    ) -> EncoderExplanation:
        """Explanation map, gradient-free attribution and Eq. 10 prediction for inputs ``x`` ``(N, C, H, W)``.

        The attribution of class ``target`` ``(N,)`` (default: the variant's prediction) starts as Eq. 11
        at the encoder output and is carried to the variant's resolution through the explanation maps
        of every depth from the last block up to the variant's first block (b4, then b34, then b234).
        ``scope="all"`` assigns every location to the nearest of all prototypes (Eq. 9, the paper);
        ``scope="target"`` only to the target class's prototypes (e.g. to show one class's concepts).
        ``outputs``: precomputed ``block_outputs(x)`` (then ``x`` may be None). Gradient-free: no graph is kept.
        """
        if scope not in ("all", "target"):
            raise ValueError(f"scope must be 'all' or 'target', got {scope!r}.")
        outputs = self.backbone.block_outputs(x) if outputs is None else outputs
        n_blocks = len(outputs)
        depths = range(n_blocks, variant_start(variant) - 1, -1)
        features = {b: self.encoder(variant_name(b, n_blocks)).features(outputs) for b in depths}
        final = self.encoder(variant)
        global_segments = final.segment(features[depths[-1]])
        class_scores = final.class_scores(global_segments)
        prediction = class_scores.argmax(1)
        target = prediction if target is None else target.to(prediction.device).long()
        restrict = target if scope == "target" else None
        maps = []
        for b in depths:
            if b == depths[-1] and restrict is None:
                maps.append(global_segments)
            else:
                maps.append(self.encoder(variant_name(b, n_blocks)).segment(features[b], restrict))
        att = classifier_attribution(outputs[-1], self.backbone.classifier.weight, target)
        return EncoderExplanation(maps[-1], propagate_attribution(att, maps, final.n_prototypes), class_scores, prediction)
