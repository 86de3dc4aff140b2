"""B-cos layers (B-cos Eq. 9, v2 layout) and the explanation-mode switch they all honour.

Every module here whose output scale depends on its input derives from :class:`DetachableModule`;
:func:`explanation_mode` detaches that scale on every such module of a model at once, which makes the
model the dynamic linear map ``W(x) x`` (B-cos Eq. 13). See :mod:`interp_core.models.bcos` for the v1/v2
choices.
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _pair

from interp_core.models.bcos.kernels import NORM_EPS, _bcos_output, _BcosConvStep, _SquareSum


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
