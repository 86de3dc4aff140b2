"""The B-cos classifier (:class:`BcosNetwork`) and the plain B-cos CNN of the CIFAR-10 experiments (v1),
registered as ``bcos-cnn``."""
from __future__ import annotations

import contextlib

import torch
import torch.nn as nn

from interp_core.models.bcos.augment import AUGMENTATIONS
from interp_core.models.bcos.layers import (
    AddInverse,
    BcosConv2d,
    BcosLinear,
    LogitLayer,
    UncenteredBatchNorm2d,
    explanation_mode,
)
from interp_core.models.registry import register_architecture


class BcosNetwork(nn.Module):
    """A B-cos classifier: ``encode`` (AddInverse) -> ``body`` (B-cos layers, no bias) -> ``logit_layer``.

    ``forward(x)``: images ``(N, C, H, W)`` in [0, 1] -> logits ``(N, num_classes)``.
    ``forward_encoded(x6)``: the same from the encoded ``(N, 2C, H, W)`` input, the tensor explanations
    differentiate against. In explanation mode ``logits - logit_layer.bias`` equals
    ``sum(x6 * d logits / d x6)`` exactly (B-cos Eqs. 13 and 15).
    """

    def __init__(self, body: nn.Module, num_classes: int, *, logit_bias: float | None = None, temperature: float = 1.0,
                 augment: nn.Module | None = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        # Training-time augmentation of the input images (parameter-free; the identity outside training).
        self.augment = augment if augment is not None else nn.Identity()
        self.encode = AddInverse()
        self.body = body
        self.logit_layer = LogitLayer(num_classes, logit_bias, temperature)

    def forward_encoded(self, x6: torch.Tensor) -> torch.Tensor:
        return self.logit_layer(self.body(x6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_encoded(self.encode(self.augment(x)))

    def explanation_mode(self) -> contextlib.AbstractContextManager:
        """``with model.explanation_mode(): ...`` -- see :func:`explanation_mode`."""
        return explanation_mode(self)

    @property
    def gradcam_layer(self) -> nn.Module:
        """The last spatial (kernel > 1) B-cos convolution: the layer Grad-CAM explains, as for a standard CNN."""
        spatial = [m for m in self.body.modules() if isinstance(m, BcosConv2d) and max(m.kernel_size) > 1]
        if not spatial:
            raise ValueError("This B-cos network has no spatial convolution for Grad-CAM.")
        return spatial[-1]

    def neuron_layers(self) -> list[str]:
        """Names (as in ``named_modules``) of the B-cos layers whose output channels are neurons."""
        return [name for name, m in self.named_modules() if isinstance(m, (BcosConv2d, BcosLinear))]


# ---------------------------------------------------------------- the plain B-cos CNN (v1 CIFAR-10)

#: v1's CIFAR-10 network (B-cos Supp. C.1.1): 3x3 kernels, 1x1 classifier, strides at layers 3 and 6.
CIFAR_WIDTHS = (64, 64, 128, 128, 128, 256, 256, 256)
CIFAR_STRIDES = (1, 1, 2, 1, 1, 2, 1, 1)


def paper_gain(b: float) -> float:
    """Per-layer gain of the CIFAR-10 experiments, ``log10 γ = 1.5 B - 1.75`` (B-cos Supp. C.1.1)."""
    return 10 ** (1.5 * b - 1.75)


@register_architecture("bcos-cnn")
def build_bcos_cnn(
    *,
    in_channels: int,
    num_classes: int,
    widths: tuple[int, ...] = CIFAR_WIDTHS,
    strides: tuple[int, ...] = CIFAR_STRIDES,
    b: float = 2.0,
    max_out: int = 1,
    gain: float | None = None,
    norm: str = "none",
    temperature: float = 1.0,
    logit_bias: float | None = None,
    augment: str = "none",
) -> BcosNetwork:
    """The plain B-cos CNN of the CIFAR-10 experiments: ``len(widths)`` 3x3 B-cos convs and a 1x1 B-cos
    conv to the classes, global average pooling of the spatial logits; no ReLU, no normalisation.

    ``gain`` None uses :func:`paper_gain` (B) without normalisation, 1 with ``norm="uncentered-bn"``
    (v2: a :class:`UncenteredBatchNorm2d` after every 3x3 layer); ``temperature`` T divides the pooled output before the
    logit bias. A CPU-sized 64x64 variant uses a strided first layer and smaller ``widths``. ``augment``
    ``"shift-flip"`` adds the paper's training-time shifts and flips (:class:`RandomShiftFlip`).
    """
    if len(widths) != len(strides):
        raise ValueError(f"widths ({len(widths)}) and strides ({len(strides)}) must have the same length.")
    if norm not in ("none", "uncentered-bn"):
        raise ValueError(f"Unknown norm {norm!r}; expected 'none' (v1) or 'uncentered-bn' (v2).")
    if augment not in AUGMENTATIONS:
        raise ValueError(f"Unknown augment {augment!r}; expected one of {sorted(AUGMENTATIONS)}.")
    if gain is None:
        gain = paper_gain(b) if norm == "none" else 1.0
    layers: list[nn.Module] = []
    cin = 2 * in_channels
    for width, stride in zip(widths, strides):
        layers.append(BcosConv2d(cin, width, 3, stride, 1, b=b, max_out=max_out, gain=gain))
        if norm == "uncentered-bn":
            layers.append(UncenteredBatchNorm2d(width))
        cin = width
    layers += [BcosConv2d(cin, num_classes, 1, b=b, max_out=max_out, gain=gain), nn.AdaptiveAvgPool2d(1), nn.Flatten(1)]
    augmentation = AUGMENTATIONS[augment]
    return BcosNetwork(nn.Sequential(*layers), num_classes, logit_bias=logit_bias, temperature=temperature,
                       augment=augmentation() if augmentation else None)
