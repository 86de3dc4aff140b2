"""A tiny Q-SENN model (4 of 10 features, a ternary layer with 2 weights per class) for the contract test."""
from __future__ import annotations

import torch

from interp_core.methods.qsenn.model import build_qsenn_model
from interp_core.methods.qsenn.sparse import qsenn_bias, quantize_ternary
from interp_core.store.card import ModelCard
from tiny_data import tiny_split


def tiny_qsenn(n_classes: int = 3, n_features: int = 4, per_class: int = 2, seed: int = 0):
    """A 16x16 Q-SENN model with a ternary layer of ``per_class * n_classes`` weights and a non-trivial
    normalisation (so that every term of the logit is exercised)."""
    torch.manual_seed(seed)
    model = build_qsenn_model("cnn", in_channels=3, num_classes=n_classes, n_features=n_features, widths=(4, 6, 8, 10))
    model.set_selection(torch.tensor([1, 3, 4, 8][:n_features]))
    dense = torch.randn(n_classes, n_features)
    weight, _ = quantize_ternary(dense, per_class * n_classes)
    model.set_layer(weight, qsenn_bias(weight, 0.5), mean=torch.rand(n_features) * 0.1, std=0.5 + torch.rand(n_features))
    return model.eval()


def subjects():
    model = tiny_qsenn()
    card = ModelCard.for_module(model, family="qsenn", kind="qsenn", num_classes=3, input_shape=(3, 16, 16))
    return {"Q-SENN model": (model, card, tiny_split(8).inputs([4])[0])}
