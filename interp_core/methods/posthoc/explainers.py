"""Post-hoc attribution baselines of the B-cos comparison (B-cos Sec. 4, Supp. C.2), one contract for all.

Grad, Input×Gradient, Integrated Gradients, DeepLIFT, Grad-CAM and LIME come from Captum; RISE is written
here (Captum has none). Every explainer returns ``(N, H, W)`` maps at input resolution with channels
summed, for any ``nn.Module`` that maps ``(N, C, H, W)`` to logits ``(N, K)`` (B-cos networks encode
their input internally, so they are explained on the plain 3-channel image like any other model).

Choices, on purpose:

* ``gradient`` is the **signed** gradient (Captum ``Saliency(abs=False)``) summed over channels. The
  pointing game keeps positive evidence only (it clamps at zero); ``|grad|`` would count evidence
  *against* the class as support for it.
* ``deeplift`` runs on a private copy of the model whose ReLUs are not in-place (Captum's DeepLIFT hooks
  ``nn.ReLU`` and fails on in-place outputs); ReLUs called functionally fall back to plain gradients.
* ``gradcam`` uses ``model.gradcam_layer`` with the ReLU of the original Grad-CAM and bilinear
  upsampling to the input size.
* ``lime`` uses SLIC-like superpixels written here (:func:`superpixels`; scikit-image is not available),
  weights samples with lime's kernel (cosine distance, width 0.25) and fits lime's ridge regression.
  Hidden superpixels are black by default (Captum's default baseline, and what RISE does), not lime's
  superpixel mean colour (``hide="mean"``): superpixels follow colour edges, so on flat-coloured
  objects a mean-coloured superpixel looks unchanged and LIME goes blind (pointing game on 4 cnn-shapes
  grids: 0.26 black vs 0.21 mean). Like lime's ``explain_instance``, rows with the same input share one
  set of perturbation samples, so explaining 9 classes of one grid costs the model evaluations of one.
* ``rise`` follows Petsiuk et al. (500 masks, s = 8, p = 0.1) on the logits, centred over the masks (see
  :class:`RiseExplainer`).

Two class attributes of the contract tell benchmarks about a method without naming it:
``perturbation_based`` (LIME, RISE; the pointing game does not smooth their maps, as in the paper) and
``costly`` (IG, LIME, RISE: hundreds of forward passes per input, so the pointing game defaults to fewer
grids). Every method here explains any classifier (recipe kind ``classifier``), image or audio.
"""
from __future__ import annotations

import copy
import math
import warnings
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.methods.base import Explainer, ExplainerOutput, register_explainer
from interp_core.store.card import ModelCard


def _leaf(inputs: torch.Tensor) -> torch.Tensor:
    """A fresh leaf that requires grad, so that the caller's tensor is never touched."""
    return inputs.detach().clone().contiguous().requires_grad_(True)


def _identical_row_groups(inputs: torch.Tensor) -> list[list[int]]:
    """Indices of rows of ``inputs`` ``(N, ...)`` grouped by identical content, in order of first occurrence."""
    groups: list[list[int]] = []
    for i in range(inputs.shape[0]):
        for group in groups:
            if torch.equal(inputs[i], inputs[group[0]]):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


class PosthocExplainer(Explainer):
    """A post-hoc method: maps from :meth:`maps`; no extras unless the method adds some."""

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute(self, inputs: torch.Tensor, target: torch.Tensor, details: bool) -> ExplainerOutput:
        return ExplainerOutput(self.maps(inputs, target).detach(), [{} for _ in range(inputs.shape[0])])


# ---------------------------------------------------------------- gradient methods (Captum)

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

        return Saliency(self.model).attribute(_leaf(inputs), target=target, abs=self.absolute).detach().sum(1)


@register_explainer("input_x_gradient")
class InputXGradientExplainer(PosthocExplainer):
    """``x ⊙ d logit_t / d x`` summed over channels (Captum ``InputXGradient``); sums to the logit for a
    bias-free piecewise-linear model."""

    summary = "input × gradient (Captum)"

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import InputXGradient

        return InputXGradient(self.model).attribute(_leaf(inputs), target=target).detach().sum(1)


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
        groups = _identical_row_groups(inputs)
        if all(len(g) == 1 for g in groups):
            return self._captum(inputs, target)
        out = torch.empty(inputs.shape[0], *inputs.shape[2:], dtype=inputs.dtype, device=inputs.device)
        for group in groups:
            rows = torch.as_tensor(group, device=inputs.device)
            out[rows] = self._shared(inputs[group[0]], target[rows]) if len(group) > 1 else self._captum(inputs[rows], target[rows])
        return out

    def _captum(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum.attr import IntegratedGradients

        x = _leaf(inputs)
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

        x = _leaf(inputs)
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

        cam = LayerGradCam(self.model, self._layer()).attribute(_leaf(inputs), target=target, relu_attributions=True)
        return LayerAttribution.interpolate(cam.detach(), tuple(inputs.shape[-2:]), "bilinear").sum(1)


# ---------------------------------------------------------------- LIME (Captum) on our superpixels

def superpixels(image: torch.Tensor, segment_size: int = 16, compactness: float = 0.1, iterations: int = 10) -> torch.Tensor:
    """SLIC-like superpixels (Achanta et al. 2012): k-means on (channel values, scaled position).

    ``image``: ``(C, H, W)``, values roughly in [0, 1]. Starts from a regular grid of
    ``segment_size``-pixel cells (``iterations=0`` returns exactly that grid) and moves each pixel to the
    nearest centre in ``Σ_c (x_c - μ_c)² + (compactness / segment_size)² · ‖p - p_μ‖²`` among centres
    within ``2·segment_size`` (twice SLIC's window, so no pixel is left without a candidate once
    centres move). Returns ``(H, W)`` int64 labels ``0..K-1`` (segments need not be connected).
    """
    if image.dim() != 3:
        raise ValueError(f"superpixels expects one image (C, H, W), got shape {tuple(image.shape)}.")
    if segment_size < 1:
        raise ValueError(f"segment_size must be a positive number of pixels, got {segment_size}.")
    c, h, w = image.shape
    img = image.detach().float().cpu()
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    nx = math.ceil(w / segment_size)
    labels = ((ys // segment_size) * nx + xs // segment_size).long().flatten()
    if iterations > 0:
        scale = compactness / segment_size
        feats = torch.cat([img.reshape(c, -1), (ys.flatten() * scale)[None], (xs.flatten() * scale)[None]]).T  # (HW, C+2)
        pos = torch.stack([ys.flatten(), xs.flatten()], 1)
        k = int(labels.max()) + 1
        window = 2 * segment_size
        for _ in range(iterations):
            counts = torch.zeros(k).index_add_(0, labels, torch.ones(labels.shape[0]))
            sums = torch.zeros(k, feats.shape[1]).index_add_(0, labels, feats)
            alive = counts > 0
            centres = sums[alive] / counts[alive, None]
            centre_pos = centres[:, -2:] / scale
            new = torch.empty_like(labels)
            for start in range(0, feats.shape[0], 8192):
                chunk = slice(start, start + 8192)
                dist = torch.cdist(feats[chunk], centres).square_()
                far = (pos[chunk, None, :] - centre_pos[None]).abs().amax(-1) > window
                new[chunk] = dist.masked_fill_(far, float("inf")).argmin(1)
            labels = new
            k = centres.shape[0]
    return torch.unique(labels, return_inverse=True)[1].reshape(h, w)


def segment_means(image: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """``image`` ``(C, H, W)`` with every segment filled by its mean value (lime's ``hide_color=None``)."""
    c = image.shape[0]
    flat = segments.flatten().to(image.device)
    k = int(flat.max()) + 1
    counts = torch.zeros(k, device=image.device).index_add_(0, flat, torch.ones_like(flat, dtype=torch.float32))
    sums = torch.zeros(c, k, device=image.device, dtype=image.dtype).index_add_(1, flat, image.reshape(c, -1))
    return (sums / counts.clamp(min=1))[:, flat].reshape(image.shape)


@register_explainer("lime")
class LimeExplainer(PosthocExplainer):
    """LIME (Ribeiro et al.) through Captum ``Lime`` on superpixels: ``n_samples`` = 500 (B-cos Supp. C.2).

    The interpretable input is the binary on/off vector of the superpixels; an "off" superpixel is black
    (``hide="zero"``) or its mean colour (``hide="mean"``, lime's ``hide_color=None``). Each target is fitted by Captum with lime's ridge regression and exponential kernel on
    the same seeded samples; rows with identical inputs reuse the model outputs of those samples
    (exactly, through a cache keyed by the on/off vector). The map gives every pixel its superpixel's
    coefficient.
    """

    summary = "LIME on superpixels, 500 samples (Captum)"

    perturbation_based = True
    costly = True

    def __init__(self, model: nn.Module, card: ModelCard, n_samples: int = 500, segment_size: int = 16, compactness: float = 0.1,
                 slic_iterations: int = 10, kernel_width: float = 0.25, hide: str = "zero", batch_size: int = 50,
                 seed: int = 0):
        if hide not in ("zero", "mean"):
            raise ValueError(f"hide must be 'zero' (black, like RISE) or 'mean' (lime's superpixel mean), got {hide!r}.")
        super().__init__(model, card)
        self.hide = hide
        self.n_samples = n_samples
        self.segment_size = segment_size
        self.compactness = compactness
        self.slic_iterations = slic_iterations
        self.kernel_width = kernel_width
        self.batch_size = batch_size
        self.seed = seed

    def segments(self, x: torch.Tensor) -> torch.Tensor:
        """Superpixels ``(H, W)`` of one input ``(C, H, W)``."""
        return superpixels(x, self.segment_size, self.compactness, self.slic_iterations)

    def compute(self, inputs: torch.Tensor, target: torch.Tensor, details: bool) -> ExplainerOutput:
        out = super().compute(inputs, target, details)
        if details:
            out.rows = [{"segments": self.segments(inputs[i]).cpu().numpy()} for i in range(inputs.shape[0])]
        return out

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from captum._utils.models.linear_model import SkLearnRidge
        from captum.attr import Lime
        from captum.attr._core.lime import get_exp_kernel_similarity_function

        maps = torch.empty(inputs.shape[0], *inputs.shape[-2:], device=inputs.device)
        for rows in _identical_row_groups(inputs):
            x = inputs[rows[0]].detach()
            segments = self.segments(x).to(x.device)
            hidden = segment_means(x, segments) if self.hide == "mean" else torch.zeros_like(x)
            k = int(segments.max()) + 1
            lime = Lime(
                self._memoised_forward(x, hidden, segments),
                interpretable_model=SkLearnRidge(alpha=1.0),
                # lime_image's kernel sqrt(exp(-d²/w²)) = exp(-d²/2w²), d = cosine distance to "all on"
                similarity_func=get_exp_kernel_similarity_function("cosine", kernel_width=self.kernel_width),
            )
            for row in rows:
                # The same seed for every target: lime's one sample set per image, and cache hits.
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(self.seed)
                    coefs = lime.attribute(
                        torch.ones(1, k, device=x.device), target=int(target[row]), n_samples=self.n_samples,
                        perturbations_per_eval=self.batch_size,
                    )
                maps[row] = coefs.reshape(-1).to(maps)[segments]
        return maps

    def _memoised_forward(self, x: torch.Tensor, hidden: torch.Tensor, segments: torch.Tensor) -> Callable:
        """Model logits ``(B, K)`` for on/off vectors ``z`` ``(B, S)``, each distinct ``z`` evaluated once."""
        memo: dict[bytes, torch.Tensor] = {}

        def forward(z: torch.Tensor) -> torch.Tensor:
            keys = [row.tobytes() for row in z.detach().cpu().numpy().astype(bool)]
            todo = list(dict.fromkeys(key for key in keys if key not in memo))
            if todo:
                on = torch.from_numpy(np.stack([np.frombuffer(key, dtype=bool) for key in todo])).to(x.device)
                keep = on[:, segments].unsqueeze(1).to(x.dtype)  # (B, 1, H, W)
                with torch.no_grad():
                    logits = self.model(hidden + keep * (x - hidden))
                memo.update(zip(todo, logits.detach()))
            return torch.stack([memo[key] for key in keys])

        return forward


# ---------------------------------------------------------------- RISE (written here)

def rise_masks(n: int, size: tuple[int, int], cells: int = 8, keep_prob: float = 0.1,
               generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """``n`` RISE masks ``(n, H, W)`` in [0, 1] (Petsiuk et al. 2018, Sec. 3.2).

    A ``cells × cells`` binary grid keeps each cell with probability ``keep_prob``; it is bilinearly
    upsampled to ``(cells + 1) · ceil(H / cells)`` pixels and cropped at a random shift of less than one
    cell, so mask edges fall anywhere.
    """
    h, w = size
    ch, cw = math.ceil(h / cells), math.ceil(w / cells)
    grid = (torch.rand(n, 1, cells, cells, generator=generator) < keep_prob).float()
    shift_y = torch.randint(0, ch, (n,), generator=generator)
    shift_x = torch.randint(0, cw, (n,), generator=generator)
    up = F.interpolate(grid.to(device), size=((cells + 1) * ch, (cells + 1) * cw), mode="bilinear", align_corners=False)[:, 0]
    rows = (shift_y[:, None] + torch.arange(h)).to(device)
    cols = (shift_x[:, None] + torch.arange(w)).to(device)
    return up[torch.arange(n, device=device)[:, None, None], rows[:, :, None], cols[:, None, :]]


@register_explainer("rise")
class RiseExplainer(PosthocExplainer):
    """RISE (Petsiuk et al. 2018): the mask-weighted mean of the class output over random masked inputs.

    ``n_masks`` = 500, ``cells`` s = 8, ``keep_prob`` p = 0.1 (B-cos Supp. C.2). Masked-out pixels are
    zero. Differences from the paper, on purpose: the class output is the **logit** (the quantity every
    explainer here explains; RISE's probabilities do not exist for a model that only has logits) and,
    with ``center=True``, the logit's mean over the masks is subtracted, so the map is
    ``E[(f - E f) · M] / p``: logits, unlike probabilities, carry an offset that would otherwise be added
    to every pixel. Masks are seeded (the same for every input); rows with the same input share the
    model evaluations.
    """

    summary = "RISE, 500 random masks"

    perturbation_based = True
    costly = True

    def __init__(self, model: nn.Module, card: ModelCard, n_masks: int = 500, cells: int = 8, keep_prob: float = 0.1,
                 batch_size: int = 50, seed: int = 0, center: bool = True):
        super().__init__(model, card)
        self.n_masks = n_masks
        self.cells = cells
        self.keep_prob = keep_prob
        self.batch_size = batch_size
        self.seed = seed
        self.center = center

    def maps(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        maps = torch.empty(inputs.shape[0], *inputs.shape[-2:], device=inputs.device)
        for rows in _identical_row_groups(inputs):
            x = inputs[rows[0]].detach()
            classes = target[rows]
            generator = torch.Generator().manual_seed(self.seed)
            weighted = torch.zeros(len(rows), *x.shape[-2:], device=x.device, dtype=torch.float64)
            mask_sum = torch.zeros(*x.shape[-2:], device=x.device, dtype=torch.float64)
            out_sum = torch.zeros(len(rows), device=x.device, dtype=torch.float64)
            for start in range(0, self.n_masks, self.batch_size):
                n = min(self.batch_size, self.n_masks - start)
                masks = rise_masks(n, tuple(x.shape[-2:]), self.cells, self.keep_prob, generator, x.device)
                with torch.no_grad():
                    out = self.model(x.unsqueeze(0) * masks.unsqueeze(1).to(x.dtype))[:, classes].double()  # (n, T)
                # Petsiuk et al. Eq. 6: S_c = 1/(N p) Σ_i f_c(I ⊙ M_i) M_i
                weighted += torch.einsum("nt,nhw->thw", out, masks.double())
                mask_sum += masks.double().sum(0)
                out_sum += out.sum(0)
            if self.center:
                weighted -= (out_sum / self.n_masks)[:, None, None] * mask_sum
            maps[rows] = (weighted / (self.n_masks * self.keep_prob)).to(maps)
        return maps
