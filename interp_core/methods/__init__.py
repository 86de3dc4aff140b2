"""Explanation methods. Every method, inherent or post-hoc, follows one contract (see ``base``); each
family is a package here (see :mod:`interp_core.families`).

Importing this package is light: a family's torch-free modules (its view, its recipes) load without
torch; the contract's names are loaded from ``base`` on first use.
"""
import importlib

_NAMES = ("EXPLAINERS", "Explainer", "ExplainerOutput", "Explanation", "UnsupportedModelError", "available_explainers",
          "explainer_class", "get_explainer", "methods_for", "register_explainer")
__all__ = list(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module("interp_core.methods.base"), name)
    raise AttributeError(f"module 'interp_core.methods' has no attribute {name!r}")
