"""Plain torchvision classifiers (ResNet-18/34/50, VGG-11, DenseNet-121) with the BlockCNN interface.

Registered as ``resnet18``, ``resnet34``, ``resnet50``, ``vgg11`` and ``densenet121`` in
:data:`interp_core.models.ARCHITECTURES` when this module is imported (:func:`interp_core.store.recipes.get_recipe`
imports it for a recipe naming one, see :data:`~interp_core.store.recipes.ARCHITECTURE_MODULES`); their
B-cos conversions are ``bcos-resnet50`` etc. of :mod:`interp_core.models.bcos`.

Each keeps torchvision's own module names, so a ``state_dict`` saved from ``torchvision.models.resnet18()``
loads as it is (``conv1.weight``, ``layer1.0.bn1.running_mean``, ``fc.weight``), and computes exactly
torchvision's forward. On top it offers what our explainers and families use of a
:class:`~interp_core.models.cnn.BlockCNN`: ``blocks`` (four stages for ResNet and DenseNet, the stem folded
into the first; five for VGG, one per max-pool), ``block_outputs``, ``features``, ``embed``, ``classifier``
and ``gradcam_layer`` (the last stage). ResNet and DenseNet end in global average pooling and one linear
layer like BlockCNN, so KMEx, Q-SENN and PIQ take them; VGG's embedding is its flattened 7x7 pool and its
classifier three layers, so it is for post-hoc methods and Compare.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from interp_core.models import register_architecture
from interp_core.models.cnn import BlockCNN

from interp_core.external import TORCHVISION_ARCHITECTURES  # noqa: F401  (the names registered here)


class TorchvisionBlocks(BlockCNN):
    """A torchvision classifier ``net`` whose children become this module's own (same state-dict keys).

    ``stages``: per block, the (dotted) names of the submodules it runs in order; ``classifier``: the name
    of the head; ``pool``: the name of the pooling module before the head (None: global average pooling);
    ``final_relu``: a ReLU ends the last block (DenseNet applies it in its forward, not as a module).

    A :class:`~interp_core.models.cnn.BlockCNN` whose ``blocks`` and ``classifier`` are views of
    torchvision's modules: ``block_outputs``, ``features`` and ``forward`` are BlockCNN's own."""

    def __init__(self, net: nn.Module, stages: list[list[str]], classifier: str, pool: str | None = None,
                 final_relu: bool = False):
        nn.Module.__init__(self)  # not BlockCNN's, which builds blocks, pool and classifier: these are torchvision's
        for name, child in net.named_children():
            # Straight into _modules: torchvision calls its body "features" and its head "classifier", names
            # BlockCNN gives a method and a property; the state-dict keys stay torchvision's.
            self._modules[name] = child
        self.__dict__["_layout"] = (tuple(tuple(names) for names in stages), classifier, pool, final_relu)

    def _submodule(self, path: str) -> nn.Module:
        module: nn.Module = self
        for part in path.split("."):
            module = module._modules[part]
        return module

    @property
    def blocks(self) -> nn.ModuleList:
        """The stages as a list of Sequentials over this module's own children (built on each access, so a
        child replaced later, e.g. a converted batch norm, is the one that runs)."""
        stages, _, _, final_relu = self.__dict__["_layout"]
        blocks = [nn.Sequential(*(self._submodule(n) for n in names)) for names in stages]
        if final_relu:
            blocks[-1].append(nn.ReLU())
        return nn.ModuleList(blocks)

    @property
    def classifier(self) -> nn.Module:
        return self._modules[self.__dict__["_layout"][1]]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled embedding ``(N, D)`` the classifier sees."""
        pool = self.__dict__["_layout"][2]
        maps = self.features(x)
        return (self._modules[pool](maps) if pool else maps.mean((2, 3), keepdim=True)).flatten(1)

    @property
    def gradcam_layer(self) -> nn.Module:
        """The last stage's last module (ResNet's ``layer4``), the conventional Grad-CAM layer."""
        stages = self.__dict__["_layout"][0]
        return self._submodule(stages[-1][-1])


def _replace_stem(parent: nn.Module, attr: str, in_channels: int) -> None:
    """Give the first convolution ``in_channels`` inputs (torchvision's take 3)."""
    conv: nn.Conv2d = getattr(parent, attr)
    if conv.in_channels != in_channels:
        setattr(parent, attr, nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                                        bias=conv.bias is not None))


def _register_resnet(name: str) -> None:
    @register_architecture(name)
    def build(*, in_channels: int, num_classes: int) -> TorchvisionBlocks:
        import torchvision

        net = getattr(torchvision.models, name)(weights=None, num_classes=num_classes)
        _replace_stem(net, "conv1", in_channels)
        stem = ["conv1", "bn1", "relu", "maxpool", "layer1"]
        return TorchvisionBlocks(net, [stem, ["layer2"], ["layer3"], ["layer4"]], "fc", pool="avgpool")

    build.__name__ = f"build_{name}"
    build.__doc__ = f"torchvision {name} (no pretrained weights) with the BlockCNN interface."


for _name in ("resnet18", "resnet34", "resnet50"):
    _register_resnet(_name)


@register_architecture("vgg11")
def build_vgg11(*, in_channels: int, num_classes: int) -> TorchvisionBlocks:
    """torchvision VGG-11 (configuration "A", no batch norm): five blocks, one per max-pool."""
    import torchvision

    net = torchvision.models.vgg11(weights=None, num_classes=num_classes)
    _replace_stem(net.features, "0", in_channels)
    stages, current = [], []
    for index, layer in enumerate(net.features):
        current.append(f"features.{index}")
        if isinstance(layer, nn.MaxPool2d):
            stages.append(current)
            current = []
    return TorchvisionBlocks(net, stages, "classifier", pool="avgpool")


@register_architecture("densenet121")
def build_densenet121(*, in_channels: int, num_classes: int) -> TorchvisionBlocks:
    """torchvision DenseNet-121: four dense blocks (the stem in the first, each transition ending its block;
    the final norm and torchvision's functional ReLU end the last)."""
    import torchvision

    net = torchvision.models.densenet121(weights=None, num_classes=num_classes)
    _replace_stem(net.features, "conv0", in_channels)
    f = "features."
    stages = [[f + n for n in ("conv0", "norm0", "relu0", "pool0", "denseblock1", "transition1")],
              [f + "denseblock2", f + "transition2"], [f + "denseblock3", f + "transition3"], [f + "denseblock4", f + "norm5"]]
    return TorchvisionBlocks(net, stages, "classifier", final_relu=True)
