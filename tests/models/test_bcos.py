"""B-cos layers and networks: the layer formulas against brute force, explanation mode, conversions."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.models import build_model
from interp_core.models.bcos import (
    NORM_EPS,
    BcosConv2d,
    BcosLinear,
    BcosNetwork,
    UncenteredBatchNorm2d,
    explanation_mode,
)
from interp_core.training.engine import classification_loss


def brute_force_patch_norm(layer: BcosConv2d, x: torch.Tensor) -> torch.Tensor:
    """``||x_patch||`` per group by unfolding every patch: ``(N, groups, H', W')``."""
    n, c, h, w = x.shape
    cols = F.unfold(x, layer.kernel_size, layer.dilation, layer.padding, layer.stride)  # (N, C*kh*kw, L)
    cols = cols.view(n, layer.groups, -1, cols.shape[-1])
    kh, kw = layer.kernel_size
    out_h = (h + 2 * layer.padding[0] - layer.dilation[0] * (kh - 1) - 1) // layer.stride[0] + 1
    out_w = (w + 2 * layer.padding[1] - layer.dilation[1] * (kw - 1) - 1) // layer.stride[1] + 1
    return (cols.pow(2).sum(2) + NORM_EPS).sqrt().view(n, layer.groups, out_h, out_w)


def brute_force_bcos_conv(layer: BcosConv2d, x: torch.Tensor) -> torch.Tensor:
    """B-cos Eq. 17 with Eq. D.8 per unit, patch by patch: the max over the MaxOut units of the *scaled*
    outputs ``||x|| cos |cos|^(B-1)`` (the layer takes the max before scaling)."""
    n = x.shape[0]
    cols = F.unfold(x, layer.kernel_size, layer.dilation, layer.padding, layer.stride)
    cols = cols.view(n, layer.groups, -1, cols.shape[-1])  # (N, G, C/G*kh*kw, L)
    w = layer.weight.flatten(1)
    w = w / w.norm(dim=1, keepdim=True)
    units_per_group = w.shape[0] // layer.groups
    outs = []
    for unit in range(w.shape[0]):
        patch = cols[:, unit // units_per_group]  # (N, D, L)
        norm = (patch.pow(2).sum(1) + NORM_EPS).sqrt()
        cos = (w[unit].view(1, -1, 1) * patch).sum(1) / norm
        # ||x|| cos |cos|^(B-1) (Eq. D.8), with v2's stabiliser inside the fractional power.
        outs.append(norm * cos * (cos.abs() + 1e-6 * (layer.b != 2)).pow(layer.b - 1))
    out = torch.stack(outs, 1).unflatten(1, (layer.out_channels, layer.max_out)).amax(2)
    return out.view(n, layer.out_channels, *brute_force_patch_norm(layer, x).shape[-2:]) * layer.gain


CONV_CONFIGS = [
    dict(kernel_size=3, stride=1, padding=1, groups=1),
    dict(kernel_size=3, stride=2, padding=1, groups=2),
    dict(kernel_size=(5, 3), stride=(2, 1), padding=(2, 0), groups=4),
    dict(kernel_size=1, stride=2, padding=0, groups=1),
    dict(kernel_size=2, stride=2, padding=1, groups=1),
    dict(kernel_size=1, stride=1, padding=1, groups=2),  # padding > k // 2: exact slow path
    dict(kernel_size=3, stride=1, padding=2, dilation=2, groups=2),  # dilation: exact slow path
]


@pytest.mark.parametrize("config", CONV_CONFIGS)
def test_patch_norm_equals_unfold(config):
    torch.manual_seed(0)
    layer = BcosConv2d(8, 12, **config).double()
    x = torch.randn(2, 8, 11, 10, dtype=torch.float64)
    got = layer.patch_norm(x)
    assert got.shape == brute_force_patch_norm(layer, x).shape
    torch.testing.assert_close(got, brute_force_patch_norm(layer, x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", CONV_CONFIGS)
def test_b1_without_maxout_is_a_convolution_with_normalised_weights(config):
    torch.manual_seed(1)
    layer = BcosConv2d(8, 12, b=1, **config)
    x = torch.randn(2, 8, 11, 10)
    w = layer.weight / layer.weight.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    conv_args = {k: v for k, v in config.items() if k != "kernel_size"}
    torch.testing.assert_close(layer(x), F.conv2d(x, w, **conv_args), rtol=1e-5, atol=1e-6)
    # With B = 2 the output is no longer that convolution.
    layer.b = 2.0
    assert not torch.allclose(layer(x), F.conv2d(x, w, **conv_args), atol=1e-3)


@pytest.mark.parametrize("b,max_out", [(2.0, 1), (2.0, 2), (1.5, 2), (2.5, 3), (1.0, 2)])
@pytest.mark.parametrize("config", CONV_CONFIGS[:3] + CONV_CONFIGS[-1:])
def test_bcos_conv_matches_the_paper_formula(b, max_out, config):
    """MaxOut before the cosine scaling (v2) equals the max of full B-cos units (B-cos Eq. 17)."""
    torch.manual_seed(2)
    layer = BcosConv2d(8, 4, b=b, max_out=max_out, gain=3.0, **config).double()
    x = torch.randn(2, 8, 9, 9, dtype=torch.float64)
    torch.testing.assert_close(layer(x), brute_force_bcos_conv(layer, x), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("b,max_out", [(1.0, 1), (2.0, 1), (1.25, 2), (2.5, 2)])
def test_bcos_linear_matches_the_paper_formula(b, max_out):
    torch.manual_seed(3)
    layer = BcosLinear(7, 5, b=b, max_out=max_out).double()
    x = torch.randn(4, 7, dtype=torch.float64)
    w = layer.weight / layer.weight.norm(dim=1, keepdim=True)
    norm = (x.pow(2).sum(1, keepdim=True) + NORM_EPS).sqrt()
    cos = x @ w.T / norm
    units = norm * cos * (cos.abs() + 1e-6 * (b != 2)).pow(b - 1)
    expected = units.unflatten(1, (5, max_out)).amax(2)
    torch.testing.assert_close(layer(x), expected, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("config", CONV_CONFIGS[1:3] + CONV_CONFIGS[-1:])
@pytest.mark.parametrize("b", [2.0, 2.5])
def test_explanation_mode_gradient_treats_the_scale_as_a_constant(config, b):
    """In explanation mode the layer's input gradient is that of ``ŵᵀx · s`` with ``s = |cos|^(B-1)`` a
    constant, per group and MaxOut unit; the layer's values do not change."""
    torch.manual_seed(9)
    layer = BcosConv2d(8, 4, b=b, max_out=2, **config).double()
    x = torch.randn(2, 8, 9, 9, dtype=torch.float64, requires_grad=True)
    lin = layer.linear(x).unflatten(1, (4, 2)).amax(2)
    norm = brute_force_patch_norm(layer, x.detach()).repeat_interleave(4 // layer.groups, dim=1)
    reference = lin * (lin.detach().abs() / norm + 1e-6 * (b != 2)).pow(b - 1)
    with explanation_mode(layer):
        out = layer(x)
    torch.testing.assert_close(out, reference)
    cotangent = torch.randn_like(out)
    (got,) = torch.autograd.grad(out, x, cotangent)
    (expected,) = torch.autograd.grad(reference, x, cotangent)
    torch.testing.assert_close(got, expected)
    (plain,) = torch.autograd.grad(layer(x), x, cotangent)
    assert not torch.allclose(plain, expected, atol=1e-3)


def test_weights_are_normalised_per_output_unit():
    layer = BcosConv2d(3, 4, 3, padding=1, b=1)
    x = torch.randn(1, 3, 5, 5)
    before = layer(x)
    with torch.no_grad():
        layer.weight.mul_(torch.tensor([2.0, 5.0, 0.1, 7.0]).view(4, 1, 1, 1))
    torch.testing.assert_close(layer(x), before)


def test_bcos_output_is_bounded_by_the_patch_norm():
    """|B-cos(x; w)| <= ||x|| (B-cos Eq. 4): the basis of the alignment pressure."""
    torch.manual_seed(4)
    layer = BcosConv2d(6, 16, 3, padding=1, max_out=2)
    x = torch.rand(3, 6, 8, 8)
    assert bool((layer(x).abs() <= layer.patch_norm(x).expand(-1, 16, -1, -1) + 1e-6).all())


def test_invalid_layer_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="B must be >= 1"):
        BcosConv2d(4, 4, 3, b=0.5)
    with pytest.raises(ValueError, match="divisible by groups"):
        BcosConv2d(6, 4, 3, groups=4)
    with pytest.raises(ValueError, match="max_out"):
        BcosLinear(4, 4, max_out=0)


def _detachable_flags(model: nn.Module) -> list[bool]:
    return [m.detach_scale for m in model.modules() if hasattr(m, "detach_scale")]


def test_explanation_mode_is_one_switch_and_restores():
    model = build_model("bcos-cnn", in_channels=3, num_classes=4, widths=(4, 4), strides=(1, 2), norm="uncentered-bn")
    assert _detachable_flags(model) and not any(_detachable_flags(model))
    with model.explanation_mode():
        assert all(_detachable_flags(model))
        with explanation_mode(model):
            pass
        assert all(_detachable_flags(model))
    assert not any(_detachable_flags(model))
    with pytest.raises(ValueError, match="no B-cos layers"):
        with explanation_mode(nn.Sequential(nn.Conv2d(3, 3, 1))):
            pass


def test_explanation_mode_makes_the_network_its_dynamic_linear_map():
    """Two B-cos linear layers: the input gradient in explanation mode is the product of the layers'
    dynamic weights diag(|cos|^(B-1)) Ŵ (B-cos Eqs. 11-14), computed here by hand; outside explanation
    mode the gradient is something else."""
    torch.manual_seed(5)
    body = nn.Sequential(nn.Flatten(1), BcosLinear(2 * 3 * 2 * 2, 6, b=2.0), BcosLinear(6, 3, b=1.5))
    model = BcosNetwork(body, 3).double()
    x = torch.rand(1, 3, 2, 2, dtype=torch.float64)
    x6 = model.encode(x).flatten(1)

    def dynamic(layer: BcosLinear, a: torch.Tensor) -> torch.Tensor:
        w = layer.weight / layer.weight.norm(dim=1, keepdim=True)
        lin = a @ w.T
        scale = (lin.abs() / (a.pow(2).sum() + NORM_EPS).sqrt() + 1e-6 * (layer.b != 2)).pow(layer.b - 1)
        return scale.view(-1, 1) * w

    w1 = dynamic(body[1], x6)
    w2 = dynamic(body[2], x6 @ w1.T)
    expected = w2 @ w1  # W_{1->L}(x), (3, 24)
    enc = model.encode(x).requires_grad_(True)
    with model.explanation_mode():
        jac = torch.autograd.functional.jacobian(lambda e: model.forward_encoded(e)[0], enc).flatten(1)
        logits = model.forward_encoded(enc)[0].detach()
    torch.testing.assert_close(jac, expected, rtol=1e-6, atol=1e-10)
    torch.testing.assert_close(expected @ x6[0], logits - model.logit_layer.bias)  # Eq. 13
    plain = torch.autograd.functional.jacobian(lambda e: model.forward_encoded(e)[0], enc).flatten(1)
    assert not torch.allclose(plain, expected, atol=1e-3)


def test_uncentered_batch_norm_is_linear_in_explanation_mode():
    torch.manual_seed(6)
    bn = UncenteredBatchNorm2d(3).double().train()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.5, 2.0, -1.0]))
    x = (torch.randn(4, 3, 5, 5, dtype=torch.float64) + 2).requires_grad_(True)
    y = bn(x)
    var = x.detach().var(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(y, x * (bn.weight / (var + bn.eps).sqrt()).view(1, 3, 1, 1))  # no centring
    assert torch.allclose(bn.running_var, 0.9 + 0.1 * var * (100 / 99))
    with explanation_mode(bn):
        y = bn(x)
        (grad,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close((grad * x).sum(), y.sum())  # linear: the std is a constant
    (plain,) = torch.autograd.grad(bn(x).sum(), x)
    assert not torch.allclose(plain, grad)
    bn.eval()
    torch.testing.assert_close(bn(x), x * (bn.weight / (bn.running_var + bn.eps).sqrt()).view(1, 3, 1, 1))


def test_encoding_and_logit_bias():
    model = build_model("bcos-cnn", in_channels=3, num_classes=10, widths=(4,), strides=(1,))
    x = torch.rand(2, 3, 4, 4)
    torch.testing.assert_close(model.encode(x), torch.cat([x, 1 - x], 1))
    assert model.logit_layer.bias == pytest.approx(-math.log(9))  # sigmoid(b) = 1/C (B-cos Supp. C.1)
    assert model.body[0].in_channels == 6
    gray = build_model("bcos-cnn", in_channels=1, num_classes=3, widths=(4,), strides=(1,))
    assert gray.body[0].in_channels == 2


def _faithfulness_error(model: BcosNetwork, x: torch.Tensor, classes: list[int]) -> float:
    """Max relative error of sum(x6 * W(x)) against logit - bias over ``classes`` (float64), relative to the
    larger of |logit - bias| and the total |contribution| (a logit near 0 that many contributions cancel to
    is compared with the size of what cancelled, not with itself)."""
    from interp_core.methods import get_explainer
    from interp_core.store.card import ModelCard

    card = ModelCard.for_module(model, family="bcos", num_classes=model.num_classes)
    maps = get_explainer("bcos", model, card).attribute(x.expand(len(classes), *x.shape[1:]), torch.tensor(classes))
    with torch.no_grad():
        logits = model.eval()(x)[0, classes] - model.logit_layer.bias
    scale = torch.maximum(logits.abs(), maps.abs().sum((1, 2)))
    return float(((maps.sum((1, 2)) - logits).abs() / scale).max())


@pytest.mark.parametrize("b,max_out", [(1.0, 2), (1.5, 2), (2.0, 1), (2.5, 1)])
def test_plain_cnn_faithful_for_every_b(b, max_out):
    torch.manual_seed(7)
    model = build_model("bcos-cnn", in_channels=3, num_classes=5, widths=(8, 8, 16), strides=(2, 1, 2), b=b, max_out=max_out).double()
    assert _faithfulness_error(model, torch.rand(1, 3, 16, 16, dtype=torch.float64), list(range(5))) < 1e-8


TORCHVISION_ARCHS = [
    ("bcos-resnet18", {}),
    ("bcos-resnet34", {}),
    ("bcos-resnet50", {}),
    ("bcos-resnet18", {"norm": "none", "max_out": 2}),
    ("bcos-vgg11", {"classifier_width": 64}),
    ("bcos-densenet121", {}),
]


@pytest.mark.parametrize("arch,kwargs", TORCHVISION_ARCHS, ids=[f"{a}-{'-'.join(map(str, k.values()))}" for a, k in TORCHVISION_ARCHS])
def test_converted_torchvision_network_trains_and_explains(arch, kwargs):
    torch.manual_seed(8)
    model = build_model(arch, in_channels=3, num_classes=5, **kwargs)
    kinds = {type(m) for m in model.modules()}
    assert not kinds & {nn.Conv2d, nn.Linear, nn.ReLU, nn.BatchNorm2d, nn.MaxPool2d}, kinds
    assert BcosConv2d in kinds and (UncenteredBatchNorm2d in kinds) == (kwargs.get("norm", "uncentered-bn") == "uncentered-bn" and arch != "bcos-vgg11")
    x, y = torch.rand(2, 3, 32, 32), torch.tensor([1, 3])
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = classification_loss(model(x), y, "bce-uniform")
    loss.backward()
    assert torch.isfinite(loss)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
    model = model.double()
    assert _faithfulness_error(model, x[:1].double(), [0, 3]) < 1e-4


@pytest.mark.parametrize("b", [1.5, 2.0, 2.5])
def test_benchmark_reference_is_the_paper_formula_of_the_same_layer(b):
    from interp_core.bench.bcos import PaperBcosConv2d

    torch.manual_seed(0)
    layer = BcosConv2d(6, 5, 3, padding=1, stride=2, b=b, gain=7.0)
    x = torch.rand(2, 6, 9, 9, requires_grad=True)
    ours = layer(x)
    (g_ours,) = torch.autograd.grad(ours.sum(), x)
    paper = PaperBcosConv2d(layer)(x)
    (g_paper,) = torch.autograd.grad(paper.sum(), x)
    assert torch.allclose(ours, paper, rtol=1e-4, atol=1e-5)
    assert torch.allclose(g_ours, g_paper, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("b,max_out", [(1.5, 1), (2.0, 1), (2.5, 1), (2.5, 2)])
@pytest.mark.parametrize("config", CONV_CONFIGS[:3] + CONV_CONFIGS[-1:])
def test_bcos_conv_gradients_match_the_paper_formula(b, max_out, config):
    """The hand-written backward of the scale: input and weight gradients equal autograd through the
    brute-force formula (training mode, not explanation mode)."""
    torch.manual_seed(5)
    layer = BcosConv2d(8, 4, b=b, max_out=max_out, gain=3.0, **config).double().train()
    x = torch.randn(2, 8, 9, 9, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn_like(layer(x))
    ours = torch.autograd.grad((layer(x) * upstream).sum(), (x, layer.weight))
    reference = torch.autograd.grad((brute_force_bcos_conv(layer, x) * upstream).sum(), (x, layer.weight))
    for got, expected in zip(ours, reference):
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("b", [1.5, 2.0, 2.5])
def test_bcos_linear_gradients_match_autograd_of_the_formula(b):
    torch.manual_seed(6)
    layer = BcosLinear(7, 5, b=b).double().train()
    x = torch.randn(4, 7, dtype=torch.float64, requires_grad=True)

    def formula(x):
        w = layer.weight / layer.weight.norm(dim=1, keepdim=True)
        norm = (x.pow(2).sum(1, keepdim=True) + NORM_EPS).sqrt()
        cos = x @ w.T / norm
        return norm * cos * (cos.abs() + 1e-6 * (b != 2)).pow(b - 1)

    ours = torch.autograd.grad(layer(x).sin().sum(), (x, layer.weight))
    reference = torch.autograd.grad(formula(x).sin().sum(), (x, layer.weight))
    for got, expected in zip(ours, reference):
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-9)


def _training_step(layer, x):
    x = x.detach().clone().requires_grad_(True)
    layer.zero_grad(set_to_none=True)
    out = layer(x)
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    return out.detach(), x.grad, layer.weight.grad


@pytest.mark.parametrize("b", [2.0, 2.5])
def test_fused_training_kernels_equal_the_eager_ones(b, monkeypatch):
    """On training-sized tensors the scale runs compiled where torch.compile works; it computes what the
    eager kernels compute (float tolerance), and an explanation-mode or eval pass never compiles."""
    from interp_core.models.bcos import kernels

    torch.manual_seed(7)
    layer = BcosConv2d(32, 32, 3, padding=1, b=b, gain=5.0).train()
    x = torch.rand(16, 32, 32, 32)  # 524k elements per activation: above COMPILE_MIN_NUMEL
    assert x.numel() >= kernels.COMPILE_MIN_NUMEL
    monkeypatch.setattr(kernels, "_COMPILED", {"state": "off"})
    eager = _training_step(layer, x)
    monkeypatch.setattr(kernels, "_COMPILED", {})
    fused = _training_step(layer, x)
    assert kernels.compiled_scale_state() in ("on", "off")  # "off" only where no C++ compiler is installed
    for got, expected in zip(fused, eager):  # sums over 16k positions in another order: relative to the largest
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5 * float(expected.abs().max()))
    monkeypatch.setattr(kernels, "_COMPILED", {})
    with torch.no_grad():
        layer.eval()(x)
    assert kernels.compiled_scale_state() == "unused"


@pytest.mark.parametrize("b", [1.5, 2.0, 2.5])
@pytest.mark.parametrize("kernel_size,stride,padding", [(3, 1, 1), (3, 2, 1), (1, 1, 0), (2, 2, 1)])
@pytest.mark.parametrize("input_grad", [True, False])
def test_single_node_training_step_equals_the_general_path(b, kernel_size, stride, padding, input_grad, monkeypatch):
    """A training step of a plain layer (groups 1, no MaxOut) is one autograd node whose backward adds
    the patch norm's gradient into the convolution's in place; outputs, input and weight gradients equal
    the op-by-op path's (float64), also for a first layer whose input needs no gradient."""
    torch.manual_seed(9)
    layer = BcosConv2d(6, 5, kernel_size, stride, padding, b=b, gain=4.0).double().train()
    x = torch.randn(3, 6, 11, 11, dtype=torch.float64, requires_grad=input_grad)

    def step():
        layer.zero_grad(set_to_none=True)
        if x.grad is not None:
            x.grad = None
        out = layer(x)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        return out, x.grad, layer.weight.grad

    out, gx, gw = step()
    assert type(out.grad_fn).__name__ == "_BcosConvStepBackward"
    monkeypatch.setattr(BcosConv2d, "_single_node", lambda self: False)
    ref_out, ref_gx, ref_gw = step()
    assert type(ref_out.grad_fn).__name__ != "_BcosConvStepBackward"
    torch.testing.assert_close(out, ref_out, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gw, ref_gw, rtol=1e-9, atol=1e-12)
    if input_grad:
        torch.testing.assert_close(gx, ref_gx, rtol=1e-9, atol=1e-12)
    else:
        assert gx is None and ref_gx is None


def test_single_node_only_where_it_applies():
    """MaxOut, groups, dilation, eval, explanation mode and B = 1 keep the op-by-op path."""
    x = torch.rand(2, 4, 8, 8, requires_grad=True)
    plain = BcosConv2d(4, 4, 3, padding=1).train()
    assert type(plain(x).grad_fn).__name__ == "_BcosConvStepBackward"
    for layer in (BcosConv2d(4, 4, 3, padding=1, max_out=2), BcosConv2d(4, 4, 3, padding=1, groups=2),
                  BcosConv2d(4, 4, 3, padding=2, dilation=2), BcosConv2d(4, 4, 3, padding=1, b=1.0)):
        assert type(layer.train()(x).grad_fn).__name__ != "_BcosConvStepBackward"
    assert type(plain.eval()(x).grad_fn).__name__ != "_BcosConvStepBackward"
    with explanation_mode(nn.Sequential(plain.train())):
        assert type(plain(x).grad_fn).__name__ != "_BcosConvStepBackward"


def test_power_shortcuts_equal_pow():
    from interp_core.models.bcos.kernels import _power

    s = torch.rand(1000, dtype=torch.float64) * 10 + 1e-6
    for exponent in (0.5, 1.5, -0.5, 1.0, 0.3, 2.0):
        torch.testing.assert_close(_power(s, exponent), s.pow(exponent), rtol=1e-12, atol=0)


def test_a_failing_compiler_falls_back_to_eager_silently(monkeypatch):
    from interp_core.models.bcos import kernels

    def broken(*args, **kwargs):
        raise RuntimeError("no compiler on this machine")

    torch.manual_seed(8)
    layer = BcosConv2d(32, 32, 3, padding=1, b=2.5).train()
    x = torch.rand(16, 32, 32, 32)
    monkeypatch.setattr(kernels, "_COMPILED", {"state": "off"})
    eager = _training_step(layer, x)
    monkeypatch.setattr(kernels, "_COMPILED", {"state": "on"})
    monkeypatch.setattr(torch, "compile", broken)
    fallback = _training_step(layer, x)
    assert kernels.compiled_scale_state() == "failed"
    for got, expected in zip(fallback, eager):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    monkeypatch.setenv("INTERP_CORE_COMPILE", "0")
    monkeypatch.setattr(kernels, "_COMPILED", {})
    assert kernels._compile_state() == "off"


def test_shift_flip_augmentation_moves_and_mirrors_each_training_image_and_is_off_otherwise():
    from interp_core.models.bcos import RandomShiftFlip

    torch.manual_seed(9)
    aug = RandomShiftFlip(max_shift=2)
    x = torch.rand(32, 3, 7, 9)
    y = aug(x)
    padded = F.pad(x, (2, 2, 2, 2), mode="replicate")
    seen = set()
    for i in range(len(x)):
        matches = [(dy, dx, flip) for dy in range(5) for dx in range(5) for flip in (False, True)
                   if torch.equal(y[i], (lambda crop: crop.flip(-1) if flip else crop)(padded[i, :, dy:dy + 7, dx:dx + 9]))]
        assert matches, f"image {i} is not a shifted/mirrored crop of its input"
        seen |= {m[2] for m in matches} | {(m[0], m[1]) for m in matches if m[:2] != (2, 2)}
    assert True in seen and False in seen and len(seen) > 4  # both flips and several shifts were drawn
    assert aug.eval()(x) is x
    network = build_model("bcos-cnn", in_channels=3, num_classes=4, widths=(8, 8), strides=(2, 1), augment="shift-flip")
    plain = build_model("bcos-cnn", in_channels=3, num_classes=4, widths=(8, 8), strides=(2, 1))
    assert network.state_dict().keys() == plain.state_dict().keys()  # parameter-free: checkpoints unchanged
    network.load_state_dict(plain.state_dict())
    torch.testing.assert_close(network.eval()(x), plain.eval()(x))
    with pytest.raises(ValueError, match="augment"):
        build_model("bcos-cnn", in_channels=3, num_classes=4, augment="rotate")
