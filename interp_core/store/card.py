"""The model card that travels with every loaded model (torch-free).

Explainers are built from a model and its card and decide from the card alone whether they apply
(``Explainer.supports(card)``); every result cache keys on ``card.fingerprint``, the SHA-256 prefix of
the exact weights, so retrained weights never reuse results of older ones.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class ModelCard:
    """What a model is: ``recipe`` name, owning ``family``, recipe ``kind``, ``dataset``, ``modality``
    (``"image"`` inputs ``(C, H, W)`` or ``"audio"`` spectrograms ``(1, F, T)``), ``output`` activation
    (``"softmax"`` or ``"sigmoid"``), ``class_names``, ``input_shape``, the weights ``fingerprint`` (12 hex)
    and ``trained`` (when its weights were made, as recorded in its checkpoint; "" if unknown)."""

    recipe: str
    family: str
    kind: str
    dataset: str
    modality: str
    output: str
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    fingerprint: str
    trained: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def probabilities(self, logits):
        """Class probabilities ``(N, C)`` from the model's outputs ``(N, C)`` under its ``output`` activation."""
        return output_probabilities(logits, self.output)

    def with_fingerprint(self, fingerprint: str) -> "ModelCard":
        return replace(self, fingerprint=fingerprint)

    @classmethod
    def for_module(cls, module, *, family: str, kind: str = "classifier", name: str = "", dataset: str = "",
                   modality: str = "image", output: str = "softmax", class_names: tuple[str, ...] | None = None,
                   num_classes: int | None = None, input_shape: tuple[int, ...] = ()) -> "ModelCard":
        """A card for a model that has no recipe (your own module, a test model), fingerprinted from its
        current weights. Say what it is: ``family`` and ``kind`` decide which explainers accept it."""
        if class_names is None:
            if num_classes is None:
                raise ValueError("Give class_names or num_classes.")
            class_names = tuple(str(c) for c in range(num_classes))
        return cls(name or type(module).__name__, family, kind, dataset, modality, output, tuple(class_names),
                   tuple(input_shape), state_fingerprint(module.state_dict()))

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def state_digest(state: dict[str, Any]) -> bytes:
    """SHA-256 (32 bytes) of a state dict: names, dtypes, shapes and values."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}".encode())
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.digest()


def state_fingerprint(state: dict[str, Any]) -> str:
    """12-hex fingerprint of a state dict, for models that have no checkpoint file."""
    return state_digest(state).hex()[:12]


#: The output activations a card can name.
OUTPUTS = ("softmax", "sigmoid")


def output_probabilities(logits, output: str):
    """Class probabilities ``(N, C)`` from outputs ``(N, C)``: ``sigmoid`` per class for BCE-trained models
    (B-cos), ``softmax`` otherwise. The one place logits become probabilities."""
    import torch

    if output not in OUTPUTS:
        raise ValueError(f"Unknown output activation {output!r}; expected 'sigmoid' or 'softmax'.")
    return torch.sigmoid(logits) if output == "sigmoid" else torch.softmax(logits, dim=-1)
