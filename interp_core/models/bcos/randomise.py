"""B-cos layers that a model-parameter randomisation test can reach: ``reset_parameters`` on a copy.

Randomisation tests (Adebayo et al.'s cascading MPRT; Quantus' ``MPRT``, which randomises exactly the
modules that have a ``reset_parameters`` method, and silently tests nothing when it finds none) need every
layer to know how to re-draw its own weights. ``torch.nn``'s layers do; the B-cos layers of
:mod:`interp_core.models.bcos.layers` do not, and they may not get the method there: that module is part of
the training code of the shipped B-cos checkpoints, whose provenance records a hash of every class body, so
one added method would mark all five of them stale, and retraining them takes about 45 minutes and does
not reproduce them bit for bit. Randomising is a test-time concern, so it lives here instead:

* :class:`RandomisableBcosConv2d`, :class:`RandomisableBcosLinear` and
  :class:`RandomisableUncenteredBatchNorm2d` add ``reset_parameters`` and nothing else, drawing the
  weights with the layers' own initialisation (Kaiming-uniform with ``a = sqrt(5)`` for the B-cos
  convolution and linear layer, as their ``__init__``; weight 1 and running variance 1 for the uncentered
  batch norm, which is what ``nn.BatchNorm2d.reset_parameters`` does for its own statistics). A bias,
  where a subclass of these layers has one, is drawn as ``torch.nn`` draws a conv's (uniform in
  ``±1/sqrt(fan_in)``), or zeroed for a norm.
* :func:`randomisable_copy` returns a deep copy of a model whose B-cos layers use them. Only the class of
  each layer object changes (weights, buffers and flags are the copy's own), so the copy computes exactly
  what the model does and every ``isinstance`` check (explanation mode, the B-cos explainer) still holds.
  Subclasses of the B-cos layers (e.g. B-cosified layers with their own ``forward``) get a class made on
  the fly that puts ``reset_parameters`` in front of theirs.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn

from interp_core.models.bcos.layers import BcosConv2d, BcosLinear, UncenteredBatchNorm2d


def _reset_bias_like_torch(module: nn.Module) -> None:
    bias = getattr(module, "bias", None)
    if isinstance(bias, nn.Parameter):
        fan_in = module.weight[0].numel()
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(bias, -bound, bound)


class _ResetKaimingWeight:
    """``reset_parameters`` of the B-cos convolution and linear layer: their ``__init__``'s draw."""

    def reset_parameters(self) -> None:
        with torch.no_grad():
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            _reset_bias_like_torch(self)


class _ResetUncenteredNorm:
    """``reset_parameters`` of the uncentered batch norm: weight 1 and running variance 1, as built."""

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.running_var.fill_(1.0)
            bias = getattr(self, "bias", None)
            if isinstance(bias, nn.Parameter):
                bias.zero_()


class RandomisableBcosConv2d(_ResetKaimingWeight, BcosConv2d):
    """:class:`BcosConv2d` with ``reset_parameters`` (Kaiming-uniform, ``a = sqrt(5)``)."""


class RandomisableBcosLinear(_ResetKaimingWeight, BcosLinear):
    """:class:`BcosLinear` with ``reset_parameters`` (Kaiming-uniform, ``a = sqrt(5)``)."""


class RandomisableUncenteredBatchNorm2d(_ResetUncenteredNorm, UncenteredBatchNorm2d):
    """:class:`UncenteredBatchNorm2d` with ``reset_parameters`` (weight and running variance 1)."""


#: The randomisable class of each B-cos layer class (subclasses found and added by :func:`randomisable_class`).
_RANDOMISABLE: dict[type, type] = {
    BcosConv2d: RandomisableBcosConv2d,
    BcosLinear: RandomisableBcosLinear,
    UncenteredBatchNorm2d: RandomisableUncenteredBatchNorm2d,
}
_MIXINS = ((BcosConv2d, _ResetKaimingWeight), (BcosLinear, _ResetKaimingWeight), (UncenteredBatchNorm2d, _ResetUncenteredNorm))


def randomisable_class(cls: type) -> type | None:
    """The class with ``reset_parameters`` that stands in for the B-cos layer class ``cls`` (None: ``cls`` is
    no B-cos layer, or already has the method)."""
    if hasattr(cls, "reset_parameters") or not any(issubclass(cls, base) for base, _ in _MIXINS):
        return None
    if cls not in _RANDOMISABLE:
        mixin = next(m for base, m in _MIXINS if issubclass(cls, base))
        _RANDOMISABLE[cls] = type(f"Randomisable{cls.__name__}", (mixin, cls), {"__module__": __name__})
    return _RANDOMISABLE[cls]


def randomisable_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` in which every B-cos layer has ``reset_parameters`` (see the module
    docstring); the copy computes the same outputs, and ``model`` itself is left as it is."""
    twin = copy.deepcopy(model)
    for module in twin.modules():
        stand_in = randomisable_class(type(module))
        if stand_in is not None:
            module.__class__ = stand_in
    return twin
