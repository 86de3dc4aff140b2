"""Batch norm over the global batch of all ranks, so that N processes compute what one process computes.

:class:`GlobalBatchNorm2d` has SyncBatchNorm's semantics (torch's SyncBatchNorm runs on GPUs only): the
statistics of the global batch from all-reduced sums, differentiable through every rank's input.
:func:`convert_batchnorm` swaps it in for ``nn.BatchNorm2d``; outside a process group it is one
process's batch norm computed the same way.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn as nn


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks whose gradient is the sum of the ranks' gradients (each rank's loss depends on every
    rank's input through the shared statistics)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, group) -> torch.Tensor:
        ctx.group = group
        out = tensor.clone()
        dist.all_reduce(out, group=group)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


def _global_sum(tensor: torch.Tensor, group) -> torch.Tensor:
    return _AllReduceSum.apply(tensor, group) if dist.is_available() and dist.is_initialized() else tensor


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch over all ranks of ``group``.

    Two passes, as a one-process batch norm: the mean from the all-reduced sums and counts, then the
    biased variance from the all-reduced squared deviations; the running variance gets the unbiased one
    (``n / (n - 1)``, n the global count per channel). Computed in float32 (bf16 inputs under autocast
    come back in bf16; float64 on the CPU). Same parameters and buffers as BatchNorm2d, so state dicts are interchangeable;
    in eval mode it is BatchNorm2d."""

    group = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        channels = x.shape[1]
        # float64 on the CPU, as torch's CPU batch norm accumulates: the statistics' gradient is a sum over
        # the whole global batch that nearly cancels, and float32 sums left errors of 0.5% in the first conv's.
        xf = x.to(torch.float64 if x.device.type == "cpu" else torch.promote_types(x.dtype, torch.float32))
        count = xf.new_tensor([xf.numel() / channels])
        totals = _global_sum(torch.cat([xf.sum((0, 2, 3)), count]), self.group)
        n = totals[-1].detach()
        mean = totals[:channels] / n
        centred = xf - mean.view(1, -1, 1, 1)
        var = _global_sum((centred * centred).sum((0, 2, 3)), self.group) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - factor).add_(mean.detach().to(self.running_mean.dtype), alpha=factor)
                unbiased = var.detach() * (n / (n - 1)).clamp(min=0) if n > 1 else var.detach()
                self.running_var.mul_(1 - factor).add_(unbiased.to(self.running_var.dtype), alpha=factor)
        y = centred * torch.rsqrt(var + self.eps).view(1, -1, 1, 1)
        if self.affine:
            y = y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return y.to(x.dtype)


def convert_batchnorm(module: nn.Module, group=None) -> nn.Module:
    """Replace every ``nn.BatchNorm2d`` (exactly that class) in ``module`` by a :class:`GlobalBatchNorm2d`
    with the same parameters, buffers and ``requires_grad`` (in place; returns ``module``)."""
    for name, child in list(module.named_children()):
        if type(child) is nn.BatchNorm2d:
            new = GlobalBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            reference = child.running_mean if child.running_mean is not None else child.weight
            new.to(device=reference.device, dtype=reference.dtype).load_state_dict(child.state_dict())
            if child.affine:
                new.weight.requires_grad_(child.weight.requires_grad)
                new.bias.requires_grad_(child.bias.requires_grad)
            new.group = group
            new.train(child.training)
            setattr(module, name, new)
        else:
            convert_batchnorm(child, group)
    return module
