"""The B-cos scaling as fused autograd kernels: the forward and backward passes of training steps.

:class:`_CosScale` computes ``a · (|a| / ||x|| + eps)^(B-1)`` (B-cos Eq. 9 from the linear output ``a``)
with a hand-written backward, :class:`_SquareSum` the patch norm's ``sum(x²)``, and :class:`_BcosConvStep`
a whole plain B-cos convolution of a training step as one autograd node. On training-sized tensors the
element-wise kernels run compiled by ``torch.compile`` into one loop where that works
(``INTERP_CORE_COMPILE=0`` switches it off), eager otherwise; both compute the same thing.
The layers apply the scaling through :func:`_bcos_output` (which honours explanation mode) or, for a plain
convolution's training step, :class:`_BcosConvStep`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


# Added under the square root of the patch norm; v2's value (v1 also added it to |cos|).
NORM_EPS = 1e-6


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
