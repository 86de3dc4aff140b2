"""B-cosification: the conversion computes the original function (B = 1, biases kept), every weight is
copied, the paper's changes make contributions complete, and the tests can tell when they are not."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.models import build_model
from interp_core.models.bcos import explanation_mode
from interp_core.models.bcos.bcosify import (
    BcosificationError,
    BcosifiedBatchNorm2d,
    BcosifiedConv2d,
    BcosifiedLinear,
    bcosify,
    bias_free,
    encoded_first_weight,
)

ARCHITECTURES = [("cnn", (3, 64, 64)), ("audio-cnn", (1, 129, 91)), ("resnet18", (3, 64, 64)), ("densenet121", (3, 32, 32))]


def _randomised(arch: str, shape: tuple[int, ...], classes: int = 7, seed: int = 0) -> nn.Module:
    """A random-weights ``arch`` with random batch-norm statistics and affine parameters, in float64, eval."""
    if arch in ("resnet18", "densenet121", "vgg11"):
        import interp_core.external.architectures  # noqa: F401  (registers the torchvision builders)
    torch.manual_seed(seed)
    model = build_model(arch, in_channels=shape[0], num_classes=classes)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(-1.5, 1.5)  # negative gammas too: ReLU after BN is no MaxOut (notes §4.8)
                m.bias.uniform_(-0.5, 0.5)
            elif isinstance(m, nn.Linear):
                m.bias.uniform_(-0.5, 0.5)
    return model.double().eval()


def _completeness(net, x: torch.Tensor, cls: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of x6·W(x), output before the logit bias) for class ``cls`` in explanation mode."""
    x6 = net.encode(x).detach().requires_grad_(True)
    with explanation_mode(net):
        out = net.body(x6)[:, cls]
        (grad,) = torch.autograd.grad(out.sum(), x6)
    return (x6 * grad).flatten(1).sum(1).detach(), out.detach()


@pytest.mark.parametrize("arch,shape", ARCHITECTURES)
def test_conversion_at_b1_with_biases_computes_the_original_logits(arch, shape):
    model = _randomised(arch, shape)
    x = torch.rand(3, *shape, dtype=torch.float64)
    net = bcosify(model, shape, b=1, keep_biases=True).eval()
    with torch.no_grad():
        original, converted = model(x), net(x) - net.logit_layer.bias
    torch.testing.assert_close(converted, original, rtol=1e-10, atol=1e-10)
    assert net.logit_layer.bias == pytest.approx(-torch.log(torch.tensor(6.0)).item())


def test_conversion_leaves_the_original_model_alone():
    model = _randomised("cnn", (3, 32, 32))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    bcosify(model, (3, 32, 32))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(isinstance(m, BcosifiedConv2d) for m in model.modules())


def test_every_weight_is_copied():
    model = _randomised("cnn", (3, 32, 32))
    net = bcosify(model, (3, 32, 32), b=2)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    bconvs = [m for m in net.modules() if isinstance(m, BcosifiedConv2d)]
    assert len(bconvs) == len(convs) + 1  # the classifier is a 1x1 B-cos conv
    # first layer: the 6-channel rule with no normalisation, [W, 0]
    torch.testing.assert_close(bconvs[0].weight, torch.cat([convs[0].weight, torch.zeros_like(convs[0].weight)], 1), rtol=0, atol=0)
    for conv, bconv in zip(convs[1:], bconvs[1:]):
        assert torch.equal(conv.weight, bconv.weight)
    assert torch.equal(bconvs[-1].weight.flatten(1), model.classifier.weight)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    bbns = [m for m in net.modules() if isinstance(m, BcosifiedBatchNorm2d)]
    assert all(torch.equal(a.weight, b.weight) and torch.equal(a.running_var, b.running_var) for a, b in zip(bns, bbns))


@pytest.mark.parametrize("arch,shape", ARCHITECTURES)
def test_without_biases_contributions_sum_to_the_logit_minus_its_bias(arch, shape):
    net = bcosify(_randomised(arch, shape), shape, b=2).eval()
    assert bias_free(net) and all(m.b == 2 for m in net.modules() if isinstance(m, (BcosifiedConv2d, BcosifiedLinear)))
    x = torch.rand(2, *shape, dtype=torch.float64)
    total, out = _completeness(net, x, 3)
    torch.testing.assert_close(total, out, rtol=1e-8, atol=0)
    assert out.abs().min() > 0
    with torch.no_grad():  # the explained output is the logit minus the logit bias
        torch.testing.assert_close(net(x)[:, 3] - net.logit_layer.bias, out, rtol=1e-12, atol=1e-12)


def test_completeness_fails_with_biases():
    net = bcosify(_randomised("cnn", (3, 32, 32)), (3, 32, 32), b=2, keep_biases=True).eval()
    total, out = _completeness(net, torch.rand(2, 3, 32, 32, dtype=torch.float64), 1)
    assert ((total - out).abs() / out.abs()).min() > 1e-3


def test_normalisation_inside_the_model_is_a_hidden_bias_that_the_folded_first_layer_removes():
    """The paper's layout ([x, 1-x] normalised inside the model by (μ, 1-μ) and σ, first layer [W, -W]/2)
    leaves ``W·μ/σ`` out of the contributions; :func:`encoded_first_weight` on the raw encoding does not."""
    mean, std = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64), torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64)
    model = _randomised("cnn", (3, 32, 32))
    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    folded = bcosify(model, (3, 32, 32), b=1, keep_biases=True, input_mean=tuple(mean.tolist()), input_std=tuple(std.tolist())).eval()
    with torch.no_grad():
        torch.testing.assert_close(folded(x) - folded.logit_layer.bias, model((x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)))
    folded = bcosify(model, (3, 32, 32), b=2, input_mean=tuple(mean.tolist()), input_std=tuple(std.tolist())).eval()
    total, out = _completeness(folded, x, 2)
    torch.testing.assert_close(total, out, rtol=1e-8, atol=0)

    paper = bcosify(model, (3, 32, 32), b=2).eval()
    first = paper.body.backbone.blocks[0][0]
    w = model.blocks[0][0].weight
    with torch.no_grad():
        first.weight.copy_(torch.cat([w, -w], 1) / 2)
    mean6, std6 = torch.cat([mean, 1 - mean]).view(1, 6, 1, 1), torch.cat([std, std]).view(1, 6, 1, 1)
    x6 = (torch.cat([x, 1 - x], 1)).requires_grad_(True)
    with explanation_mode(paper):
        out = paper.body((x6 - mean6) / std6)[:, 2]
        (grad,) = torch.autograd.grad(out.sum(), x6)
    gap = ((x6 * grad).flatten(1).sum(1) - out).abs() / out.abs()
    assert gap.min() > 1e-3


def test_encoded_first_weight_equals_the_normalised_conv_with_zero_padding():
    torch.manual_seed(1)
    w = torch.randn(5, 3, 3, 3, dtype=torch.float64)
    mean, std = torch.tensor([0.2, 0.5, 0.7], dtype=torch.float64), torch.tensor([0.3, 0.2, 0.4], dtype=torch.float64)
    x = torch.rand(2, 3, 9, 9, dtype=torch.float64)
    reference = F.conv2d((x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1), w, padding=1)
    torch.testing.assert_close(F.conv2d(torch.cat([x, 1 - x], 1), encoded_first_weight(w, mean, std), padding=1), reference)


def test_bn_fold_equals_batchnorm_in_eval_mode():
    bn = nn.BatchNorm2d(4).double()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.2, 3)
        bn.weight.uniform_(-2, 2)
        bn.bias.uniform_(-1, 1)
    bn.eval()
    x = torch.randn(3, 4, 5, 5, dtype=torch.float64)
    folded = BcosifiedBatchNorm2d.from_batchnorm(bn, keep_bias=True).eval()
    torch.testing.assert_close(folded(x), bn(x))
    assert not torch.allclose(BcosifiedBatchNorm2d.from_batchnorm(bn, keep_bias=False).eval()(x), bn(x))


def test_b1_layers_are_the_plain_layers_and_explanation_mode_leaves_the_forward_alone():
    torch.manual_seed(2)
    conv = nn.Conv2d(4, 6, 3, padding=1).double()
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    assert torch.equal(BcosifiedConv2d.from_conv(conv, b=1, keep_bias=True)(x), conv(x))
    linear = nn.Linear(5, 3).double()
    z = torch.randn(4, 5, dtype=torch.float64)
    assert torch.equal(BcosifiedLinear.from_linear(linear, b=1, keep_bias=True)(z), linear(z))
    net = bcosify(_randomised("resnet18", (3, 32, 32)), (3, 32, 32)).eval()
    xi = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        plain = net(xi)
        with explanation_mode(net):
            assert torch.equal(net(xi), plain)


def test_b2_layer_is_the_paper_formula():
    """(wᵀx) · |wᵀx| / ||x_patch|| with the weight as it is (no unit-norm rows), patch by patch."""
    torch.manual_seed(3)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False).double()
    layer = BcosifiedConv2d.from_conv(conv, b=2, keep_bias=False)
    x = torch.randn(2, 3, 7, 7, dtype=torch.float64)
    linear = conv(x)
    norm = (F.conv2d(x.pow(2).sum(1, keepdim=True), torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=2, padding=1) + 1e-6).sqrt()
    torch.testing.assert_close(layer(x), linear * linear.abs() / norm)
    layer.train()  # the fused training step computes the same
    torch.testing.assert_close(layer(x.requires_grad_(True)), linear * linear.abs() / norm)


def test_average_pool_swap_changes_the_function():
    model = _randomised("cnn", (3, 32, 32))
    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    swapped = bcosify(model, (3, 32, 32), b=1, keep_biases=True, avg_pool=True).eval()
    assert not any(isinstance(m, nn.MaxPool2d) for m in swapped.modules())
    with torch.no_grad():
        assert (swapped(x) - swapped.logit_layer.bias - model(x)).abs().max() > 1e-3


def test_vgg_keeps_its_three_layer_head_and_the_function():
    import interp_core.external.architectures  # noqa: F401  (registers the torchvision builders)

    torch.manual_seed(0)
    model = build_model("vgg11", in_channels=3, num_classes=7)
    # torchvision's 25088 x 4096 head, narrowed (its 100M weights, copied in float64, would need gigabytes here)
    model._modules["classifier"] = nn.Sequential(nn.Linear(25088, 64), nn.ReLU(True), nn.Dropout(0.5), nn.Linear(64, 64),
                                                 nn.ReLU(True), nn.Dropout(0.5), nn.Linear(64, 7))
    model = model.double().eval()
    net = bcosify(model, (3, 32, 32), b=1, keep_biases=True).eval()
    assert sum(isinstance(m, BcosifiedLinear) for m in net.modules()) == 3
    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(net(x) - net.logit_layer.bias, model(x))


def test_unsupported_models_are_refused_with_the_reason():
    with pytest.raises(BcosificationError, match="no features"):
        bcosify(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (3, 8, 8))
    gelu = build_model("cnn", in_channels=3, num_classes=4)
    gelu.blocks[0][2] = nn.GELU()
    with pytest.raises(BcosificationError, match="blocks.0.2 is a GELU, which is not one of the piecewise-linear"):
        bcosify(gelu, (3, 32, 32))
    layer_norm = build_model("cnn", in_channels=3, num_classes=4)
    layer_norm.blocks[1][1] = nn.GroupNorm(2, 48)
    with pytest.raises(BcosificationError, match="blocks.1.1 is a GroupNorm with parameters"):
        bcosify(layer_norm, (3, 32, 32))
    inside = build_model("cnn", in_channels=3, num_classes=4)
    inside.blocks[0] = nn.Sequential(nn.AvgPool2d(3, 1, 1), *inside.blocks[0])
    with pytest.raises(BcosificationError, match="does not go straight into its first convolution"):
        bcosify(inside, (3, 32, 32))
