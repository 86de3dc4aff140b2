"""B-cos layers made randomisable on a copy (interp_core.models.bcos.randomise): reset_parameters draws what
the layer's own __init__ draws, the copy computes what the model computes, the model is left alone."""
from __future__ import annotations

import torch
import torch.nn as nn

from interp_core.models import build_model
from interp_core.models.bcos import BcosConv2d, BcosLinear, UncenteredBatchNorm2d, explanation_mode
from interp_core.models.bcos.randomise import (
    RandomisableBcosConv2d,
    RandomisableBcosLinear,
    randomisable_class,
    randomisable_copy,
)


def test_reset_draws_the_layers_own_initialisation():
    torch.manual_seed(3)
    conv = BcosConv2d(4, 6, 3, padding=1, b=2.0, max_out=2)
    torch.manual_seed(3)
    linear = BcosLinear(5, 7)
    fresh_conv, fresh_linear = conv.weight.detach().clone(), linear.weight.detach().clone()
    model = nn.Sequential(conv, linear)
    copy = randomisable_copy(model)
    assert isinstance(copy[0], RandomisableBcosConv2d) and isinstance(copy[1], RandomisableBcosLinear)
    with torch.no_grad():
        copy[0].weight.mul_(5)
    torch.manual_seed(3)
    copy[0].reset_parameters()
    torch.manual_seed(3)
    copy[1].reset_parameters()
    torch.testing.assert_close(copy[0].weight, fresh_conv, rtol=0, atol=0)
    torch.testing.assert_close(copy[1].weight, fresh_linear, rtol=0, atol=0)
    assert type(model[0]) is BcosConv2d and not hasattr(model[0], "reset_parameters")


def test_uncentered_norm_resets_to_identity():
    norm = UncenteredBatchNorm2d(3)
    with torch.no_grad():
        norm.weight.mul_(2)
        norm.running_var.fill_(4)
    copy = randomisable_copy(norm)
    copy.reset_parameters()
    assert torch.equal(copy.weight, torch.ones(3)) and torch.equal(copy.running_var, torch.ones(3))
    assert torch.equal(norm.running_var, torch.full((3,), 4.0))


def test_copy_is_the_same_network_and_still_a_bcos_network():
    torch.manual_seed(0)
    model = build_model("bcos-cnn", in_channels=3, num_classes=3, widths=(8, 8, 16), strides=(1, 2, 1)).eval()
    copy = randomisable_copy(model).eval()
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(copy(x), model(x))
    with explanation_mode(copy):
        assert all(m.detach_scale for m in copy.modules() if isinstance(m, BcosConv2d))
    assert type(copy) is type(model)


def test_subclasses_keep_their_forward_and_gain_reset():
    class Shifted(BcosLinear):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.bias = nn.Parameter(torch.zeros(self.out_features))

        def forward(self, x):
            return super().forward(x) + self.bias

    layer = Shifted(4, 3)
    stand_in = randomisable_class(Shifted)
    assert stand_in is randomisable_class(Shifted) and issubclass(stand_in, Shifted)
    assert randomisable_class(nn.Linear) is None and randomisable_class(RandomisableBcosLinear) is None
    copy = randomisable_copy(layer)
    x = torch.rand(2, 4)
    assert torch.equal(copy(x), layer(x))
    copy.reset_parameters()
    assert not torch.equal(copy.bias, layer.bias) and copy.bias.abs().max() <= 0.5  # U(±1/sqrt(4))
