"""Post-hoc explainers: the shared contract, completeness where it must hold, and each method's own behaviour."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from interp_core.methods import available_explainers
from interp_core.methods import get_explainer as _get_explainer
from interp_core.methods.posthoc.lime import segment_means, superpixels
from interp_core.methods.posthoc.rise import rise_masks
from interp_core.models import build_model
from interp_core.store.card import ModelCard


def get_explainer(name: str, model: nn.Module, **params):
    """Explainer ``name`` for a bare test classifier, with a card that says what it is."""
    card = ModelCard.for_module(model, family="standard", num_classes=max(
        (m.out_features for m in model.modules() if isinstance(m, nn.Linear)), default=0))
    return _get_explainer(name, model, card, **params)


POSTHOC = ["gradient", "input_x_gradient", "integrated_gradients", "deeplift", "gradcam", "lime", "rise"]
FAST_KWARGS = {"lime": {"n_samples": 60, "segment_size": 8}, "rise": {"n_masks": 60}, "integrated_gradients": {"n_steps": 8}}


def tiny_cnn(num_classes: int = 5, seed: int = 0) -> nn.Module:
    """A small BlockCNN (in-place ReLU, BN with non-trivial running statistics, max-pool) in eval mode."""
    torch.manual_seed(seed)
    model = build_model("cnn", in_channels=3, num_classes=num_classes, widths=(4, 6, 8, 8))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    return model.eval()


class RegionMean(nn.Module):
    """Logit k = mean over region k (a list of (row slice, col slice)) of the channel sum of ``x``, or of
    ``x²`` when ``squared`` (which LIME's mean-colour hiding changes, whereas it keeps region means)."""

    def __init__(self, regions, squared: bool = False):
        super().__init__()
        self.regions = regions
        self.squared = squared
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        s = (x.square() if self.squared else x).sum(1)
        return torch.stack([s[:, r, c].mean((1, 2)) for r, c in self.regions], 1) + 0 * self.dummy


def test_all_posthoc_methods_are_registered():
    assert set(POSTHOC) <= set(available_explainers())


@pytest.mark.parametrize("name", POSTHOC)
def test_maps_have_input_resolution_and_leave_inputs_alone(name):
    model = tiny_cnn()
    x = torch.rand(3, 3, 24, 32)
    target = torch.tensor([0, 3, 4])
    maps = get_explainer(name, model, **FAST_KWARGS.get(name, {})).attribute(x, target)
    assert maps.shape == (3, 24, 32)
    assert torch.isfinite(maps).all() and maps.abs().sum() > 0
    assert not maps.requires_grad and not x.requires_grad
    # different targets of the same input get different maps
    assert not torch.allclose(maps[0], maps[1])


def test_input_x_gradient_sums_to_logit_of_bias_free_linear_model():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4, bias=False)).eval()
    x = torch.randn(4, 3, 8, 8)
    target = torch.tensor([0, 1, 2, 3])
    logits = model(x).gather(1, target[:, None]).squeeze(1)
    ixg = get_explainer("input_x_gradient", model).attribute(x, target)
    assert torch.allclose(ixg.sum((1, 2)), logits, atol=1e-5)
    # the signed gradient is the weight row itself, summed over channels
    grad = get_explainer("gradient", model).attribute(x, target)
    expected = model[1].weight.detach().reshape(4, 3, 8, 8).sum(1)[target]
    assert torch.allclose(grad, expected, atol=1e-6)
    absolute = get_explainer("gradient", model, absolute=True).attribute(x, target)
    assert torch.allclose(absolute, model[1].weight.detach().abs().reshape(4, 3, 8, 8).sum(1)[target], atol=1e-6)


def test_integrated_gradients_completeness():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.Softplus(), nn.Flatten(), nn.Linear(6 * 10 * 10, 3)).eval()
    x = torch.rand(3, 3, 10, 10)
    target = torch.tensor([0, 1, 2])
    ig = get_explainer("integrated_gradients", model).attribute(x, target)
    with torch.no_grad():
        delta = (model(x) - model(torch.zeros_like(x))).gather(1, target[:, None]).squeeze(1)
    assert torch.allclose(ig.sum((1, 2)), delta, rtol=1e-3, atol=1e-3)


def test_deeplift_sums_to_delta_and_keeps_model_inplace():
    model = tiny_cnn()
    x = torch.rand(2, 3, 16, 16)
    target = torch.tensor([1, 2])
    dl = get_explainer("deeplift", model).attribute(x, target)
    with torch.no_grad():
        delta = (model(x) - model(torch.zeros_like(x))).gather(1, target[:, None]).squeeze(1)
    assert torch.allclose(dl.sum((1, 2)), delta, atol=1e-4)
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))


def test_gradcam_matches_manual_computation():
    model = tiny_cnn()
    x = torch.rand(2, 3, 32, 32)
    target = torch.tensor([0, 4])
    cam = get_explainer("gradcam", model).attribute(x, target)
    acts = {}
    handle = model.gradcam_layer.register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
    logits = model(x)
    handle.remove()
    a = acts["a"]
    grads = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), a)[0]
    manual = F.relu((grads.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True))
    assert a.shape[-1] == 4  # the layer is at 1/8 resolution, so upsampling is exercised
    manual = F.interpolate(manual, size=(32, 32), mode="bilinear", align_corners=False)[:, 0]
    assert cam.shape == (2, 32, 32)
    assert torch.allclose(cam, manual.detach(), atol=1e-5)


def test_gradcam_without_layer_says_what_is_missing():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(ValueError, match="gradcam_layer"):
        get_explainer("gradcam", model).attribute(torch.rand(1, 3, 2, 2), torch.tensor([0]))


def test_rise_puts_most_mass_on_the_region_the_logit_reads():
    region = (slice(4, 12), slice(20, 28))
    model = RegionMean([region, (slice(0, 32), slice(0, 32))])
    x = torch.rand(1, 3, 32, 32) + 0.5
    maps = get_explainer("rise", model, n_masks=400).attribute(x, torch.tensor([0]))[0]
    inside = torch.zeros(32, 32, dtype=torch.bool)
    inside[region] = True
    assert inside.flatten()[maps.flatten().argmax()]
    assert maps[inside].mean() > 5 * maps[~inside].abs().mean()


def test_rise_masks_are_seeded_soft_and_keep_about_p():
    a = rise_masks(200, (40, 40), cells=8, keep_prob=0.1, generator=torch.Generator().manual_seed(3))
    b = rise_masks(200, (40, 40), cells=8, keep_prob=0.1, generator=torch.Generator().manual_seed(3))
    assert a.shape == (200, 40, 40) and torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    assert ((a > 0) & (a < 1)).any()  # bilinear upsampling, not hard cells
    assert abs(float(a.mean()) - 0.1) < 0.02


def test_rise_shares_model_evaluations_between_targets_of_one_input():
    calls = []
    model = RegionMean([(slice(0, 8), slice(0, 8)), (slice(8, 16), slice(8, 16))])
    model.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    x = torch.rand(1, 3, 16, 16).expand(2, 3, 16, 16)
    maps = get_explainer("rise", model, n_masks=100, batch_size=25).attribute(x, torch.tensor([0, 1]))
    assert sum(calls) == 100
    single = get_explainer("rise", model, n_masks=100, batch_size=25).attribute(x[:1], torch.tensor([1]))
    assert torch.allclose(maps[1], single[0], atol=1e-6)


def test_lime_weights_the_region_the_logit_reads_and_reuses_samples():
    calls = []
    model = RegionMean([(slice(0, 32), slice(0, 16)), (slice(0, 32), slice(16, 32))], squared=True)
    model.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    x = torch.rand(1, 3, 32, 32).expand(2, 3, 32, 32)
    explainer = get_explainer("lime", model, n_samples=120, segment_size=8, slic_iterations=0)
    maps = explainer.attribute(x, torch.tensor([0, 1]))
    assert maps[0, :, :16].mean() > 0 and maps[0, :, 16:].abs().max() < 0.1 * maps[0, :, :16].mean()
    assert maps[1, :, 16:].mean() > 0 and maps[1, :, :16].abs().max() < 0.1 * maps[1, :, 16:].mean()
    assert sum(calls) <= 120  # two targets, one set of model evaluations
    # each superpixel gets one value
    segments = explainer.segments(x[0])
    for s in segments.unique()[:5]:
        assert maps[0][segments == s].unique().numel() == 1


def test_superpixels_grid_and_colour_boundaries():
    img = torch.zeros(3, 24, 24)
    assert superpixels(img, 8, iterations=0).unique().numel() == 9
    img[0, :, :13] = 1.0  # red left of column 13, black right: not on the 8-pixel grid
    seg = superpixels(img, 8, compactness=0.1, iterations=10)
    for s in seg.unique():
        colours = img[0][seg == s].unique()
        assert colours.numel() == 1, "a superpixel straddles the colour edge"
    means = segment_means(img, seg)
    assert torch.equal(means, img)


def test_explain_packages_lime_segments():
    model = tiny_cnn()
    explanations = get_explainer("lime", model, n_samples=30, segment_size=8).explain(torch.rand(3, 16, 16), [1, 2])
    assert [e.target for e in explanations] == [1, 2]
    assert explanations[0].attribution.shape == (16, 16)
    assert isinstance(explanations[0].segments, np.ndarray)


@pytest.mark.parametrize("name", [n for n in POSTHOC if n != "gradcam"])
def test_posthoc_methods_explain_bcos_networks_on_plain_images(name):
    torch.manual_seed(0)
    model = build_model("bcos-cnn", in_channels=3, num_classes=5, widths=(8, 8, 16), strides=(2, 1, 2)).eval()
    x = torch.rand(2, 3, 16, 16)
    maps = get_explainer(name, model, **FAST_KWARGS.get(name, {})).attribute(x, torch.tensor([0, 3]))
    assert maps.shape == (2, 16, 16) and torch.isfinite(maps).all()
    assert not torch.allclose(maps[0], maps[1])


def test_lime_hides_superpixels_black_or_with_their_mean():
    # A logit that reads a region's mean cannot see mean-colour hiding, but sees black hiding.
    model = RegionMean([(slice(0, 16), slice(0, 16))])
    x = torch.rand(1, 3, 16, 16) + 0.5
    kw = dict(n_samples=60, segment_size=8, slic_iterations=0)
    black = get_explainer("lime", model, hide="zero", **kw).attribute(x, torch.tensor([0]))
    mean = get_explainer("lime", model, hide="mean", **kw).attribute(x, torch.tensor([0]))
    assert black.min() > 0.05
    assert mean.abs().max() < 1e-4
    with pytest.raises(ValueError, match="hide"):
        get_explainer("lime", model, hide="blur")


def test_integrated_gradients_shares_forward_passes_of_identical_rows_and_equals_captum():
    """The pointing game explains every class of one grid: rows with the same input share each chunk's
    forward pass, and the maps are still Captum's (Gauss-Legendre, zero baseline)."""
    from captum.attr import IntegratedGradients

    model = tiny_cnn(num_classes=5, seed=3)
    torch.manual_seed(4)
    image, other = torch.rand(2, 3, 20, 20)
    inputs = torch.stack([image, image, image, other, image])
    targets = torch.tensor([0, 3, 3, 1, 4])
    explainer = get_explainer("integrated_gradients", model, n_steps=12, internal_batch_size=5)
    calls = []
    hook = model.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    maps = explainer.attribute(inputs, targets)
    hook.remove()
    x = inputs.clone().requires_grad_(True)
    expected = IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x), target=targets, n_steps=12).detach().sum(1)
    torch.testing.assert_close(maps, expected, rtol=1e-5, atol=1e-6)
    # the shared image: 12 steps in chunks of 5 -> 3 forward passes for its 4 rows; the other row: Captum's own
    assert sum(calls) == 12 + 12
    assert calls[:3] == [5, 5, 2]
