"""B-cos conversions of torchvision models (B-cos Sec. 3.3): ``bcos-resnet18/34/50``, ``bcos-vgg11`` and
``bcos-densenet121``, built from torchvision's layouts by :func:`convert_to_bcos`."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.models.bcos.layers import BcosConv2d, BcosLinear, UncenteredBatchNorm2d
from interp_core.models.bcos.networks import BcosNetwork
from interp_core.models.registry import register_architecture


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
