"""Gradient methods through Captum: Grad, Input×Gradient, Integrated Gradients, DeepLIFT and Grad-CAM.

Every map is ``(N, H, W)`` at input resolution with channels summed. Choices, on purpose:

* ``gradient`` is the **signed** gradient (Captum ``Saliency(abs=False)``) summed over channels. The
  pointing game keeps positive evidence only (it clamps at zero); ``|grad|`` would count evidence
  *against* the class as support for it.
* ``deeplift`` runs on a private copy of the model whose ReLUs are not in-place (Captum's DeepLIFT hooks
  ``nn.ReLU`` and fails on in-place outputs); ReLUs called functionally fall back to plain gradients.
* ``gradcam`` uses ``model.gradcam_layer`` with the ReLU of the original Grad-CAM and bilinear
  upsampling to the input size.
"""
from __future__ import annotations

import copy
import warnings

import torch
import torch.nn as nn

from interp_core.methods.base import register_explainer
from interp_core.methods.posthoc.base import PosthocExplainer, gradient_leaf, identical_row_groups
from interp_core.store.card import ModelCard


@register_explainer("gradient")
class GradientExplainer(PosthocExplainer):
    """Input gradient ``d logit_t / d x`` summed over channels (Simonyan et al.; Captum ``Saliency``).

    Signed by default; ``absolute=True`` sums ``|d logit_t / d x_c|`` instead (Simonyan's saliency
    takes the max of the absolute values over channels), for comparison.
    """

    summary = "signed input gradient (Captum Saliency)"

    def __init__(self, model: nn.Module, card: ModelCard, absolute: bool = False):
        super().__init__(model, card)
        self.absolute = absolute

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import Saliency

        return Saliency(self.model).attribute(gradient_leaf(inputs), target=target, abs=self.absolute).detach().sum(1)


@register_explainer("input_x_gradient")
class InputXGradientExplainer(PosthocExplainer):
    """``x ⊙ d logit_t / d x`` summed over channels (Captum ``InputXGradient``); sums to the logit for a
    bias-free piecewise-linear model."""

    summary = "input × gradient (Captum)"

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import InputXGradient

        return InputXGradient(self.model).attribute(gradient_leaf(inputs), target=target).detach().sum(1)


@register_explainer("integrated_gradients")
class IntegratedGradientsExplainer(PosthocExplainer):
    """Integrated Gradients from a zero (black) baseline, ``n_steps`` = 50 as in B-cos Supp. C.2, with
    Captum's Gauss-Legendre nodes and weights.

    Rows of one batch with the same input (the pointing game explains the nine classes of one grid) share
    their forward passes: each chunk of ``internal_batch_size`` scaled inputs goes through the model once
    and one backward per distinct target reads that chunk's gradients, which gives Captum's result (float
    tolerance; a test checks) at about half of its model work. Other rows go to Captum's
    ``IntegratedGradients`` as they are. ``internal_batch_size`` bounds how many scaled inputs go through
    the model at once (memory).
    """

    summary = "Integrated Gradients, 50 steps from black (Captum)"

    costly = True

    def __init__(self, model: nn.Module, card: ModelCard, n_steps: int = 50, internal_batch_size: int = 50):
        super().__init__(model, card)
        self.n_steps = n_steps
        self.internal_batch_size = internal_batch_size

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        groups = identical_row_groups(inputs)
        if all(len(g) == 1 for g in groups):
            return self._captum(inputs, target)
        out = torch.empty(inputs.shape[0], *inputs.shape[2:], dtype=inputs.dtype, device=inputs.device)
        for group in groups:
            rows = torch.as_tensor(group, device=inputs.device)
            out[rows] = self._shared(inputs[group[0]], target[rows]) if len(group) > 1 else self._captum(inputs[rows], target[rows])
        return out

    def _captum(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import IntegratedGradients

        x = gradient_leaf(inputs)
        attr = IntegratedGradients(self.model).attribute(
            x, baselines=torch.zeros_like(x), target=target, n_steps=self.n_steps,
            internal_batch_size=self.internal_batch_size,
        )
        return attr.detach().sum(1)

    def _shared(self, image: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """IG maps ``(T, H, W)`` of one input ``(C, H, W)`` for each of ``targets`` ``(T,)``: every scaled
        input is forwarded once for all targets."""
        from captum.attr._utils.approximation_methods import approximation_parameters

        step_sizes, alphas = approximation_parameters("gausslegendre")
        weights = torch.tensor(step_sizes(self.n_steps), dtype=image.dtype, device=image.device)
        alpha = torch.tensor(alphas(self.n_steps), dtype=image.dtype, device=image.device)
        distinct, position = torch.unique(targets, return_inverse=True)
        totals = torch.zeros(len(distinct), *image.shape, dtype=image.dtype, device=image.device)
        x = image.detach()
        for start in range(0, self.n_steps, self.internal_batch_size):
            a, w = alpha[start:start + self.internal_batch_size], weights[start:start + self.internal_batch_size]
            scaled = (a.view(-1, *([1] * x.dim())) * x).requires_grad_(True)  # zero baseline: α x
            logits = self.model(scaled)
            for j, t in enumerate(distinct.tolist()):
                (grad,) = torch.autograd.grad(logits[:, t], scaled, grad_outputs=w, retain_graph=j < len(distinct) - 1)
                totals[j] += grad.sum(0)
        return (totals * x).sum(1)[position]


@register_explainer("deeplift")
class DeepLiftExplainer(PosthocExplainer):
    """DeepLIFT (rescale rule, Captum ``DeepLift``) from a zero baseline, summed over channels.

    Runs on a deep copy of the model with every ``inplace`` flag off, made on first use; the caller's
    model is never modified.
    """

    summary = "DeepLIFT rescale rule from black (Captum)"

    _copy: nn.Module | None = None

    def _model_copy(self) -> nn.Module:
        if self._copy is None:
            model = copy.deepcopy(self.model).eval()
            for module in model.modules():
                if getattr(module, "inplace", False):
                    module.inplace = False
            self._copy = model
        return self._copy

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import DeepLift

        x = gradient_leaf(inputs)
        with warnings.catch_warnings():
            # Captum announces on every call that it hooks the (copied) model's activations.
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
            attr = DeepLift(self._model_copy()).attribute(x, baselines=torch.zeros_like(x), target=target)
        return attr.detach().sum(1)


@register_explainer("gradcam")
class GradCamExplainer(PosthocExplainer):
    """Grad-CAM (Selvaraju et al.; Captum ``LayerGradCam``) on ``model.gradcam_layer``: ReLU of the
    gradient-weighted channel sum, bilinearly upsampled to the input size."""

    summary = "Grad-CAM on the last convolutional block (Captum)"

    def _layer(self) -> nn.Module:
        layer = getattr(self.model, "gradcam_layer", None)
        if not isinstance(layer, nn.Module):
            raise ValueError(
                f"Grad-CAM needs to know which layer to use, but {type(self.model).__name__} has no "
                "`gradcam_layer` property (the last convolutional block). Add one to the model class."
            )
        return layer

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import LayerAttribution, LayerGradCam

        cam = LayerGradCam(self.model, self._layer()).attribute(gradient_leaf(inputs), target=target, relu_attributions=True)
        return LayerAttribution.interpolate(cam.detach(), tuple(inputs.shape[-2:]), "bilinear").sum(1)
