"""B-cos networks (Böhle et al., CVPR 2022): layers, the plain B-cos CNN and B-cos torchvision conversions.

One module per subject: :mod:`~interp_core.models.bcos.layers` (the B-cos layers, explanation mode),
:mod:`~interp_core.models.bcos.kernels` (the fused autograd kernels of training steps),
:mod:`~interp_core.models.bcos.augment` (training-time augmentation), :mod:`~interp_core.models.bcos.networks`
(:class:`BcosNetwork` and the plain B-cos CNN, ``bcos-cnn``) and :mod:`~interp_core.models.bcos.conversions`
(the B-cos torchvision models); :mod:`~interp_core.models.bcos.bcosify` casts a trained conventional classifier
as a B-cos network (B-cosification, Arya et al., NeurIPS 2024). Importing this package registers all their
architectures.

A B-cos unit computes ``|cos(x, ŵ)|^(B-1) · ŵᵀx`` (B-cos Eq. 9 / D.8). Every module here whose output
scale depends on its input (the B-cos layers' ``|cos|`` factor, the uncentered batch norm's std) derives
from :class:`DetachableModule` and honours one flag, ``detach_scale``. The context manager
:func:`explanation_mode` (also ``BcosNetwork.explanation_mode()``) switches the flag on every such module
of a model at once; the model is then *exactly* the dynamic linear map ``f(x) = W(x) x`` (B-cos Eq. 13)
and the input gradient is ``W(x)``.

v1 vs v2, decided on purpose (method-notes §5.2):

* The layer follows **v2**: no bias, weights renormalised per output unit on every forward pass, the
  patch norm computed exactly like the convolution (padding, stride, groups; dilation by an exact slower
  path), the MaxOut maximum taken *before* the cosine scaling, ``B = 2`` and ``max_out = 1`` by default,
  one stabiliser ``1e-6`` (v1 added it twice). ``max_out=2`` gives the v1/paper MaxOut units (Eq. 17);
  taking the maximum before or after the scaling is the same thing, because the scaled output
  ``sign(a)|a|^B / ||x||^(B-1)`` is increasing in the linear output ``a`` and all units of one MaxOut
  group share ``||x||``.
* v1's per-layer scale is generalised to a fixed per-layer ``gain`` γ (B-cos Supp. C.1: outputs are
  multiplied by a constant so the signal does not vanish in deep networks without normalisation), and
  the network output is divided by a fixed temperature ``T`` before the logit bias (Supp. C.1). Both are
  constants, so they change neither the linearity nor the explanation.
* The logit bias is ``-log(C-1)`` (v2 and v1 CIFAR-10: a uniform probability ``1/C`` for a zero input).
* The plain CNN is v1's CIFAR-10 network (no normalisation). The torchvision conversions default to v2
  (uncentered batch norm without bias, stem max-pool -> average pool, ``max_out=1``) because that is
  what trains from scratch without per-network temperature tuning; ``norm="none"`` gives the v1 recipe
  (batch norm removed, v1 layer gain ``s / sqrt(k² C_in)`` with the paper's s = 100, 1000 for VGG).
* Loss (set by the recipe, not the model): one-hot BCE as in the paper (Eq. 16, v1); the engine's
  ``"bce-uniform"`` gives v2's uniform off-labels.
* The classifier of a converted network is a :class:`BcosLinear` in place of the torchvision ``nn.Linear``
  (after pooling, as in torchvision), not v2's 1x1 B-cos conv before pooling, so the models read like
  their conventional twins.

Images enter as ``(N, C, H, W)`` in [0, 1]; the network's first step is the input encoding
``[r, g, b, 1-r, 1-g, 1-b]`` (:class:`AddInverse`, B-cos Sec. 4), with no mean/std normalisation.
"""
from __future__ import annotations

from interp_core.models.bcos.augment import AUGMENTATIONS, RandomShiftFlip
from interp_core.models.bcos.bcosify import BcosificationError, bcosify
from interp_core.models.bcos.conversions import convert_to_bcos
from interp_core.models.bcos.kernels import _COMPILED  # noqa: F401  (the benchmark switches compiling off through it)
from interp_core.models.bcos.kernels import COMPILE_MIN_NUMEL, NORM_EPS, compiled_scale_state
from interp_core.models.bcos.layers import (
    AddInverse,
    BcosConv2d,
    BcosLinear,
    DetachableModule,
    LogitLayer,
    UncenteredBatchNorm2d,
    explanation_mode,
)
from interp_core.models.bcos.networks import CIFAR_STRIDES, CIFAR_WIDTHS, BcosNetwork, build_bcos_cnn, paper_gain

__all__ = [
    "AUGMENTATIONS", "BcosificationError", "CIFAR_STRIDES", "CIFAR_WIDTHS", "COMPILE_MIN_NUMEL", "NORM_EPS", "AddInverse", "BcosConv2d",
    "BcosLinear", "BcosNetwork", "DetachableModule", "LogitLayer", "RandomShiftFlip", "UncenteredBatchNorm2d",
    "bcosify", "build_bcos_cnn", "compiled_scale_state", "convert_to_bcos", "explanation_mode", "paper_gain",
]
