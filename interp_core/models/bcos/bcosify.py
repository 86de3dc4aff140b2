"""B-cosification (Arya, Rao, Böhle, Schiele, NeurIPS 2024): a trained conventional CNN cast as a B-cos
network, ready to be fine-tuned toward alignment.

A conv or linear layer is a B-cos layer with B = 1 and a bias, and a bias-free ReLU network is already
dynamic linear (B-cosification Sec. 3.2.1), so :func:`bcosify` first rewrites a trained classifier as a
:class:`~interp_core.models.bcos.BcosNetwork` that computes *the same function* (``b=1,
keep_biases=True``), then applies the paper's changes: every bias deleted and ``B`` set to its target at
once (Sec. 3.2.2). The paper's design choices (its Table 1) and ours:

* **Input**: the B-cos encoding ``[x, 1-x]`` (:class:`AddInverse`), and a first layer that reproduces the
  original one exactly. The paper keeps the mean/std normalisation inside the model and gives the first
  layer ``[W, -W] / 2``; that normalisation is a hidden bias (contributions then miss part of the logit).
  We fold it into the first layer instead: ``[W (1-μ)/σ, -W μ/σ]`` applied to ``[x, 1-x]`` equals ``W`` applied
  to ``(x-μ)/σ`` with no shift anywhere (:func:`encoded_first_weight`), so contributions sum to the logit.
  Our classifiers take their input as it is (``μ = 0, σ = 1``: the first layer is ``[W, 0]``).
* **Conv and linear layers** become :class:`BcosifiedConv2d` / :class:`BcosifiedLinear`: the pretrained
  weight *as it is* times the B-cos factor ``(|wᵀx| / ||x||)^(B-1)``, as the paper's ``BcosifyConv2d``. Our
  from-scratch layers normalise every weight row to unit norm, which would change the function at B = 1.
* **Biases** are all deleted (``keep_biases=False``, the paper's choice; decaying them was its ablation).
* **Batch norm** becomes an uncentered batch norm whose bias absorbs the running mean
  (``β - γ μ_run / σ_run``: :class:`BcosifiedBatchNorm2d`, equal to the original in eval mode), so deleting
  the bias removes both shifts, as the paper's ``BnUncV2``.
* **Activations**: ReLU is kept (the paper's ``act_layer=True``); any activation that is not piecewise
  linear is refused. **Pooling**: max-pooling is kept. The paper swaps the stem max-pool for an average pool
  to mirror its from-scratch models; that breaks the exact conversion, and a max-pool is piecewise linear,
  so contributions still sum to the logit. Deviation on purpose; ``avg_pool=True`` gives the paper's swap.
* **Classifier**: a linear classifier after global average pooling becomes a 1x1 B-cos convolution applied
  at every location *before* the pooling (the B-cos v2 layout the paper converts to; the same function at
  B = 1, not at B = 2). VGG's three-layer head after its 7x7 pool stays three B-cos linear layers (the
  paper has no VGG; an extrapolation).
* **Logits**: the logit bias ``-log(C-1)`` and no temperature (the paper's), for the BCE fine-tuning.
* **B**: set to the target at once (the paper's choice; it found a schedule no better).

Supported: our ``cnn`` and ``audio-cnn`` and the torchvision ResNets, DenseNet-121 and VGG-11 of
:mod:`interp_core.external.architectures`: a module with ``features(x)`` and a ``classifier``, built of
convolutions, linear layers, batch norms, ReLUs, pooling, dropout and containers. Anything else is refused
with the reason (:class:`BcosificationError`).
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.models.bcos.kernels import NORM_EPS, _bcos_output, _BcosConvStep, _SquareSum
from interp_core.models.bcos.layers import BcosConv2d, BcosLinear, UncenteredBatchNorm2d
from interp_core.models.bcos.networks import BcosNetwork

#: Parameter-free modules that keep a network piecewise linear (so its explanation stays complete).
PIECEWISE_LINEAR = (nn.ReLU, nn.MaxPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Dropout,
                    nn.Identity, nn.Flatten)


class BcosificationError(ValueError):
    """A model cannot be B-cosified; the message says why."""


class BcosifiedConv2d(BcosConv2d):
    """A B-cos convolution holding a pretrained weight as it is: ``out = wᵀx + b`` at B = 1, else
    ``(wᵀx + b) · (|wᵀx + b| / ||x||)^(B-1)`` per patch (B-cosification's ``BcosifyConv2d``: no unit-norm
    rows, so at B = 2 the factor is ``||w|| |cos(w, x)|``). ``bias`` only for the B = 1 function check.
    The patch norm and explanation mode are :class:`BcosConv2d`'s; no MaxOut."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] = 1,
                 padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1, groups: int = 1, *,
                 b: float = 2.0, bias: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, b=b)
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_channels))
        else:
            self.register_parameter("bias", None)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, groups={self.groups}, b={self.b}, bias={self.bias is not None}")

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, *, b: float, keep_bias: bool, weight: torch.Tensor | None = None) -> "BcosifiedConv2d":
        """The B-cos twin of ``conv`` with its weight (or ``weight``, e.g. the encoded first layer's)."""
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise BcosificationError(f"{conv} pads with {conv.padding_mode!r} / {conv.padding!r}; only integer zero padding converts.")
        weight = conv.weight if weight is None else weight
        layer = cls(weight.shape[1] * conv.groups, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, b=b, bias=keep_bias and conv.bias is not None)
        layer = layer.to(device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(weight)
            if layer.bias is not None:
                layer.bias.copy_(conv.bias)
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None and self._single_node():
            return _BcosConvStep.apply(x, self.weight, self.stride, self.padding, self.b, 1e-6)
        out = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if self.b == 1:
            return out
        inv = (self._summed_squares(x.detach() if self.detach_scale else x) + NORM_EPS).rsqrt()
        if self.groups == 1:
            return _bcos_output(out, inv, self.b, self.detach_scale, 1.0, self.training)
        n, _, h, w = out.shape  # each group's outputs share that group's patch norm
        grouped = out.reshape(n, self.groups, self.out_channels // self.groups, h, w)
        return _bcos_output(grouped, inv.unsqueeze(2), self.b, self.detach_scale, 1.0, self.training).reshape(n, -1, h, w)


class BcosifiedLinear(BcosLinear):
    """:class:`BcosifiedConv2d` for ``(..., in_features)`` inputs: a pretrained linear layer's weight as it
    is, optionally its bias, times ``(|wᵀx + b| / ||x||)^(B-1)``."""

    def __init__(self, in_features: int, out_features: int, *, b: float = 2.0, bias: bool = False) -> None:
        super().__init__(in_features, out_features, b=b)
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_features))
        else:
            self.register_parameter("bias", None)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, b={self.b}, bias={self.bias is not None}"

    @classmethod
    def from_linear(cls, linear: nn.Linear, *, b: float, keep_bias: bool) -> "BcosifiedLinear":
        layer = cls(linear.in_features, linear.out_features, b=b, bias=keep_bias and linear.bias is not None)
        layer = layer.to(device=linear.weight.device, dtype=linear.weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(linear.weight)
            if layer.bias is not None:
                layer.bias.copy_(linear.bias)
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight, self.bias)
        if self.b == 1:
            return out
        inv = (_SquareSum.apply(x.detach() if self.detach_scale else x, -1) + NORM_EPS).rsqrt()
        return _bcos_output(out, inv, self.b, self.detach_scale, 1.0, self.training)


class BcosifiedBatchNorm2d(UncenteredBatchNorm2d):
    """The uncentered batch norm ``x · γ / sqrt(Var + eps)`` with an optional bias that absorbs the original
    shift and running mean, ``β - γ μ_run / sqrt(var_run + eps)`` (B-cosification's ``BnUncV2``): equal to the
    original ``nn.BatchNorm2d`` in eval mode while the bias is kept. Training uses the batch variance, as
    :class:`UncenteredBatchNorm2d` (which also detaches it in explanation mode)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *, bias: bool = False) -> None:
        super().__init__(num_features, eps, momentum)
        if bias:
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("bias", None)

    @classmethod
    def from_batchnorm(cls, bn: nn.BatchNorm2d, *, keep_bias: bool) -> "BcosifiedBatchNorm2d":
        if bn.running_var is None or bn.running_mean is None:
            raise BcosificationError(f"{bn} keeps no running statistics; only batch norms with running statistics convert.")
        layer = cls(bn.num_features, bn.eps, bn.momentum or 0.1, bias=keep_bias)
        layer = layer.to(device=bn.running_var.device, dtype=bn.running_var.dtype)
        with torch.no_grad():
            gamma = bn.weight if bn.weight is not None else torch.ones_like(bn.running_var)
            layer.weight.copy_(gamma)
            layer.running_var.copy_(bn.running_var)
            if layer.bias is not None:
                beta = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_mean)
                layer.bias.copy_(beta - gamma * bn.running_mean / (bn.running_var + bn.eps).sqrt())
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)


class LocalClassifier(nn.Module):
    """The classifier as a 1x1 B-cos convolution at every location, then global average pooling:
    ``(N, D, h, w)`` -> ``(N, C)`` (the B-cos v2 layout B-cosification converts to)."""

    def __init__(self, conv: BcosifiedConv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.conv(maps).mean((2, 3))


class BcosifiedBody(nn.Module):
    """``backbone.features`` (the converted blocks) followed by the per-location classifier ``head``."""

    def __init__(self, backbone: nn.Module, head: LocalClassifier) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, x6: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.features(x6))


def encoded_first_weight(weight: torch.Tensor, mean: torch.Tensor | float = 0.0, std: torch.Tensor | float = 1.0) -> torch.Tensor:
    """The first layer's weight ``(O, 2C, kh, kw)`` on ``[x, 1-x]`` that equals ``weight`` ``(O, C, kh, kw)``
    on ``(x - mean) / std`` (per input channel): ``[W (1-μ)/σ, -W μ/σ]``, since ``x - μ = (1-μ) x - μ (1-x)``.
    No constant is left over, so the normalisation is no hidden bias; zero padding of ``[x, 1-x]``
    contributes nothing, as zero padding of the normalised input did."""
    c = weight.shape[1]
    mean = torch.as_tensor(mean, dtype=weight.dtype, device=weight.device).expand(c).view(1, c, 1, 1)
    std = torch.as_tensor(std, dtype=weight.dtype, device=weight.device).expand(c).view(1, c, 1, 1)
    return torch.cat([weight * (1 - mean) / std, -weight * mean / std], dim=1)


def _check_convertible(model: nn.Module) -> None:
    """Refuse a model with a module :func:`bcosify` cannot convert faithfully, naming it and why."""
    for name, module in model.named_modules():
        own = [p for p in module._parameters.values() if p is not None]
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)):
            if isinstance(module, nn.Conv2d) and type(module) is not nn.Conv2d:
                raise BcosificationError(f"{name} is a {type(module).__name__}; only plain nn.Conv2d layers convert.")
            continue
        if own:
            raise BcosificationError(f"{name or 'the model'} is a {type(module).__name__} with parameters of its own; only "
                                     "convolutions, linear layers and batch norms convert.")
        if not any(True for _ in module.children()) and not isinstance(module, PIECEWISE_LINEAR):
            raise BcosificationError(f"{name} is a {type(module).__name__}, which is not one of the piecewise-linear modules "
                                     f"a B-cos network keeps exact ({', '.join(t.__name__ for t in PIECEWISE_LINEAR)}).")


def _first_conv(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[str, nn.Conv2d, torch.Size]:
    """The convolution that sees the model's input, found by one probe forward pass; refuses a model whose
    input reaches its first convolution through anything else (e.g. a normalisation inside the model)."""
    param = next(model.parameters())
    probe = torch.zeros(1, *input_shape, dtype=param.dtype, device=param.device)
    calls: list[tuple[nn.Module, bool]] = []
    handles = [m.register_forward_pre_hook(lambda m, args: calls.append((m, args[0] is probe)))
               for m in model.modules() if isinstance(m, nn.Conv2d)]
    features: list[torch.Size] = []
    handles.append(model.classifier.register_forward_pre_hook(lambda m, args: features.append(args[0].shape)))
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(probe)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    if not calls or not calls[0][1]:
        raise BcosificationError("the model's input does not go straight into its first convolution; cast the input "
                                 "normalisation into input_mean/input_std instead of keeping it inside the model.")
    name = next(n for n, m in model.named_modules() if m is calls[0][0])
    return name, calls[0][0], features[0] if features else torch.Size()


def _replace(model: nn.Module, path: str, new: nn.Module) -> None:
    parent = model
    *parents, last = path.split(".")
    for part in parents:  # through _modules: BlockCNN names a method "features", torchvision a child
        parent = parent._modules[part]
    parent._modules[last] = new


def _convert_children(module: nn.Module, *, b: float, keep_biases: bool, avg_pool: bool) -> None:
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Conv2d):
            new: nn.Module = BcosifiedConv2d.from_conv(child, b=b, keep_bias=keep_biases)
        elif isinstance(child, nn.Linear):
            new = BcosifiedLinear.from_linear(child, b=b, keep_bias=keep_biases)
        elif isinstance(child, nn.BatchNorm2d):
            new = BcosifiedBatchNorm2d.from_batchnorm(child, keep_bias=keep_biases)
        elif avg_pool and isinstance(child, nn.MaxPool2d):
            new = nn.AvgPool2d(child.kernel_size, child.stride, child.padding, ceil_mode=child.ceil_mode)
        else:
            _convert_children(child, b=b, keep_biases=keep_biases, avg_pool=avg_pool)
            continue
        module._modules[name] = new


def bcosify(model: nn.Module, input_shape: tuple[int, ...], *, b: float = 2.0, keep_biases: bool = False,
            input_mean: float | tuple[float, ...] = 0.0, input_std: float | tuple[float, ...] = 1.0, avg_pool: bool = False,
            logit_bias: float | None = None, temperature: float = 1.0, augment: nn.Module | None = None) -> BcosNetwork:
    """A B-cos network made from a copy of the trained classifier ``model`` (left unchanged).

    ``input_shape``: one input ``(C, H, W)`` (a probe forward pass finds the first convolution and the
    classifier's input). ``b=1, keep_biases=True``: the same function (its logits are the original's plus
    the logit bias); the defaults are the paper's conversion (B = 2, every bias deleted). ``input_mean`` /
    ``input_std``: the normalisation ``model`` expects its input to have had, folded into the first layer
    (the B-cos network then takes the raw input). ``avg_pool``: the paper's max-pool -> average-pool swap.
    ``logit_bias`` None: ``-log(C-1)``. Raises :class:`BcosificationError` for a model it cannot convert.
    """
    if not callable(getattr(model, "features", None)) or not isinstance(getattr(model, "classifier", None), nn.Module):
        raise BcosificationError(f"a {type(model).__name__} has no features(x) and classifier; B-cosification converts "
                                 "classifiers with that interface (cnn, audio-cnn, the torchvision ResNets, DenseNet-121, VGG-11).")
    _check_convertible(model)
    model = copy.deepcopy(model)
    first_name, first, feature_shape = _first_conv(model, tuple(input_shape))
    if first.groups != 1:
        raise BcosificationError(f"the first convolution {first_name} is grouped; its [x, 1-x] inputs would not stay in their groups.")
    encoded = BcosifiedConv2d.from_conv(first, b=b, keep_bias=keep_biases,
                                        weight=encoded_first_weight(first.weight, input_mean, input_std))
    _replace(model, first_name, encoded)
    classifier = model.classifier
    head_name = next((n for n, m in model.named_children() if m is classifier), None)
    global_head = (isinstance(classifier, nn.Linear) and head_name is not None and len(feature_shape) == 2
                   and classifier.in_features == feature_shape[1])
    _convert_children(model, b=b, keep_biases=keep_biases, avg_pool=avg_pool)
    if global_head:
        weight = classifier.weight.detach().view(*classifier.weight.shape, 1, 1)
        conv = nn.Conv2d(classifier.in_features, classifier.out_features, 1, bias=classifier.bias is not None).to(weight)
        with torch.no_grad():
            conv.weight.copy_(weight)
            if classifier.bias is not None:
                conv.bias.copy_(classifier.bias)
        model._modules[head_name] = nn.Identity()
        body: nn.Module = BcosifiedBody(model, LocalClassifier(BcosifiedConv2d.from_conv(conv, b=b, keep_bias=keep_biases)))
        num_classes = classifier.out_features
    else:
        body = model
        num_classes = [m for m in model.modules() if isinstance(m, BcosifiedLinear)][-1].out_features
    network = BcosNetwork(body, num_classes, logit_bias=logit_bias, temperature=temperature, augment=augment)
    param = next(body.parameters())
    return network.to(device=param.device, dtype=param.dtype)


def bias_free(network: nn.Module) -> bool:
    """Whether no module of ``network`` has a bias left (the condition for contributions to sum to the logit)."""
    return not any(isinstance(getattr(m, "bias", None), torch.Tensor) for m in network.modules())
