"""Explanation methods. Every method, inherent or post-hoc, follows one contract (see ``base``)."""
from interp_core.methods.base import (
    EXPLAINERS,
    Explainer,
    Explanation,
    available_explainers,
    get_explainer,
    register_explainer,
)

__all__ = ["EXPLAINERS", "available_explainers", "Explainer", "Explanation", "get_explainer", "register_explainer"]
