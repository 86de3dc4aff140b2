"""Q-SENN's quantisation (Eqs. 3-5), the bias rule, SLDD's and glm-saga5's picks from a path, and the
ternary layer as the model holds it."""
from __future__ import annotations

import pytest
import torch

from interp_core.methods.qsenn.sparse import PathPoint, glm_saga5_pick, qsenn_bias, quantize_ternary, sldd_pick, top_k_entries
from tests.methods.qsenn.contract_subjects import tiny_qsenn


def test_quantise_keeps_exactly_n_weights_of_one_magnitude():
    torch.manual_seed(1)
    dense = torch.randn(48, 12)
    ternary, alpha = quantize_ternary(dense, 5 * 48)
    nonzero = ternary[ternary != 0]
    assert nonzero.numel() == 240
    assert torch.all(nonzero.abs() == alpha)
    # Eq. 3: the kept entries are the 240 largest |w|; Eq. 4: alpha is their mean |w|; Eq. 5: signs kept.
    threshold = dense.abs().flatten().sort(descending=True).values[239]
    kept = ternary != 0
    assert torch.equal(kept, dense.abs() >= threshold)
    assert alpha == pytest.approx(float(dense.abs()[kept].mean()), rel=1e-6)
    assert torch.equal(torch.sign(ternary[kept]), torch.sign(dense[kept]))


def test_quantise_breaks_ties_to_exactly_n_and_keeps_the_most_negative_sign():
    dense = torch.tensor([[-3.0, 1.0, 1.0], [1.0, 0.5, 0.0]])
    ternary, alpha = quantize_ternary(dense, 3)
    assert int((ternary != 0).sum()) == 3
    assert alpha == pytest.approx((3 + 1 + 1) / 3)
    assert ternary[0, 0] == -alpha  # the reference's bucketize flips the global max-magnitude negative entry


def test_quantise_with_fewer_nonzeros_than_asked_keeps_them_all():
    dense = torch.tensor([[0.0, 2.0], [0.0, -1.0]])
    ternary, alpha = quantize_ternary(dense, 3)
    assert torch.equal(ternary, torch.tensor([[0.0, 1.5], [0.0, -1.5]])) and alpha == 1.5


def test_bias_rule_gives_lower_bias_to_more_net_positive_classes():
    ternary = torch.tensor([[1.0, 1, 1, 0], [1, -1, 0, 0], [-1, -1, 0, 1], [1, 1, -1, 0]])
    # d = 3, 0, -1, 1: min -1, spread 4 -> b = 2 - (d + 1) * 4 / 4 = -2, 1, 2, 0
    assert torch.allclose(qsenn_bias(ternary, 2.0), torch.tensor([-2.0, 1.0, 2.0, 0.0]))
    assert torch.equal(qsenn_bias(torch.eye(3), 2.0), torch.zeros(3))  # every d equal: no division by zero


def _point(weight: list[list[float]]) -> PathPoint:
    w = torch.tensor(weight)
    return PathPoint(0.0, w, torch.arange(w.shape[0], dtype=torch.float32), 0.0, 0.0)


def test_sldd_pick_takes_the_densest_point_within_twice_the_budget_and_keeps_real_values():
    path = [_point([[0, 0, 0], [0, 0, 0]]), _point([[0.1, 0, 0], [0, 0.2, 0]]),
            _point([[0.3, -0.2, 0], [0, 0.4, 0.05]]), _point([[0.5, -0.4, 0.1], [0.3, 0.6, 0.2]])]
    weight, bias, index = sldd_pick(path, 1)  # limit 2 per class -> point 2 (1.5 per class), top 2 entries
    assert index == 2
    assert torch.equal(weight, torch.tensor([[0.0, 0, 0], [0, 0.4, 0]]) + torch.tensor([[0.3, 0, 0], [0, 0, 0]]))
    assert torch.equal(bias, path[2].bias)
    weight5, _, index5 = glm_saga5_pick(path, 1)  # at most 1 per class -> point 1, as it is
    assert index5 == 1 and torch.equal(weight5, path[1].weight)


def test_top_k_entries_is_exact():
    mask = top_k_entries(torch.ones(4, 4), 5)
    assert int(mask.sum()) == 5


def test_model_holds_the_ternary_layer():
    model = tiny_qsenn(n_classes=3, n_features=4, per_class=2)
    w = model.decision_weight
    assert int((w != 0).sum()) == 6
    assert model.alpha is not None and torch.all(w[w != 0].abs() == model.alpha)
    assert model.class_features(0) == [j for j in range(4) if w[0, j] != 0]
    model.weight.data[0, 0] = 0.123
    assert model.alpha is None


@pytest.mark.parametrize("name", ["qsenn-shapes", "qsenn-shapes-spurious", "qsenn-sounds"])
def test_the_shipped_qsenn_layers_are_ternary_with_five_weights_per_class(name):
    """The acceptance's 5·C non-zeros of one magnitude, on the shipped checkpoints' weight tensors."""
    from interp_core.store import load_model

    model = load_model(name, "cpu", train_if_missing=False, show_bar=False).model
    w = model.decision_weight.detach()
    n_classes, n_features = w.shape
    nonzero = w[w != 0]
    assert nonzero.numel() == 5 * n_classes and n_features < n_classes
    assert torch.all(nonzero.abs() == nonzero.abs()[0]) and model.alpha == pytest.approx(float(nonzero.abs()[0]))
    assert (nonzero > 0).any() and torch.equal(nonzero.abs().unique(), nonzero.abs()[:1])
