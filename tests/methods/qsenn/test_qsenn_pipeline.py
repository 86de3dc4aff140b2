"""The Q-SENN pipeline on shapes (selection -> glm-saga path -> 4 iterations of quantisation and fine-tuning),
trained in a private cache on the shipped dense model (or a freshly trained one when none is shipped):
minutes on 2 CPU cores, so marked slow."""
from __future__ import annotations

import pytest
import torch


@pytest.mark.slow
def test_qsenn_shapes_trains_to_the_acceptance_targets(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    from interp_core.store import evaluate_recipe, train_recipe

    trained = train_recipe("qsenn-shapes", device="cpu", show_bar=False)
    weight = trained.model.decision_weight.detach()
    n_classes = weight.shape[0]
    nonzero = weight[weight != 0]
    assert nonzero.numel() == 5 * n_classes
    assert torch.all(nonzero.abs() == nonzero.abs()[0])  # one magnitude alpha
    assert trained.model.n_features == 24 < n_classes
    metrics = evaluate_recipe("qsenn-shapes", device="cpu")
    assert metrics["ternary"] and metrics["nonzero_per_class"] == 5.0
    assert metrics["accuracy"] >= 0.95 * metrics["dense_accuracy"]
    assert metrics["alignment_r"] > metrics["dense_alignment_r"]
    assert metrics["diversity_at_5"] > metrics["dense_diversity_at_5"]
    assert metrics["dependence"] < metrics["glm_saga5_dependence"]
