"""The cascading model-parameter randomisation test (it randomises B-cos layers, which have no
``reset_parameters``) and the map statistics it and single deletion share (Spearman, Gini)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
import torch.nn as nn

from interp_core.metrics.map_statistics import gini, spearman_rows
from interp_core.metrics.randomisation import cascading_randomisation, layer_order, randomisation_summary, redraw_parameters


def test_spearman_rows_matches_scipy_and_is_nan_for_constant_rows():
    rng = np.random.default_rng(0)
    a, b = rng.random((5, 30)), rng.random((5, 30))
    b[1] = a[1] ** 3  # same order
    b[2, :10] = 0.5  # ties
    expected = [scipy.stats.spearmanr(x, y).statistic for x, y in zip(a, b)]
    assert spearman_rows(a, b) == pytest.approx(expected)
    assert spearman_rows(a, b)[1] == pytest.approx(1.0)
    assert np.isnan(spearman_rows(np.ones((1, 4)), a[:1, :4]))[0]


def test_gini_of_constant_one_hot_and_uniform_noise():
    assert gini(np.ones((1, 8, 8)))[0] == pytest.approx(0.0)
    one_hot = np.zeros((1, 100))
    one_hot[0, 7] = -3.0  # the magnitude counts
    assert gini(one_hot)[0] == pytest.approx(1 - 1 / 100)
    assert gini(np.zeros((1, 5)))[0] == 0.0
    noise = np.random.default_rng(0).random((1, 200_000))
    assert gini(noise)[0] == pytest.approx(1 / 3, abs=0.005)  # Gini of U(0, 1)


def _bcos_net():
    from interp_core.models import build_model

    torch.manual_seed(0)
    return build_model("bcos-cnn", in_channels=3, num_classes=3, widths=(8, 8, 16), strides=(1, 2, 1)).eval()


def test_bcos_layers_are_redrawn_although_they_have_no_reset_parameters():
    net = _bcos_net()
    layers = [m for m in net.modules() if any(True for _ in m.parameters(recurse=False))]
    assert layers and not any(hasattr(m, "reset_parameters") for m in layers)  # nothing Quantus-style could reset
    before = [p.detach().clone() for p in net.parameters()]
    for i, m in enumerate(layers):
        redraw_parameters(m, seed=i)
    after = list(net.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after) if a.numel() > 1)
    # the same seed re-draws the same values, with each tensor's mean and spread
    again = _bcos_net()
    first = next(m for m in again.modules() if any(True for _ in m.parameters(recurse=False)))
    w = next(first.parameters())
    mean, std = w.mean().item(), w.std(unbiased=False).item()
    redraw_parameters(first, seed=0)
    assert torch.equal(w, next(layers[0].parameters()))
    assert w.mean().item() == pytest.approx(mean, abs=3 * std / w.numel() ** 0.5 + 1e-6)
    assert w.std(unbiased=False).item() == pytest.approx(std, rel=0.2)


class _Net(nn.Module):
    """Registered out of the order it runs in, with a head the forward never calls and its own parameter."""

    def __init__(self):
        super().__init__()
        self.late = nn.Linear(5, 3)
        self.early = nn.Linear(4, 5)
        self.unused = nn.Linear(2, 2)
        self.scale = nn.Parameter(torch.ones(3))

    def forward(self, x):
        return self.late(torch.relu(self.early(x))) * self.scale


def test_layer_order_runs_from_the_output_to_the_input():
    net = _Net()
    # the model itself ("") finishes last: its own parameter is the output side
    assert layer_order(net, lambda: net(torch.zeros(1, 4))) == ["unused", "", "late", "early"]


def _gradient(module):
    def attribute(inputs, target):
        x = inputs.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(module(x).gather(1, target.view(-1, 1)).sum(), x)
        return grad.sum(1)

    return attribute


def test_gradient_map_decorrelates_and_a_model_free_map_does_not():
    net = _bcos_net()
    x = torch.rand(4, 3, 8, 8)
    target = torch.tensor([0, 1, 2, 0])
    result = cascading_randomisation(net, _gradient, x, target, seed=1)
    owners = [m for m in net.modules() if any(True for _ in m.parameters(recurse=False))]
    assert len(result["layers"]) == len(owners) == 4 and result["correlations"].shape == (4, 4)
    curve = randomisation_summary(result["correlations"])
    assert curve[-1] < 0.5  # the fully randomised B-cos network's gradients no longer match
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), _bcos_net().parameters()))  # the model is untouched
    edge = cascading_randomisation(net, lambda module: (lambda inputs, t: inputs.sum(1)), x, target)
    assert randomisation_summary(edge["correlations"]) == pytest.approx([1.0] * 4)  # a map of the input alone


def test_explaining_only_the_fully_randomised_model_gives_the_last_step():
    net = _bcos_net()
    x, target = torch.rand(3, 3, 8, 8), torch.tensor([0, 1, 2])
    every = cascading_randomisation(net, _gradient, x, target, seed=5)
    last = cascading_randomisation(net, _gradient, x, target, seed=5, every_step=False)
    assert last["evaluated"] == [4] and every["evaluated"] == [1, 2, 3, 4]
    assert np.allclose(last["correlations"][0], every["correlations"][-1])
