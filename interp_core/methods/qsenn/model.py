"""The model of the Q-SENN family: a convolutional backbone, the selected feature maps, their
normalisation and one linear decision layer (dense, sparse or ternary).

One class serves every model of the family, so metrics, explainers and views never special-case one:

* dense: all channels of the last block, identity normalisation (mean 0, std 1), a trainable dense layer;
* glm-saga5: all channels, the standardisation of the sparse fit, a sparse real-valued layer;
* SLDD: n*_f selected channels, trainable mean/std, a fixed sparse real-valued layer;
* Q-SENN: n*_f selected channels, trainable mean/std, a fixed ternary layer {-alpha, 0, +alpha}.

As in the reference (method-notes §2.8), the feature maps are the last block's channels after its ReLU
(so M >= 0), pooled by the global mean; the layer sees z = (f - mean) / max(std, 1e-6). Dropout acts on
z during training only. The selected channels are sliced from the last block's output (the backbone keeps
its dense width, so any architecture of ``interp_core.models`` works, residual last blocks included).
"""
from __future__ import annotations

import torch
import torch.nn as nn

_MIN_STD = 1e-6


class QSENNModel(nn.Module):
    """``blocks`` (the conv blocks of a :class:`~interp_core.models.cnn.BlockCNN`, last one ``width``
    channels) -> ``n_features`` selected maps -> pooled -> normalised -> ``(num_classes, n_features)`` layer.

    State (all in the checkpoint): ``feature_ids`` ``(n_f,)`` long, the backbone channel of each feature;
    ``mean``, ``std`` ``(n_f,)`` parameters; ``weight`` ``(C, n_f)`` and ``bias`` ``(C,)`` parameters (frozen
    by the trainer while the features adapt). In training mode the forward keeps its feature maps in
    ``last_maps`` for the Feature Diversity Loss (a :class:`~interp_core.training.engine.LossTerm`)."""

    def __init__(self, blocks: nn.ModuleList, width: int, num_classes: int, n_features: int | None = None, dropout: float = 0.0):
        super().__init__()
        n_features = width if n_features is None else n_features
        if not 0 < n_features <= width:
            raise ValueError(f"n_features must be in 1..{width}, got {n_features}.")
        self.blocks = blocks
        self.width = width
        self.register_buffer("feature_ids", torch.arange(n_features))
        self.mean = nn.Parameter(torch.zeros(n_features))
        self.std = nn.Parameter(torch.ones(n_features))
        self.weight = nn.Parameter(torch.zeros(num_classes, n_features))
        self.bias = nn.Parameter(torch.zeros(num_classes))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)  # nn.Linear's default initialisation
        bound = 1 / n_features ** 0.5
        nn.init.uniform_(self.bias, -bound, bound)
        self.dropout = nn.Dropout(dropout)
        self.last_maps: torch.Tensor | None = None

    # ------------------------------------------------------------------ sizes and the decision layer
    @property
    def n_features(self) -> int:
        return int(self.feature_ids.numel())

    @property
    def num_classes(self) -> int:
        return int(self.weight.shape[0])

    @property
    def decision_weight(self) -> torch.Tensor:
        """The decision layer W ``(C, n_f)`` (on normalised features)."""
        return self.weight

    @property
    def decision_bias(self) -> torch.Tensor:
        """The bias ``(C,)``."""
        return self.bias

    @property
    def safe_std(self) -> torch.Tensor:
        return self.std.clamp_min(_MIN_STD)

    @property
    def map_weights(self) -> torch.Tensor:
        """``W / std`` ``(C, n_f)``: the weights that multiply the raw maps in the logit,
        ``logit_c = mean_p sum_j map_weights[c, j] M_j(p) + map_offset[c]``."""
        return self.weight / self.safe_std

    @property
    def map_offset(self) -> torch.Tensor:
        """``b - W (mean / std)`` ``(C,)``: the part of each logit that no feature map carries."""
        return self.bias - self.weight @ (self.mean / self.safe_std)

    @property
    def alpha(self) -> float | None:
        """The one shared magnitude of a ternary layer (every non-zero weight is +alpha or -alpha), else None."""
        w = self.weight.detach()
        nonzero = w[w != 0].abs()
        if nonzero.numel() == 0:
            return None
        a = float(nonzero.mean())
        return a if bool(torch.allclose(nonzero, torch.full_like(nonzero, a), rtol=1e-5, atol=0.0)) else None

    def class_features(self, c: int) -> list[int]:
        """Feature indices j with ``W[c, j] != 0``, largest |W| first."""
        row = self.weight.detach()[c]
        order = torch.argsort(row.abs(), descending=True, stable=True)
        return [int(j) for j in order if row[j] != 0]

    # ------------------------------------------------------------------ forward pieces
    def backbone_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Every channel of the last block ``(N, width, h, w)``."""
        for block in self.blocks:
            x = block(x)
        return x

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The selected feature maps M(x) ``(N, n_f, h, w)`` (raw, >= 0)."""
        maps = self.backbone_maps(x)
        if self.n_features == self.width:  # every channel, in backbone order (set_selection enforces it)
            return maps
        return maps.index_select(1, self.feature_ids)

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        """Raw pooled features f ``(N, n_f)`` = spatial mean of the feature maps."""
        return self.feature_maps(x).mean((2, 3))

    def normalise(self, pooled: torch.Tensor) -> torch.Tensor:
        return (pooled - self.mean) / self.safe_std

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised pooled features z ``(N, n_f)``: what the decision layer sees."""
        return self.normalise(self.pooled_features(x))

    def decide(self, z: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, C)`` from normalised features ``(N, n_f)``."""
        return self.dropout(z) @ self.weight.t() + self.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.feature_maps(x)
        self.last_maps = maps if self.training else None
        return self.decide(self.normalise(maps.mean((2, 3))))

    # ------------------------------------------------------------------ set by the trainer
    @torch.no_grad()
    def set_selection(self, channels: torch.Tensor) -> None:
        """Keep backbone ``channels`` ``(n_f,)`` as the features (same count as built)."""
        channels = torch.as_tensor(channels, dtype=torch.long, device=self.feature_ids.device)
        if channels.shape != self.feature_ids.shape:
            raise ValueError(f"Expected {self.n_features} channels, got {tuple(channels.shape)}.")
        if self.n_features == self.width and not bool((channels == torch.arange(self.width, device=channels.device)).all()):
            raise ValueError("A model that keeps every channel keeps them in backbone order.")
        self.feature_ids.copy_(channels)

    @torch.no_grad()
    def set_layer(self, weight: torch.Tensor, bias: torch.Tensor, mean: torch.Tensor | None = None, std: torch.Tensor | None = None) -> None:
        """Set the decision layer ``(C, n_f)``, ``(C,)`` and, if given, the normalisation ``(n_f,)``."""
        self.weight.copy_(weight)
        self.bias.copy_(bias)
        if mean is not None:
            self.mean.copy_(mean)
        if std is not None:
            self.std.copy_(std)

    def freeze_layer(self, frozen: bool = True) -> "QSENNModel":
        """Fix W and b (fine-tuning: the features adapt to the layer; mean/std and backbone stay trainable)."""
        self.weight.requires_grad_(not frozen)
        self.bias.requires_grad_(not frozen)
        return self

    def freeze_normalisation(self, frozen: bool = True) -> "QSENNModel":
        self.mean.requires_grad_(not frozen)
        self.std.requires_grad_(not frozen)
        return self


def build_qsenn_model(arch: str, *, in_channels: int, num_classes: int, n_features: int | None = None, dropout: float = 0.0,
                      **arch_kwargs) -> QSENNModel:
    """A :class:`QSENNModel` on the conv blocks of architecture ``arch`` (its own classifier is dropped)."""
    from interp_core.models import build_model

    cnn = build_model(arch, in_channels=in_channels, num_classes=num_classes, **arch_kwargs)
    if not hasattr(cnn, "blocks") or not hasattr(cnn, "classifier"):
        raise ValueError(f"Architecture {arch!r} has no conv blocks and linear classifier to build a Q-SENN model on.")
    return QSENNModel(cnn.blocks, cnn.classifier.in_features, num_classes, n_features, dropout)
