"""Explanation methods. Every method, inherent or post-hoc, follows one contract (see ``base``); each
family is a package here (see :mod:`interp_core.families`)."""
from interp_core.methods.base import (
    EXPLAINERS,
    Explainer,
    ExplainerOutput,
    Explanation,
    UnsupportedModelError,
    available_explainers,
    explainer_class,
    get_explainer,
    methods_for,
    register_explainer,
)

__all__ = ["EXPLAINERS", "Explainer", "ExplainerOutput", "Explanation", "UnsupportedModelError", "available_explainers",
           "explainer_class", "get_explainer", "methods_for", "register_explainer"]
