"""B-cos networks (Böhle et al., CVPR 2022): layers, the plain B-cos CNN and B-cos torchvision conversions.

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

import contextlib
import math
from typing import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _pair

from interp_core.models.registry import register_architecture

# Added under the square root of the patch norm; v2's value (v1 also added it to |cos|).
NORM_EPS = 1e-6


class DetachableModule(nn.Module):
    """A module with an input-dependent scale that explanation mode detaches (``detach_scale``)."""

    def __init__(self) -> None:
        super().__init__()
        self.detach_scale = False


@contextlib.contextmanager
def explanation_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Detach every input-dependent scale of ``model`` inside the block, so ``model`` is the linear map
    ``W(x) x`` (B-cos Eq. 13) and its input gradient is ``W(x)``. Restores the previous flags on exit.

    Raises ``ValueError`` if ``model`` has no B-cos module (explaining it would silently give plain
    Input x Gradient).
    """
    modules = [m for m in model.modules() if isinstance(m, DetachableModule)]
    if not modules:
        raise ValueError(f"{type(model).__name__} has no B-cos layers; explanation mode needs a B-cos network.")
    previous = [m.detach_scale for m in modules]
    for m in modules:
        m.detach_scale = True
    try:
        yield model
    finally:
        for m, flag in zip(modules, previous):
            m.detach_scale = flag


def _check_b(b: float) -> float:
    if not b >= 1:
        raise ValueError(f"B-cos exponent B must be >= 1, got {b}.")
    return float(b)


def _normalized_rows(weight: torch.Tensor) -> torch.Tensor:
    """Weight with every output unit (row of dim 0) scaled to unit L2 norm (the ŵ of B-cos Eq. 9)."""
    return weight / weight.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (weight.dim() - 1)))


def _scaled_rows(weight: torch.Tensor, gain: float, b: float) -> torch.Tensor:
    """``γ^(1/B) ŵ``: unit rows carrying the layer's gain, which the B-cos product raises to ``γ``. One
    multiplication of the weight by a per-row factor (computed on the small norm vector), so that the
    backward also makes one pass over the weight instead of a division's several."""
    factor = gain ** (1.0 / b) / weight.flatten(1).norm(dim=1).clamp_min(1e-12)
    return weight * factor.view(-1, *([1] * (weight.dim() - 1)))


def _square_sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    return (x * x).sum(dim, keepdim=True)


class _SquareSum(torch.autograd.Function):
    """``sum(x², dim)`` (keepdim) whose backward is one fused pass ``x · 2g`` over the input; on a
    training step's large inputs the forward is one compiled loop (no ``x²`` tensor)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, dim: int, fused: bool = False) -> torch.Tensor:
        return _run_kernel("square_sum", fused, x, dim)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad: torch.Tensor, *_):
        (x,) = ctx.saved_tensors
        return x * (2 * grad), None, None


def _power(s: torch.Tensor, exponent: float) -> torch.Tensor:
    """``s^exponent`` for ``s > 0``; the half-integer exponents of B = 1.5 and 2.5 through square roots,
    which cost a fraction of a general power (exp and log per element)."""
    if exponent == 0.5:
        return s.sqrt()
    if exponent == 1.5:
        return s * s.sqrt()
    if exponent == -0.5:
        return s.rsqrt()
    if exponent == 1:
        return s
    return s.pow(exponent)


def _scale_forward(a: torch.Tensor, inv: torch.Tensor, b: float, eps: float) -> torch.Tensor:
    """``a · (|a| · inv + eps)^(B-1)``: the B-cos output from the linear output ``a`` and ``inv = 1/||x||``."""
    if b == 2:
        return a * (a.abs() * inv)
    return a * _power(a.abs() * inv + eps, b - 1)


def _scale_backward_a(grad: torch.Tensor, a: torch.Tensor, inv: torch.Tensor, b: float, eps: float) -> torch.Tensor:
    """The gradient of :func:`_scale_forward` with respect to ``a`` only (``inv`` needs none: the first
    layer's input is the image)."""
    r = a.abs() * inv
    if b == 2:
        return grad * r * 2
    u = grad * _power(r + eps, b - 2)
    return u * (r * b + eps)


def _scale_backward(grad: torch.Tensor, a: torch.Tensor, inv: torch.Tensor, b: float, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of :func:`_scale_forward` with respect to ``a`` and ``inv``.

    With ``r = |a| inv`` and ``s = r + eps``: ``d/da = s^(B-2) (B r + eps)`` and
    ``d/d inv = (B-1) s^(B-2) r · a / inv`` (summed over the channels ``inv`` is broadcast over)."""
    r = a.abs() * inv
    if b == 2:  # s^0 = 1 and no stabiliser
        w = grad * r
        return w * 2, (w * a).sum_to_size(inv.shape) / inv
    u = grad * _power(r + eps, b - 2)
    w = u * r
    return w * b + u * eps, (w * a).sum_to_size(inv.shape) * ((b - 1) / inv)


#: Tensors smaller than this (elements) use the eager kernels: compiling pays off on training batches, not
#: on the small tensors of tests and single images.
COMPILE_MIN_NUMEL = 1 << 18
_EAGER = {"square_sum": _square_sum, "scale_forward": _scale_forward, "scale_backward": _scale_backward,
          "scale_backward_a": _scale_backward_a}
_COMPILED: dict[str, object] = {}


def _compile_state() -> str:
    """``"on"`` where ``torch.compile`` can build the fused kernels, ``"off"`` where it is switched off
    (``INTERP_CORE_COMPILE=0``) or unavailable (no C++ compiler, no ``torch.compile``), ``"failed"`` once a
    compilation failed in this process."""
    state = _COMPILED.get("state")
    if state is None:
        import os
        import shutil

        wanted = os.environ.get("INTERP_CORE_COMPILE", "auto").lower() not in ("0", "false", "no", "off")
        has_compiler = any(shutil.which(c) for c in (os.environ.get("CXX", "g++"), "g++", "c++", "clang++"))
        state = "on" if wanted and has_compiler and hasattr(torch, "compile") else "off"
        if state == "on":
            import logging

            logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # "no CUDA runtime" on CPU machines
        _COMPILED["state"] = state
    return state


def _run_kernel(name: str, fused: bool, *args):
    """Run the element-wise kernel ``name``: compiled by ``torch.compile`` into one fused loop when
    ``fused`` (a training step) and the first tensor is large, eager otherwise, and eager for the rest of
    the process after any failure of a compiled one; both compute the same thing (the eager one in a few
    more passes over memory)."""
    if fused and args[0].numel() >= COMPILE_MIN_NUMEL and _compile_state() == "on":
        try:
            if name not in _COMPILED:
                _COMPILED[name] = torch.compile(_EAGER[name], dynamic=True)
            return _COMPILED[name](*args)
        except Exception as exc:  # noqa: BLE001 - any compiler failure falls back to eager, silently
            import logging

            logging.getLogger(__name__).debug("torch.compile of %s failed (%s); using eager kernels", name, exc)
            _COMPILED["state"] = "failed"
    return _EAGER[name](*args)


def compiled_scale_state() -> str:
    """Whether training steps run the fused compiled kernels: ``"on"``, ``"off"``, ``"failed"``, or
    ``"unused"`` (no training step has asked yet in this process)."""
    return str(_COMPILED.get("state", "unused"))


class _CosScale(torch.autograd.Function):
    """``a · (|a| · inv + eps)^(B-1)`` for any B (``|cos|^(B-1) ŵᵀx`` with ``inv = 1 / ||x||`` broadcast
    over channels; B = 2 without the stabiliser): a training-mode op with a hand-written backward, so
    that autograd keeps only the input and runs no chain of abs/mul/add/pow/mul intermediates. On
    training-sized tensors both directions run as one fused compiled loop where ``torch.compile`` works."""

    @staticmethod
    def forward(a: torch.Tensor, inv: torch.Tensor, b: float, eps: float, fused: bool) -> torch.Tensor:
        return _run_kernel("scale_forward", fused, a, inv, b, eps)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        a, inv, b, eps, fused = inputs
        ctx.b, ctx.eps, ctx.fused = b, eps, fused
        # The input, not the output, is kept: callers may modify the output in place (residual sums).
        ctx.save_for_backward(a, inv)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        a, inv = ctx.saved_tensors
        with torch.no_grad():
            if not ctx.needs_input_grad[1]:
                return _run_kernel("scale_backward_a", ctx.fused, grad, a, inv, ctx.b, ctx.eps), None, None, None, None
            grad_a, grad_inv = _run_kernel("scale_backward", ctx.fused, grad, a, inv, ctx.b, ctx.eps)
        return grad_a, grad_inv, None, None, None


def _bcos_output(linear: torch.Tensor, inv_norm: torch.Tensor, b: float, detach: bool, gain: float = 1.0,
                 training: bool = False) -> torch.Tensor:
    """``γ ŵᵀx · |cos|^(B-1)`` with ``cos = ŵᵀx / ||x||`` (B-cos Eq. 9), from ``linear = γ^(1/B) ŵᵀx``
    (the gain folded into the weights). ``inv_norm`` is ``1 / ||x||``, broadcastable to ``linear``. In
    explanation mode the scale is a constant (detached), so the output is linear in the input.
    ``training`` (the layer's mode) lets a training step with gradients use the fused compiled kernels."""
    # The stabiliser keeps the gradient of the fractional power finite at cos = 0 (v2: 1e-6 on |cos|);
    # it is scaled like |linear| so that folding the gain changes nothing.
    eps = 1e-6 * gain ** (1.0 / b)
    if detach:
        cos = linear.detach().abs() * inv_norm.detach()
        return linear * (cos if b == 2 else _power(cos + eps, b - 1))
    return _CosScale.apply(linear, inv_norm, b, eps, training and torch.is_grad_enabled())


class _BcosConvStep(torch.autograd.Function):
    """A whole B-cos convolution of a training step as one autograd node (groups 1, no MaxOut, a window
    that sum pooling sees exactly): ``out = scale(conv(x, w), 1/||x||)`` with the patch norm from one
    channel-summed square and one sum pooling. The backward runs the convolution's own backward once and
    adds the norm's gradient ``2 x · pool*(g)`` into its input gradient in place (one pass over ``x``),
    instead of autograd materialising that term and summing the two; nothing but ``x``, ``w``, the linear
    output and the small norm maps is kept."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, stride: tuple[int, int], padding: tuple[int, int], b: float,
                eps: float) -> torch.Tensor:
        a = F.conv2d(x, w, None, stride, padding)
        kernel = tuple(w.shape[2:])
        q = _run_kernel("square_sum", True, x, 1)
        inv = (F.avg_pool2d(q, kernel, stride, padding, divisor_override=1) + NORM_EPS).rsqrt()
        ctx.save_for_backward(x, w, a, inv)
        ctx.geometry = (kernel, stride, padding, tuple(q.shape))
        ctx.b, ctx.eps = b, eps
        return _run_kernel("scale_forward", True, a, inv, b, eps)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, w, a, inv = ctx.saved_tensors
        kernel, stride, padding, q_shape = ctx.geometry
        need_x, need_w = ctx.needs_input_grad[:2]
        with torch.no_grad():
            if need_x:
                grad_a, grad_inv = _run_kernel("scale_backward", True, grad, a, inv, ctx.b, ctx.eps)
            else:
                grad_a = _run_kernel("scale_backward_a", True, grad, a, inv, ctx.b, ctx.eps)
            grad_x, grad_w, _ = torch.ops.aten.convolution_backward(
                grad_a, x, w, None, list(stride), list(padding), [1, 1], False, [0, 0], 1, [need_x, need_w, False])
            if need_x:
                # d inv / d n = -(n + eps)^(-3/2) / 2 = -inv³ / 2; the pooling's adjoint spreads it over the window.
                grad_n = grad_inv * inv.pow(3) * -0.5
                grad_q = torch.ops.aten.avg_pool2d_backward(grad_n, x.new_empty(q_shape), list(kernel), list(stride),
                                                            list(padding), False, True, 1)
                grad_x.addcmul_(x, grad_q, value=2.0)
        return grad_x, grad_w, None, None, None, None


class BcosConv2d(DetachableModule):
    """B-cos 2-D convolution (B-cos Alg. 1, Eq. 9): ``out = γ · |cos(x, ŵ)|^(B-1) · ŵᵀx`` per patch.

    Input ``(N, C_in, H, W)`` -> output ``(N, C_out, H', W')`` with ``H', W'`` as for ``nn.Conv2d``.
    ``max_out`` linear units per output channel (MaxOut, B-cos Eq. 17; the ``max_out`` consecutive weight
    rows of a channel compete), ``gain`` γ a fixed output multiplier (Supp. C.1). No bias.
    The patch norm ``||x||`` sums ``x²`` over each group's input channels and over the kernel window with
    the convolution's own padding and stride (zero padding enters the norm as it enters the conv).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        *,
        b: float = 2.0,
        max_out: int = 1,
        gain: float = 1.0,
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups}).")
        if max_out < 1:
            raise ValueError(f"max_out must be >= 1, got {max_out}.")
        if isinstance(padding, str):
            raise ValueError("BcosConv2d takes integer padding (string padding modes are not supported).")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation = _pair(padding), _pair(dilation)
        self.b, self.max_out, self.gain = _check_b(b), int(max_out), float(gain)
        self.weight = nn.Parameter(torch.empty(out_channels * max_out, in_channels // groups, *self.kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, b={self.b}, "
                f"max_out={self.max_out}, gain={self.gain:g}")

    def linear(self, x: torch.Tensor) -> torch.Tensor:
        """``ŵᵀx`` for every unit (before MaxOut): ``(N, C_out * max_out, H', W')``."""
        return F.conv2d(x, _normalized_rows(self.weight), None, self.stride, self.padding, self.dilation, self.groups)

    def _scaled_linear(self, x: torch.Tensor) -> torch.Tensor:
        """``γ^(1/B) ŵᵀx``: the gain folded into the (small) weight instead of multiplying the (large)
        output, since ``γ |cos|^(B-1) ŵᵀx`` equals ``|cos'|^(B-1) w'ᵀx`` for ``w' = γ^(1/B) ŵ``."""
        return F.conv2d(x, _scaled_rows(self.weight, self.gain, self.b), None, self.stride, self.padding, self.dilation,
                        self.groups)

    def _summed_squares(self, x: torch.Tensor) -> torch.Tensor:
        """Sum of ``x²`` over each group's input channels and the kernel window: ``(N, groups, H', W')``."""
        fused = self.training and torch.is_grad_enabled()
        if self.groups == 1:
            sq = _SquareSum.apply(x, 1, fused)
        else:
            n, c, h, w = x.shape
            sq = _SquareSum.apply(x.reshape(n, self.groups, c // self.groups, h, w), 2, fused).squeeze(2)
        kh, kw = self.kernel_size
        if self.dilation == (1, 1) and self.padding[0] <= kh // 2 and self.padding[1] <= kw // 2:
            # Sum pooling with zero padding counted sees exactly the conv's window.
            return F.avg_pool2d(sq, self.kernel_size, self.stride, self.padding, divisor_override=1)
        ones = sq.new_ones(self.groups, 1, kh, kw)
        return F.conv2d(sq, ones, None, self.stride, self.padding, self.dilation, self.groups)

    def patch_norm(self, x: torch.Tensor) -> torch.Tensor:
        """``||x_patch||`` per group and output position: ``(N, groups, H', W')``."""
        return (self._summed_squares(x) + NORM_EPS).sqrt()

    def _single_node(self) -> bool:
        """Whether a training step runs :class:`_BcosConvStep` (the common case: see its conditions)."""
        kh, kw = self.kernel_size
        return (self.training and torch.is_grad_enabled() and not self.detach_scale and self.b != 1
                and self.max_out == 1 and self.groups == 1 and self.dilation == (1, 1)
                and self.padding[0] <= kh // 2 and self.padding[1] <= kw // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._single_node():
            return _BcosConvStep.apply(x, _scaled_rows(self.weight, self.gain, self.b), self.stride, self.padding,
                                       self.b, 1e-6 * self.gain ** (1.0 / self.b))
        out = self._scaled_linear(x)
        if self.max_out > 1:
            out = out.unflatten(1, (self.out_channels, self.max_out)).amax(2)
        if self.b != 1:
            inv = (self._summed_squares(x.detach() if self.detach_scale else x) + NORM_EPS).rsqrt()
            if self.groups == 1:
                out = _bcos_output(out, inv, self.b, self.detach_scale, self.gain, self.training)
            else:  # each group's outputs share that group's patch norm
                n, _, h, w = out.shape
                grouped = out.reshape(n, self.groups, self.out_channels // self.groups, h, w)
                out = _bcos_output(grouped, inv.unsqueeze(2), self.b, self.detach_scale, self.gain, self.training).reshape(n, self.out_channels, h, w)
        return out


class BcosLinear(DetachableModule):
    """B-cos linear layer (B-cos Eq. 9): ``out = γ · |cos(x, ŵ)|^(B-1) · ŵᵀx`` over the last dim.

    Input ``(..., in_features)`` -> ``(..., out_features)``; ``max_out`` and ``gain`` as in
    :class:`BcosConv2d`. No bias. ``||x||`` uses the same stabiliser as the convolution (v2 placed a
    different epsilon here; one formula for both layers keeps them interchangeable).
    """

    def __init__(self, in_features: int, out_features: int, *, b: float = 2.0, max_out: int = 1, gain: float = 1.0) -> None:
        super().__init__()
        if max_out < 1:
            raise ValueError(f"max_out must be >= 1, got {max_out}.")
        self.in_features, self.out_features = in_features, out_features
        self.b, self.max_out, self.gain = _check_b(b), int(max_out), float(gain)
        self.weight = nn.Parameter(torch.empty(out_features * max_out, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, b={self.b}, max_out={self.max_out}, gain={self.gain:g}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, _scaled_rows(self.weight, self.gain, self.b))
        if self.max_out > 1:
            out = out.unflatten(-1, (self.out_features, self.max_out)).amax(-1)
        if self.b != 1:
            inv = (_SquareSum.apply(x.detach() if self.detach_scale else x, -1) + NORM_EPS).rsqrt()
            out = _bcos_output(out, inv, self.b, self.detach_scale, self.gain, self.training)
        return out


class UncenteredBatchNorm2d(DetachableModule):
    """B-cos v2 batch norm: ``x / sqrt(Var[x] + eps) · weight`` per channel, no mean subtraction, no bias.

    Input/output ``(N, C, H, W)``. Training uses the batch variance (centred, as BN) and updates
    ``running_var``; eval uses ``running_var``. In explanation mode the std is detached, so the layer is a
    per-channel linear scale.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            var = x.var(dim=(0, 2, 3), unbiased=False)
            with torch.no_grad():
                n = x.numel() / x.shape[1]
                unbiased = var * (n / max(n - 1, 1))
                self.running_var.mul_(1 - self.momentum).add_(unbiased, alpha=self.momentum)
        else:
            var = self.running_var
        std = (var + self.eps).sqrt()
        if self.detach_scale:
            std = std.detach()
        return x * (self.weight / std).view(1, -1, 1, 1)


class AddInverse(nn.Module):
    """Input encoding ``[x, 1 - x]`` on the channel dim (B-cos Sec. 4): ``(N, C, H, W)`` -> ``(N, 2C, H, W)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, 1 - x], dim=1)


class LogitLayer(nn.Module):
    """``logits = f / T + b`` with a fixed temperature ``T`` and bias ``b`` (B-cos Eq. 16, Supp. C.1)."""

    def __init__(self, num_classes: int, bias: float | None = None, temperature: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        # -log(C-1) gives sigmoid(b) = 1/C for a zero input (B-cos Supp. C.1, v2 LogitLayer).
        self.bias = float(-math.log(max(num_classes - 1, 1))) if bias is None else float(bias)
        self.temperature = float(temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature:g}, bias={self.bias:.4f}"

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return f / self.temperature + self.bias


class RandomShiftFlip(nn.Module):
    """Training-time augmentation of the B-cos paper's CIFAR-10 runs (Supp. C.1: random crops and
    horizontal flips): each image of a training batch is shifted by up to ``max_shift`` pixels in each
    direction (edges replicated) and mirrored left-right with probability 1/2. The identity in eval mode
    and in explanation mode, so it never enters an explanation. Draws from torch's global generator, which
    the training engine seeds. ``(N, C, H, W)`` -> same shape."""

    def __init__(self, max_shift: int = 3, flip: bool = True) -> None:
        super().__init__()
        if max_shift < 0:
            raise ValueError(f"max_shift must be >= 0, got {max_shift}.")
        self.max_shift, self.flip = int(max_shift), bool(flip)

    def extra_repr(self) -> str:
        return f"max_shift={self.max_shift}, flip={self.flip}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or (self.max_shift == 0 and not self.flip):
            return x
        n, c, h, w = x.shape
        s = self.max_shift
        padded = F.pad(x, (s, s, s, s), mode="replicate") if s else x
        rows = torch.randint(0, 2 * s + 1, (n, 1), device=x.device) + torch.arange(h, device=x.device)
        cols = torch.randint(0, 2 * s + 1, (n, 1), device=x.device) + torch.arange(w, device=x.device)
        if self.flip:
            cols = torch.where(torch.rand(n, 1, device=x.device) < 0.5, cols.flip(1), cols)
        batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
        channel = torch.arange(c, device=x.device).view(1, c, 1, 1)
        return padded[batch, channel, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]


AUGMENTATIONS = {"none": None, "shift-flip": RandomShiftFlip}


class BcosNetwork(nn.Module):
    """A B-cos classifier: ``encode`` (AddInverse) -> ``body`` (B-cos layers, no bias) -> ``logit_layer``.

    ``forward(x)``: images ``(N, C, H, W)`` in [0, 1] -> logits ``(N, num_classes)``.
    ``forward_encoded(x6)``: the same from the encoded ``(N, 2C, H, W)`` input, the tensor explanations
    differentiate against. In explanation mode ``logits - logit_layer.bias`` equals
    ``sum(x6 * d logits / d x6)`` exactly (B-cos Eqs. 13 and 15).
    """

    def __init__(self, body: nn.Module, num_classes: int, *, logit_bias: float | None = None, temperature: float = 1.0,
                 augment: nn.Module | None = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        # Training-time augmentation of the input images (parameter-free; the identity outside training).
        self.augment = augment if augment is not None else nn.Identity()
        self.encode = AddInverse()
        self.body = body
        self.logit_layer = LogitLayer(num_classes, logit_bias, temperature)

    def forward_encoded(self, x6: torch.Tensor) -> torch.Tensor:
        return self.logit_layer(self.body(x6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_encoded(self.encode(self.augment(x)))

    def explanation_mode(self) -> contextlib.AbstractContextManager:
        """``with model.explanation_mode(): ...`` -- see :func:`explanation_mode`."""
        return explanation_mode(self)

    @property
    def gradcam_layer(self) -> nn.Module:
        """The last spatial (kernel > 1) B-cos convolution: the layer Grad-CAM explains, as for a standard CNN."""
        spatial = [m for m in self.body.modules() if isinstance(m, BcosConv2d) and max(m.kernel_size) > 1]
        if not spatial:
            raise ValueError("This B-cos network has no spatial convolution for Grad-CAM.")
        return spatial[-1]

    def neuron_layers(self) -> list[str]:
        """Names (as in ``named_modules``) of the B-cos layers whose output channels are neurons."""
        return [name for name, m in self.named_modules() if isinstance(m, (BcosConv2d, BcosLinear))]


# ---------------------------------------------------------------- the plain B-cos CNN (v1 CIFAR-10)

#: v1's CIFAR-10 network (B-cos Supp. C.1.1): 3x3 kernels, 1x1 classifier, strides at layers 3 and 6.
CIFAR_WIDTHS = (64, 64, 128, 128, 128, 256, 256, 256)
CIFAR_STRIDES = (1, 1, 2, 1, 1, 2, 1, 1)


def paper_gain(b: float) -> float:
    """Per-layer gain of the CIFAR-10 experiments, ``log10 γ = 1.5 B - 1.75`` (B-cos Supp. C.1.1)."""
    return 10 ** (1.5 * b - 1.75)


@register_architecture("bcos-cnn")
def build_bcos_cnn(
    *,
    in_channels: int,
    num_classes: int,
    widths: tuple[int, ...] = CIFAR_WIDTHS,
    strides: tuple[int, ...] = CIFAR_STRIDES,
    b: float = 2.0,
    max_out: int = 1,
    gain: float | None = None,
    norm: str = "none",
    temperature: float = 1.0,
    logit_bias: float | None = None,
    augment: str = "none",
) -> BcosNetwork:
    """The plain B-cos CNN of the CIFAR-10 experiments: ``len(widths)`` 3x3 B-cos convs and a 1x1 B-cos
    conv to the classes, global average pooling of the spatial logits; no ReLU, no normalisation.

    ``gain`` None uses :func:`paper_gain` (B) without normalisation, 1 with ``norm="uncentered-bn"``
    (v2: a :class:`UncenteredBatchNorm2d` after every 3x3 layer); ``temperature`` T divides the pooled output before the
    logit bias. A CPU-sized 64x64 variant uses a strided first layer and smaller ``widths``. ``augment``
    ``"shift-flip"`` adds the paper's training-time shifts and flips (:class:`RandomShiftFlip`).
    """
    if len(widths) != len(strides):
        raise ValueError(f"widths ({len(widths)}) and strides ({len(strides)}) must have the same length.")
    if norm not in ("none", "uncentered-bn"):
        raise ValueError(f"Unknown norm {norm!r}; expected 'none' (v1) or 'uncentered-bn' (v2).")
    if augment not in AUGMENTATIONS:
        raise ValueError(f"Unknown augment {augment!r}; expected one of {sorted(AUGMENTATIONS)}.")
    if gain is None:
        gain = paper_gain(b) if norm == "none" else 1.0
    layers: list[nn.Module] = []
    cin = 2 * in_channels
    for width, stride in zip(widths, strides):
        layers.append(BcosConv2d(cin, width, 3, stride, 1, b=b, max_out=max_out, gain=gain))
        if norm == "uncentered-bn":
            layers.append(UncenteredBatchNorm2d(width))
        cin = width
    layers += [BcosConv2d(cin, num_classes, 1, b=b, max_out=max_out, gain=gain), nn.AdaptiveAvgPool2d(1), nn.Flatten(1)]
    augmentation = AUGMENTATIONS[augment]
    return BcosNetwork(nn.Sequential(*layers), num_classes, logit_bias=logit_bias, temperature=temperature,
                       augment=augmentation() if augmentation else None)


# ---------------------------------------------------------------- B-cos conversions of torchvision models

def convert_to_bcos(module: nn.Module, *, b: float = 2.0, max_out: int = 1, norm: str = "uncentered-bn", layer_scale: float = 100.0) -> nn.Module:
    """Replace, in place and recursively, every ``nn.Conv2d``/``nn.Linear`` by its B-cos twin (same shape
    hyper-parameters, no bias), ReLU by identity and max-pooling by average pooling (B-cos Sec. 3.3).

    ``norm="uncentered-bn"`` (v2) swaps batch norm for :class:`UncenteredBatchNorm2d`; ``norm="none"``
    (v1) removes it and gives every layer v1's fixed gain ``layer_scale / sqrt(k² C_in)``
    (Supp. C.1.2: s = 100 for ResNets and DenseNets, 1000 for VGG). Returns ``module``.
    """
    if norm not in ("uncentered-bn", "none"):
        raise ValueError(f"Unknown norm {norm!r}; expected 'uncentered-bn' (v2) or 'none' (v1).")

    def v1_gain(fan_in: int) -> float:
        return layer_scale / math.sqrt(fan_in) if norm == "none" else 1.0

    for name, child in list(module.named_children()):
        if isinstance(child, nn.Conv2d):
            if child.padding_mode != "zeros" or isinstance(child.padding, str):
                raise ValueError(f"Cannot convert {name}: only integer zero padding is supported.")
            fan_in = child.in_channels // child.groups * child.kernel_size[0] * child.kernel_size[1]
            new: nn.Module = BcosConv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride, child.padding,
                                        child.dilation, child.groups, b=b, max_out=max_out, gain=v1_gain(fan_in))
        elif isinstance(child, nn.Linear):
            new = BcosLinear(child.in_features, child.out_features, b=b, max_out=max_out, gain=v1_gain(child.in_features))
        elif isinstance(child, (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU)):
            new = nn.Identity()
        elif isinstance(child, nn.MaxPool2d):
            new = nn.AvgPool2d(child.kernel_size, child.stride, child.padding, ceil_mode=child.ceil_mode)
        elif isinstance(child, nn.BatchNorm2d):
            new = UncenteredBatchNorm2d(child.num_features, child.eps, child.momentum or 0.1) if norm == "uncentered-bn" else nn.Identity()
        else:
            convert_to_bcos(child, b=b, max_out=max_out, norm=norm, layer_scale=layer_scale)
            continue
        setattr(module, name, new)
    return module


class _PooledFeatures(nn.Module):
    """DenseNet head without torchvision's functional ReLU: features -> global average pool -> classifier."""

    def __init__(self, features: nn.Module, classifier: nn.Module) -> None:
        super().__init__()
        self.features, self.classifier = features, classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


def _first_conv_to_encoded(model: nn.Module, attr_path: str, in_channels: int) -> None:
    """Give the stem convolution ``2 * in_channels`` inputs (the AddInverse encoding)."""
    parent = model
    *parents, last = attr_path.split(".")
    for part in parents:
        parent = getattr(parent, part)
    conv: nn.Conv2d = getattr(parent, last)
    setattr(parent, last, nn.Conv2d(2 * in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=False))


def _torchvision_bcos(body: nn.Module, stem: str, in_channels: int, num_classes: int, b: float, max_out: int,
                      norm: str, layer_scale: float, temperature: float, logit_bias: float | None) -> BcosNetwork:
    _first_conv_to_encoded(body, stem, in_channels)
    convert_to_bcos(body, b=b, max_out=max_out, norm=norm, layer_scale=layer_scale)
    return BcosNetwork(body, num_classes, logit_bias=logit_bias, temperature=temperature)


def _register_resnet(name: str) -> None:
    @register_architecture(f"bcos-{name}")
    def build(*, in_channels: int, num_classes: int, b: float = 2.0, max_out: int = 1, norm: str = "uncentered-bn",
              layer_scale: float = 100.0, temperature: float = 1.0, logit_bias: float | None = None) -> BcosNetwork:
        import torchvision

        body = getattr(torchvision.models, name)(weights=None, num_classes=num_classes)
        # v2 replaces the stem max-pool by AvgPool2d(3, 2, 1); convert_to_bcos does the same generally.
        return _torchvision_bcos(body, "conv1", in_channels, num_classes, b, max_out, norm, layer_scale, temperature, logit_bias)

    build.__name__ = f"build_bcos_{name}"
    build.__doc__ = f"B-cos {name} (torchvision layout; convs/fc -> B-cos, ReLU removed, max-pool -> avg-pool)."


for _name in ("resnet18", "resnet34", "resnet50"):
    _register_resnet(_name)


@register_architecture("bcos-vgg11")
def build_bcos_vgg11(*, in_channels: int, num_classes: int, b: float = 2.0, max_out: int = 1, norm: str = "none",
                     layer_scale: float = 1000.0, classifier_width: int = 4096, temperature: float = 1.0,
                     logit_bias: float | None = None) -> BcosNetwork:
    """B-cos VGG-11 (torchvision configuration "A", which has no batch norm, so ``norm`` defaults to v1's
    "none", with the paper's VGG layer scale 1000, Supp. C.1.2). ``classifier_width`` sets the two hidden fully connected widths (4096 in VGG; smaller for
    CPU tests, the 25088x4096 layer alone has 100M weights)."""
    from torchvision.models.vgg import cfgs, make_layers

    body = nn.Sequential()
    body.features = make_layers(cfgs["A"], batch_norm=norm == "uncentered-bn")
    body.avgpool = nn.AdaptiveAvgPool2d((7, 7))
    body.flatten = nn.Flatten(1)
    body.classifier = nn.Sequential(
        nn.Linear(512 * 7 * 7, classifier_width), nn.ReLU(True), nn.Dropout(0.5),
        nn.Linear(classifier_width, classifier_width), nn.ReLU(True), nn.Dropout(0.5),
        nn.Linear(classifier_width, num_classes),
    )
    return _torchvision_bcos(body, "features.0", in_channels, num_classes, b, max_out, norm, layer_scale, temperature, logit_bias)


@register_architecture("bcos-densenet121")
def build_bcos_densenet121(*, in_channels: int, num_classes: int, b: float = 2.0, max_out: int = 1, norm: str = "uncentered-bn",
                           growth_rate: int = 32, layer_scale: float = 100.0, temperature: float = 1.0,
                           logit_bias: float | None = None) -> BcosNetwork:
    """B-cos DenseNet-121 (torchvision layout). torchvision's forward applies a functional ReLU before
    pooling, so the head is rebuilt as features -> average pool -> B-cos classifier."""
    import torchvision

    net = torchvision.models.DenseNet(growth_rate, (6, 12, 24, 16), 64, num_classes=num_classes)
    body = _PooledFeatures(net.features, net.classifier)
    return _torchvision_bcos(body, "features.conv0", in_channels, num_classes, b, max_out, norm, layer_scale, temperature, logit_bias)
