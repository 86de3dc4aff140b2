"""Registry of named architecture builders: ``build_model("cnn", in_channels=3, num_classes=24)``."""
from __future__ import annotations

import importlib
from typing import Callable

import torch.nn as nn

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {}
# Modules that register architectures when imported; imported lazily on first lookup.
_PROVIDERS = ("interp_core.models.cnn", "interp_core.models.bcos")


def register_architecture(name: str):
    def wrap(fn: Callable[..., nn.Module]):
        ARCHITECTURES[name] = fn
        return fn

    return wrap


def _load_providers() -> None:
    for module in _PROVIDERS:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def build_model(arch: str, *, in_channels: int, num_classes: int, **kwargs) -> nn.Module:
    if arch not in ARCHITECTURES:
        _load_providers()
    if arch not in ARCHITECTURES:
        raise KeyError(f"Unknown architecture {arch!r}. Available: {', '.join(sorted(ARCHITECTURES))}.")
    return ARCHITECTURES[arch](in_channels=in_channels, num_classes=num_classes, **kwargs)
