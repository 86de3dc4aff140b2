"""Named architecture builders: ``build_model("cnn", in_channels=3, num_classes=24)`` (as torchvision/timm)."""
from __future__ import annotations

from typing import Callable

import torch.nn as nn

from interp_core.registry import Registry

ARCHITECTURES: Registry[Callable[..., nn.Module]] = Registry("architecture", ("interp_core.models.cnn", "interp_core.models.bcos"))


def register_architecture(name: str):
    return ARCHITECTURES.register(name)


def build_model(arch: str, *, in_channels: int, num_classes: int, **kwargs) -> nn.Module:
    return ARCHITECTURES.get(arch)(in_channels=in_channels, num_classes=num_classes, **kwargs)
