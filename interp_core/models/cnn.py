"""Standard (non-interpretable) CNNs: the baselines that post-hoc methods, KMEx and PIQ explain.

All share :class:`BlockCNN`: a sequence of convolutional blocks (exposed for Grad-CAM and for KMEx's
per-block explanations), global average pooling to an embedding, and one linear classifier.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from interp_core.models.registry import register_architecture


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class ResidualConv(nn.Module):
    """3x3 conv + BN + ReLU with an identity skip (the residual layer of the PIQ audio classifier)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class BlockCNN(nn.Module):
    """Conv blocks -> global average pool -> linear classifier.

    ``block_outputs(x)`` returns every block's feature map, ``embed(x)`` the pooled ``(N, D)`` embedding
    (the KMEx latent space), ``forward(x)`` the logits ``(N, num_classes)``.
    """

    def __init__(self, blocks: list[nn.Module], width: int, num_classes: int):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def block_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        return outputs

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))

    @property
    def gradcam_layer(self) -> nn.Module:
        """The last convolutional block, the conventional Grad-CAM layer."""
        return self.blocks[-1]


@register_architecture("cnn")
def build_cnn(*, in_channels: int, num_classes: int, widths: tuple[int, ...] = (24, 48, 96, 128), first_stride: int = 2) -> BlockCNN:
    """Small image CNN: block 1 (optionally strided), max-pool after blocks 2 and 3, block 4 at 1/8 size."""
    w1, w2, w3, w4 = widths
    blocks = [
        nn.Sequential(*conv_bn_relu(in_channels, w1, first_stride)),
        nn.Sequential(*conv_bn_relu(w1, w2), nn.MaxPool2d(2)),
        nn.Sequential(*conv_bn_relu(w2, w3), nn.MaxPool2d(2)),
        nn.Sequential(*conv_bn_relu(w3, w4)),
    ]
    return BlockCNN(blocks, w4, num_classes)


@register_architecture("audio-cnn")
def build_audio_cnn(*, in_channels: int, num_classes: int, widths: tuple[int, ...] = (16, 32, 64, 128)) -> BlockCNN:
    """The PIQ paper's audio classifier at CPU size: four stride-2 conv layers with BN and ReLU on the
    log-magnitude spectrogram, a residual conv layer, then a linear classifier (PIQ App. F)."""
    blocks, cin = [], in_channels
    for i, w in enumerate(widths):
        layers = conv_bn_relu(cin, w, stride=2)
        if i == len(widths) - 1:
            layers.append(ResidualConv(w))
        blocks.append(nn.Sequential(*layers))
        cin = w
    return BlockCNN(blocks, widths[-1], num_classes)
