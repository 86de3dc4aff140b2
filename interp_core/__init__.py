"""interp_core: train and inspect inherently interpretable image and audio classifiers.

Importing the package is cheap: torch and every heavy library load only when a submodule
that needs them is used (``interp_core.data``, ``interp_core.store``, ...).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"  # the one place it is written: pyproject.toml reads it for the wheel

_SUBMODULES = {"data", "models", "methods", "metrics", "store", "training", "cli", "device", "inputs", "paths"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'interp_core' has no attribute {name!r}")
