"""Model-inherent explanations of B-cos networks (Böhle et al., CVPR 2022).

In explanation mode a B-cos network is exactly the dynamic linear map ``f(x) = W(x) x`` (B-cos Eq. 13),
so one backward pass to the *encoded* input ``x6 = [x, 1 - x]`` gives the dynamic weights ``W(x)`` of a
logit (or of any intermediate neuron) and the contribution map ``sum_c x6 ⊙ W(x)`` (B-cos Eq. 15), which
sums exactly to the explained activation minus the logit bias.

A B-cos network in eval mode is also positively 1-homogeneous, so plain Input x Gradient has the same
total (Euler's theorem) but a different map: only explanation mode makes the gradient the dynamic
weight ``W(x)`` (method-notes §1.8, v2 issue #6).

Everything goes through :class:`BcosExplainer` (registered as ``"bcos"``):

* ``attribute(inputs, target)`` -> contribution maps ``(N, H, W)``; ``explain(x, targets)`` adds
  ``rgba`` (the paper's coloured weight map) and the extra ``weights`` (raw ``W(x)``, ``(2C, H, W)``);
  it is drawn as the coloured map and the contribution map (red positive, blue negative).
* ``dynamic_weights`` -> ``(x6, W(x))`` for logits; ``neuron_weights`` for any intermediate neuron.
* ``explain_neuron``, ``delta_explanation`` (B-cos Fig. 9) and ``top_activating`` (Figs. 8 and 10).

Several classes of one input are explained in one batched forward and one backward pass over the
replicated input (rows are independent in eval mode). Measured on CPU this beats one forward pass plus
a vectorised backward (``autograd.grad(is_grads_batched=True)``, whose vmap loops over convolution
backward calls, or ``torch.func.vjp`` + ``vmap``). Gradients are taken with ``torch.autograd.grad`` on a
fresh leaf, so nothing accumulates in any ``.grad`` between calls (method-notes §1.8, v2 issue #11).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.methods.base import Explainer, ExplainerOutput, Explanation, register_explainer
from interp_core.models.bcos import BcosNetwork, explanation_mode
from interp_core.store.card import ModelCard


class _StopForward(Exception):
    """Raised by a forward hook to end the forward pass once the explained layer has run."""

    def __init__(self, output: torch.Tensor):
        self.output = output


def weight_map_rgba(x6: torch.Tensor, weights: torch.Tensor, smooth: int = 15, alpha_percentile: float = 99.5) -> np.ndarray:
    """The paper's coloured visualisation of dynamic weights (B-cos Sec. 4 "Visualisation details").

    ``x6``, ``weights``: ``(2C, H, W)`` or ``(N, 2C, H, W)`` (encoded input and ``W(x)``). Returns RGBA
    float32 in [0, 1], ``(H, W, 4)`` or ``(N, H, W, 4)``. As v2's ``gradient_to_image``: per pixel the
    weights are divided by their max-abs entry and clamped at 0; colour channel c is ``w_c / (w_c +
    w_{c+C})``; alpha is the L2 norm of the weights, ~0 where the contribution is negative, smoothed by a
    ``smooth`` x ``smooth`` average pool (stride 1, zero padding counted), divided by its
    ``alpha_percentile``-th percentile and clipped to [0, 1]. One-channel inputs give grey colours.
    """
    single = weights.dim() == 3
    if single:
        x6, weights = x6.unsqueeze(0), weights.unsqueeze(0)
    if smooth > 1 and smooth % 2 == 0:
        raise ValueError(f"smooth must be odd (the pooled map keeps the image size), got {smooth}.")
    x6, weights = x6.detach().float().cpu(), weights.detach().float().cpu()
    n, c2, h, w = weights.shape
    c = c2 // 2
    contributions = (x6 * weights).sum(1)
    normed = (weights / (weights.abs().amax(1, keepdim=True) + 1e-12)).clamp_min(0)
    colour = normed[:, :c] / (normed[:, :c] + normed[:, c:] + 1e-12)
    if c == 1:
        colour = colour.expand(n, 3, h, w)
    alpha = weights.norm(dim=1)
    alpha = torch.where(contributions < 0, torch.full_like(alpha, 1e-12), alpha)
    if smooth > 1:
        alpha = F.avg_pool2d(alpha.unsqueeze(1), smooth, stride=1, padding=(smooth - 1) // 2).squeeze(1)
    limit = torch.quantile(alpha.flatten(1), alpha_percentile / 100, dim=1).clamp_min(1e-12).view(n, 1, 1)
    alpha = (alpha / limit).clamp(0, 1)
    rgba = torch.cat([colour, alpha.unsqueeze(1)], 1).permute(0, 2, 3, 1).numpy()
    return rgba[0] if single else rgba


class _EvalMode:
    """Temporarily put a model in eval mode: batch statistics would couple the rows of an explanation
    batch and update running statistics."""

    def __init__(self, model: nn.Module):
        self.model = model

    def __enter__(self) -> nn.Module:
        self.was_training = self.model.training
        self.model.eval()
        return self.model

    def __exit__(self, *exc) -> None:
        self.model.train(self.was_training)


@register_explainer("bcos")
class BcosExplainer(Explainer):
    """Explanations of a :class:`~interp_core.models.bcos.BcosNetwork` through its dynamic linear map.

    ``smooth`` and ``alpha_percentile`` configure the coloured weight map (v2 defaults 15 and 99.5).
    Explanations always run with the model in eval mode (restored afterwards).
    """

    inherent = True
    panels = ("rgba", "signed")
    summary = "B-cos contribution map x·W(x) (Eq. 15) and coloured weight map W(x)"
    model_type = BcosNetwork

    def __init__(self, model: nn.Module, card: ModelCard, *, smooth: int = 15, alpha_percentile: float = 99.5):
        super().__init__(model, card)
        self.smooth = smooth
        self.alpha_percentile = alpha_percentile

    #: B-cos classifiers trained from scratch and B-cosified ones (B-cosification, Arya et al. 2024).
    kinds = ("classifier", "bcosified")

    @classmethod
    def accepts(cls, card: ModelCard) -> bool:
        return card.family == "bcos" and card.kind in cls.kinds

    # ------------------------------------------------------------ core: W(x) by one backward pass

    @property
    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _encoded_leaf(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model.encode(inputs.to(self._device)).detach().requires_grad_(True)

    @staticmethod
    def _weights_of(x6: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
        """``d selected_i / d x6_i`` for every row: rows are independent (eval mode), so one backward pass
        of the sum gives all of them."""
        (grads,) = torch.autograd.grad(selected.sum(), x6)
        return grads

    def dynamic_weights(self, inputs: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoded inputs ``x6`` and dynamic weights ``W(x)`` of the target logits, both ``(N, 2C, H, W)``.

        ``inputs``: images ``(N, C, H, W)`` in [0, 1]; ``target``: ``(N,)`` class indices. Several classes of
        one image are explained by replicating it (as ``Explainer.explain`` does): one batched forward
        and one backward pass for all rows.
        """
        target = torch.as_tensor(target, device=self._device).view(-1)
        if target.shape[0] != inputs.shape[0]:
            raise ValueError(f"target has {target.shape[0]} entries for {inputs.shape[0]} inputs.")
        if bool(((target < 0) | (target >= self.model.num_classes)).any()):
            raise ValueError(f"target classes must lie in [0, {self.model.num_classes}), got {target.tolist()}.")
        with _EvalMode(self.model), explanation_mode(self.model), torch.enable_grad():
            x6 = self._encoded_leaf(inputs)
            logits = self.model.forward_encoded(x6)
            weights = self._weights_of(x6, logits.gather(1, target.view(-1, 1)).squeeze(1))
        return x6.detach(), weights

    def compute(self, inputs: torch.Tensor, target: torch.Tensor, details: bool) -> ExplainerOutput:
        """Contribution maps ``sum_c x6 ⊙ W(x)`` (B-cos Eq. 15), ``(N, H, W)``, each summing over pixels to
        the target logit minus the logit bias; with ``details``, per row ``rgba`` ``(H, W, 4)`` (coloured
        weight map) and ``weights`` ``(2C, H, W)`` (raw ``W(x)``)."""
        x6, weights = self.dynamic_weights(inputs, target)
        maps = (x6 * weights).sum(1)
        return ExplainerOutput(maps, self._visual_rows(x6, weights) if details else [{} for _ in range(maps.shape[0])])

    def _visual_rows(self, x6: torch.Tensor, weights: torch.Tensor) -> list[dict[str, Any]]:
        rgba = weight_map_rgba(x6, weights, self.smooth, self.alpha_percentile)
        return [{"rgba": rgba[i], "weights": weights[i].detach().float().cpu().numpy()} for i in range(weights.shape[0])]

    # ------------------------------------------------------------ intermediate neurons

    def _layer(self, layer: str) -> nn.Module:
        modules = dict(self.model.named_modules())
        if layer not in modules or layer == "":
            raise ValueError(f"Unknown layer {layer!r}. B-cos layers of this model: {', '.join(self.model.neuron_layers())}.")
        return modules[layer]

    def _layer_output(self, x6: torch.Tensor, layer: str) -> torch.Tensor:
        """Output of ``layer`` for the encoded input (the rest of the network is not run)."""
        def hook(_module, _inputs, output):
            raise _StopForward(output)

        handle = self._layer(layer).register_forward_hook(hook)
        try:
            self.model.forward_encoded(x6)
        except _StopForward as stop:
            return stop.output
        finally:
            handle.remove()
        raise RuntimeError(f"Layer {layer!r} did not run in the forward pass.")

    @staticmethod
    def _select(output: torch.Tensor, channel: torch.Tensor, position: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Activation of ``channel`` per row (at ``position`` (N, 2), or at the channel's spatial argmax)."""
        rows = torch.arange(output.shape[0], device=output.device)
        if channel.max() >= output.shape[1] or channel.min() < 0:
            raise ValueError(f"channel must lie in [0, {output.shape[1]}), got {channel.tolist()}.")
        maps = output[rows, channel]
        if maps.dim() == 1:
            return maps, None
        flat = maps.flatten(1)
        h, w = maps.shape[-2:]
        if position is None:
            index = flat.detach().argmax(1)
            position = torch.stack([index // w, index % w], 1)
        else:
            if bool(((position[:, 0] < 0) | (position[:, 0] >= h) | (position[:, 1] < 0) | (position[:, 1] >= w)).any()):
                raise ValueError(f"position must lie in the layer's {h}x{w} map, got {position.tolist()}.")
            index = position[:, 0] * w + position[:, 1]
        return flat[rows, index], position

    def neuron_weights(
        self,
        inputs: torch.Tensor,
        layer: str,
        channel: int | Sequence[int] | torch.Tensor,
        position: tuple[int, int] | Sequence[tuple[int, int]] | torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """``W(x)`` of an intermediate neuron: ``layer`` (a name from ``model.neuron_layers()`` or any
        module), output ``channel`` and spatial ``position`` ``(row, col)`` in that layer's map (None:
        where the channel is most active). ``inputs`` ``(N, C, H, W)``; ``channel`` one int or ``(N,)``.

        Returns ``x6``, ``weights`` ``(N, 2C, H, W)``, ``activation`` ``(N,)`` and ``position`` ``(N, 2)``
        (absent for non-spatial layers). ``sum(x6 * weights)`` equals the activation (B-cos Eq. 15).
        """
        n = inputs.shape[0]
        channel = torch.as_tensor(channel, device=self._device).view(-1).expand(n)
        if position is not None:
            position = torch.as_tensor(position, device=self._device, dtype=torch.long).view(-1, 2).expand(n, 2)
        with _EvalMode(self.model), explanation_mode(self.model), torch.enable_grad():
            x6 = self._encoded_leaf(inputs)
            activation, position = self._select(self._layer_output(x6, layer), channel, position)
            weights = self._weights_of(x6, activation)
        out = {"x6": x6.detach(), "weights": weights, "activation": activation.detach()}
        if position is not None:
            out["position"] = position
        return out

    def explain_neuron(self, x: torch.Tensor, layer: str, channel: int, position: tuple[int, int] | None = None) -> Explanation:
        """Explanation of one neuron for one image ``x`` ``(C, H, W)``: contribution map, score = activation,
        extras as :meth:`extras` plus ``layer``, ``channel`` and ``position``."""
        result = self.neuron_weights(x.unsqueeze(0), layer, channel, position)
        return self._neuron_explanation(result, 0, layer, channel)

    def _neuron_explanation(self, result: dict[str, torch.Tensor], i: int, layer: str, channel: int) -> Explanation:
        x6, weights = result["x6"][i : i + 1], result["weights"][i : i + 1]
        extras = self._visual_rows(x6, weights)[0]
        rgba = extras.pop("rgba")
        extras.update(layer=layer, channel=int(channel))
        if "position" in result:
            extras["position"] = tuple(int(v) for v in result["position"][i])
        attribution = (x6 * weights).sum(1)[0].detach().float().cpu()
        return Explanation(self.name, int(channel), attribution, float(result["activation"][i]), self.panels, rgba=rgba, extras=extras)

    @torch.no_grad()
    def neuron_activations(self, split, layer: str, channel: int, batch_size: int = 128) -> torch.Tensor:
        """Maximum (over positions) activation of ``channel`` in ``layer`` for every sample of ``split``, ``(N,)``."""
        values = []
        with _EvalMode(self.model):
            for start in range(0, len(split), batch_size):
                xb = split.inputs(np.arange(start, min(len(split), start + batch_size))).to(self._device)
                out = self._layer_output(self.model.encode(xb), layer)
                if not 0 <= channel < out.shape[1]:
                    raise ValueError(f"channel must lie in [0, {out.shape[1]}), got {channel}.")
                values.append(out[:, channel].flatten(1).amax(1).float().cpu())
        return torch.cat(values) if values else torch.empty(0)

    def top_activating(self, split, layer: str, channel: int, k: int = 8, batch_size: int = 128) -> list[Explanation]:
        """The ``k`` samples of ``split`` that activate the neuron most (B-cos Figs. 8 and 10), each
        explained at its most active position; ``extras['index']`` is the sample index in ``split``."""
        activations = self.neuron_activations(split, layer, channel, batch_size)
        top = torch.topk(activations, min(k, len(activations))).indices.tolist()
        if not top:
            return []
        result = self.neuron_weights(split.inputs(top), layer, channel)
        explanations = []
        for i, index in enumerate(top):
            exp = self._neuron_explanation(result, i, layer, channel)
            exp.extras["index"] = int(index)
            explanations.append(exp)
        return explanations

    # ------------------------------------------------------------ Δ-explanation

    def delta_explanation(self, x: torch.Tensor, class_a: int, class_b: int) -> Explanation:
        """Difference between the explanations of two classes of one image ``x`` ``(C, H, W)`` (B-cos
        Fig. 9): attribution ``s_a - s_b`` ``(H, W)`` (red: ``class_a``, blue: ``class_b``), score
        ``logit_a - logit_b``, ``rgba`` (coloured map of the difference: evidence for ``class_a`` over
        ``class_b``), extras ``weights`` ``W_a(x) - W_b(x)`` and ``classes``."""
        inputs = x.unsqueeze(0).expand(2, *x.shape)
        x6, weights = self.dynamic_weights(inputs, torch.tensor([class_a, class_b]))
        delta = (weights[0] - weights[1]).unsqueeze(0)
        extras = self._visual_rows(x6[:1], delta)[0]
        rgba = extras.pop("rgba")
        extras["classes"] = (int(class_a), int(class_b))
        scores = self.scores(inputs.to(self._device), torch.tensor([class_a, class_b], device=self._device))
        attribution = (x6[:1] * delta).sum(1)[0].detach().float().cpu()
        return Explanation(self.name, int(class_a), attribution, float(scores[0] - scores[1]), self.panels, rgba=rgba, extras=extras)
