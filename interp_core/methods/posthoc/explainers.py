"""Post-hoc attribution baselines of the B-cos comparison (B-cos Sec. 4, Supp. C.2), one contract for all.

The family's explainer module (:func:`interp_core.families.family_modules`): importing it registers every
method, in this order. Grad, Input×Gradient, Integrated Gradients, DeepLIFT and Grad-CAM come from Captum
(:mod:`~interp_core.methods.posthoc.gradients`), LIME from Captum on our own superpixels
(:mod:`~interp_core.methods.posthoc.lime`); RISE is written here (:mod:`~interp_core.methods.posthoc.rise`,
Captum has none). Every explainer returns ``(N, H, W)`` maps at input resolution with channels summed, for
any ``nn.Module`` that maps ``(N, C, H, W)`` to logits ``(N, K)`` (B-cos networks encode their input
internally, so they are explained on the plain 3-channel image like any other model). Each module's
docstring lists the choices it makes on purpose.

Two class attributes of the contract tell benchmarks about a method without naming it:
``perturbation_based`` (LIME, RISE; the pointing game does not smooth their maps, as in the paper) and
``costly`` (IG, LIME, RISE: hundreds of forward passes per input, so the pointing game defaults to fewer
grids). Every method here explains any classifier (recipe kind ``classifier``), image or audio.
"""
from __future__ import annotations

from interp_core.methods.posthoc.base import PerturbationExplainer, PosthocExplainer
from interp_core.methods.posthoc.gradients import (
    DeepLiftExplainer,
    GradCamExplainer,
    GradientExplainer,
    InputXGradientExplainer,
    IntegratedGradientsExplainer,
)
from interp_core.methods.posthoc.lime import LimeExplainer, segment_means, superpixels
from interp_core.methods.posthoc.rise import RiseExplainer, rise_masks

__all__ = [
    "DeepLiftExplainer", "GradCamExplainer", "GradientExplainer", "InputXGradientExplainer", "IntegratedGradientsExplainer",
    "LimeExplainer", "PerturbationExplainer", "PosthocExplainer", "RiseExplainer", "rise_masks", "segment_means", "superpixels",
]
