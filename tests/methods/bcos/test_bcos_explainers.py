"""B-cos explanations: faithfulness (Eq. 15 sums to the logit), W(x) = Jacobian, batching, no gradient
leak, the coloured weight map, intermediate neurons, Δ-explanations, most activating images."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from interp_core.data.base import DatasetInfo, Split
from interp_core.methods import get_explainer
from interp_core.methods.bcos.explainers import BcosExplainer, weight_map_rgba
from interp_core.store.card import ModelCard
from interp_core.visualize import signed_image as contribution_image
from interp_core.models import build_model
from interp_core.models.bcos import explanation_mode
from interp_core.store.recipes import get_recipe


def bcos_explainer(model, **params) -> BcosExplainer:
    """The ``bcos`` explainer of a freshly built network, with a card saying what it is."""
    card = ModelCard.for_module(model, family="bcos", num_classes=getattr(model, "num_classes", 1))
    return get_explainer("bcos", model, card, **params)


def shapes_architecture(dtype=torch.float64, seed: int = 0):
    """The ``bcos-shapes`` architecture, freshly initialised."""
    recipe = get_recipe("bcos-shapes")
    torch.manual_seed(seed)
    return build_model(recipe.arch, in_channels=3, num_classes=24, **recipe.arch_kwargs).to(dtype).eval()


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model("bcos-cnn", in_channels=3, num_classes=5, widths=(8, 8, 16), strides=(1, 2, 1), max_out=2).double().eval()


def test_contributions_sum_to_logit_minus_bias_for_every_class():
    """B-cos Eq. 15: sum over pixels and the 6 channels of x ⊙ W(x) = logit - bias, to 1e-4 relative."""
    model = shapes_architecture()
    explainer = bcos_explainer(model)
    x = torch.rand(1, 3, 64, 64, dtype=torch.float64)
    classes = torch.arange(24)
    maps = explainer.attribute(x.expand(24, -1, -1, -1), classes)
    assert maps.shape == (24, 64, 64)
    with torch.no_grad():
        logits = model(x)[0] - model.logit_layer.bias
    assert not maps.requires_grad
    rel = (maps.sum((1, 2)) - logits).abs() / logits.abs()
    assert float(rel.max()) < 1e-4
    # Different images in one batch (the replicated-forward path) satisfy it as well.
    pair = torch.cat([x, torch.rand(1, 3, 64, 64, dtype=torch.float64)])
    pair_maps = explainer.attribute(pair, torch.tensor([3, 7]))
    with torch.no_grad():
        pair_logits = model(pair)[[0, 1], [3, 7]] - model.logit_layer.bias
    assert float(((pair_maps.sum((1, 2)) - pair_logits).abs() / pair_logits.abs()).max()) < 1e-4
    torch.testing.assert_close(pair_maps[0], maps[3])
    # A B-cos network is 1-homogeneous, so plain Input x Gradient has the same total (Euler), but it is a
    # different map: explanation mode is what makes the map W(x) (see tests/models/test_bcos.py).
    x6 = model.encode(x).requires_grad_(True)
    (plain,) = torch.autograd.grad(model.forward_encoded(x6)[0, 3], x6)
    assert float((plain * x6).detach().sum()) == pytest.approx(float(logits[3]), rel=1e-4)
    assert not torch.allclose((plain * x6).sum(1)[0], maps[3], atol=1e-3 * float(maps[3].abs().max()))


def test_contributions_sum_to_logit_in_float32():
    model = shapes_architecture(torch.float32, seed=1)
    explainer = bcos_explainer(model)
    x = torch.rand(3, 64, 64)
    explanations = explainer.explain(x, list(range(24)))
    with torch.no_grad():
        logits = model(x[None])[0] - model.logit_layer.bias
    sums = torch.stack([e.attribution.double().sum() for e in explanations]).float()
    assert float(((sums - logits).abs() / logits.abs()).max()) < 1e-3
    np.testing.assert_allclose([e.score for e in explanations], (logits + model.logit_layer.bias).numpy(), rtol=1e-5)


def test_weights_equal_the_jacobian_of_the_explanation_mode_model(tiny):
    explainer = bcos_explainer(tiny)
    x = torch.rand(1, 3, 6, 6, dtype=torch.float64)
    x6, weights = explainer.dynamic_weights(x.expand(5, -1, -1, -1), torch.arange(5))
    with explanation_mode(tiny):
        jac = torch.autograd.functional.jacobian(lambda e: tiny.forward_encoded(e)[0], tiny.encode(x))  # (5, 1, 6, 6, 6)
    torch.testing.assert_close(weights, jac[:, 0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(x6[0], tiny.encode(x)[0])
    # W(x) is a linear map that reproduces the output (Eq. 13): W(x) x = f(x) - b.
    with torch.no_grad():
        torch.testing.assert_close((jac[:, 0] * x6[0]).sum((1, 2, 3)), tiny(x)[0] - tiny.logit_layer.bias)


def test_explaining_twice_gives_identical_maps_and_leaves_no_gradients(tiny):
    explainer = bcos_explainer(tiny)
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([1, 4])
    first = explainer.attribute(x, target)
    second = explainer.attribute(x, target)
    assert torch.equal(first, second)
    once, twice = explainer.explain(x[0].detach(), [0, 2, 3]), explainer.explain(x[0].detach(), [0, 2, 3])
    assert all(torch.equal(a.attribution, b.attribution) for a, b in zip(once, twice))
    assert x.grad is None
    assert all(p.grad is None for p in tiny.parameters())
    assert not any(m.detach_scale for m in tiny.modules() if hasattr(m, "detach_scale"))


def test_five_classes_batched_equal_five_single_calls(tiny):
    explainer = bcos_explainer(tiny)
    x = torch.rand(3, 8, 8, dtype=torch.float64)
    batched = explainer.explain(x, [0, 1, 2, 3, 4])
    for exp in batched:
        single = explainer.explain(x, [exp.target])[0]
        torch.testing.assert_close(exp.attribution, single.attribution, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(exp.extras["weights"], single.extras["weights"], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(exp.rgba, single.rgba, rtol=1e-4, atol=1e-6)
    maps = [e.attribution for e in batched]
    assert not torch.allclose(maps[0], maps[1])


def test_explain_extras(tiny):
    explainer = bcos_explainer(tiny, smooth=3)
    x = torch.rand(3, 8, 8, dtype=torch.float64)
    exp = explainer.explain(x, [2])[0]
    assert exp.method == "bcos" and exp.target == 2
    assert exp.rgba.shape == (8, 8, 4) and exp.extras["weights"].shape == (6, 8, 8)
    assert exp.panels == ("rgba", "signed") and exp.segments is None and exp.mask is None
    x6 = torch.cat([x, 1 - x])
    torch.testing.assert_close(exp.attribution, (x6 * torch.from_numpy(exp.extras["weights"]).double()).sum(0).float())


def test_weight_map_colour_recovers_the_input_when_weights_align_with_it():
    """For W ∝ [r, g, b, 1-r, 1-g, 1-b] the per-pair normalisation decodes the colour exactly (B-cos Sec. 4)."""
    torch.manual_seed(1)
    x = torch.rand(3, 10, 12) * 0.9 + 0.05
    x6 = torch.cat([x, 1 - x])
    scale = torch.rand(1, 10, 12) + 0.5
    rgba = weight_map_rgba(x6, x6 * scale, smooth=1)
    np.testing.assert_allclose(rgba[..., :3], x.permute(1, 2, 0).numpy(), atol=1e-5)


def test_weight_map_alpha_follows_the_weight_norm_of_positive_contributions_only():
    torch.manual_seed(2)
    x6 = torch.rand(6, 20, 20)
    weights = torch.randn(6, 20, 20)
    rgba = weight_map_rgba(x6, weights, smooth=1)
    contributions = (x6 * weights).sum(0)
    alpha = rgba[..., 3]
    assert np.all(alpha[contributions.numpy() < 0] < 1e-6)
    positive = contributions.numpy() > 0
    norm = weights.norm(dim=0).numpy()
    np.testing.assert_allclose(alpha[positive], np.minimum(norm[positive] / np.percentile(np.where(positive, norm, 1e-12), 99.5), 1), rtol=1e-4)
    assert alpha.max() == pytest.approx(1.0) and alpha.min() >= 0
    # Alpha uses the norm of W, not of the contributions: rescaling the input leaves it unchanged.
    np.testing.assert_allclose(weight_map_rgba(x6 * 0.3, weights, smooth=1), rgba, atol=1e-6)


def test_weight_map_smoothing_and_errors():
    x6 = torch.ones(6, 15, 15)
    weights = torch.zeros(6, 15, 15)
    weights[:, 7, 7] = 1.0
    alpha = weight_map_rgba(x6, weights, smooth=5)[..., 3]
    assert np.count_nonzero(alpha > 1e-6) == 25  # one pixel spread over the 5x5 pooling window
    with pytest.raises(ValueError, match="odd"):
        weight_map_rgba(x6, weights, smooth=4)


def test_contribution_image_is_symmetric_bwr():
    c = np.array([[-2.0, 0.0, 2.0]])
    img = contribution_image(c, percentile=100)
    assert tuple(img[0, 0]) == (0, 0, 255) and tuple(img[0, 2]) == (255, 0, 0)
    assert all(v > 250 for v in img[0, 1])


def test_neuron_explanation_sums_to_the_activation(tiny):
    explainer = bcos_explainer(tiny)
    assert tiny.neuron_layers() == ["body.0", "body.1", "body.2", "body.3"]
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    result = explainer.neuron_weights(x, "body.1", 3, (2, 1))
    with torch.no_grad():
        expected = tiny.body[1](tiny.body[0](tiny.encode(x)))[:, 3, 2, 1]
    torch.testing.assert_close(result["activation"], expected)
    torch.testing.assert_close((result["x6"] * result["weights"]).sum((1, 2, 3)), expected)
    with explanation_mode(tiny):
        e = tiny.encode(x[:1]).requires_grad_(True)
        (grad,) = torch.autograd.grad(tiny.body[1](tiny.body[0](e))[0, 3, 2, 1], e)
    torch.testing.assert_close(result["weights"][0], grad[0])
    # No position: the most active location of the channel.
    auto = explainer.explain_neuron(x[0], "body.2", 5)
    with torch.no_grad():
        fmap = tiny.body[2](tiny.body[1](tiny.body[0](tiny.encode(x[:1]))))[0, 5]
    assert auto.score == pytest.approx(float(fmap.max()))
    assert fmap[auto.extras["position"]] == fmap.max()
    assert float(auto.attribution.sum()) == pytest.approx(auto.score, rel=1e-5)
    with pytest.raises(ValueError, match="Unknown layer"):
        explainer.neuron_weights(x, "body.9", 0)
    with pytest.raises(ValueError, match="channel"):
        explainer.neuron_weights(x, "body.1", 99)


def test_delta_explanation_is_the_difference_of_two_explanations(tiny):
    explainer = bcos_explainer(tiny)
    x = torch.rand(3, 8, 8, dtype=torch.float64)
    delta = explainer.delta_explanation(x, 1, 3)
    a, b = explainer.explain(x, [1, 3])
    torch.testing.assert_close(delta.attribution, a.attribution - b.attribution, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(delta.extras["weights"], a.extras["weights"] - b.extras["weights"], rtol=1e-5, atol=1e-6)
    assert delta.score == pytest.approx(a.score - b.score)
    assert float(delta.attribution.sum()) == pytest.approx(delta.score, rel=1e-5)
    assert delta.extras["classes"] == (1, 3) and delta.rgba.shape == (8, 8, 4)


def test_top_activating_images_of_a_neuron(tiny):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)
    info = DatasetInfo("toy", "image", ("a", "b", "c", "d", "e"), (3, 8, 8))
    split = Split(info, images, np.zeros(12, dtype=np.int64),
                  lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).double() / 255)
    explainer = bcos_explainer(tiny)
    top = explainer.top_activating(split, "body.2", 4, k=3, batch_size=5)
    with torch.no_grad():
        acts = tiny.body[2](tiny.body[1](tiny.body[0](tiny.encode(split.inputs(np.arange(12))))))[:, 4].flatten(1).amax(1)
    expected = torch.argsort(acts, descending=True)[:3].tolist()
    assert [e.extras["index"] for e in top] == expected
    for exp in top:
        assert exp.score == pytest.approx(float(acts[exp.extras["index"]]))
        assert float(exp.attribution.sum()) == pytest.approx(exp.score, rel=1e-5)


def test_explainer_rejects_non_bcos_models_and_bad_targets(tiny):
    with pytest.raises(ValueError, match="explains BcosNetwork models"):
        bcos_explainer(nn.Sequential(nn.Conv2d(3, 3, 1)))
    with pytest.raises(ValueError, match="target classes"):
        bcos_explainer(tiny).attribute(torch.rand(1, 3, 8, 8, dtype=torch.float64), torch.tensor([7]))


def test_explanations_run_in_eval_mode_and_restore_training():
    torch.manual_seed(3)
    model = build_model("bcos-cnn", in_channels=3, num_classes=4, widths=(4, 8), strides=(1, 2), norm="uncentered-bn").double()
    model.train()
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    running = [b.clone() for b in model.buffers()]
    both = bcos_explainer(model).attribute(x, torch.tensor([0, 1]))
    one = bcos_explainer(model).attribute(x[1:], torch.tensor([1]))
    torch.testing.assert_close(both[1:], one)  # rows independent: no batch statistics
    assert model.training and all(torch.equal(a, b) for a, b in zip(running, model.buffers()))


@pytest.mark.slow
def test_trained_bcos_shapes_is_faithful_for_every_class():
    from interp_core.data import load_split
    from interp_core.store import load_model

    trained = load_model("bcos-shapes")
    model = trained.model
    explainer = get_explainer("bcos", trained)
    x = load_split("shapes", "test").inputs([0, 1])
    for i in range(2):
        c = trained.card.num_classes
        maps = explainer.attribute(x[i : i + 1].expand(c, -1, -1, -1), torch.arange(c))
        with torch.no_grad():
            logits = model(x[i : i + 1])[0] - model.logit_layer.bias
        rel = (maps.double().sum((1, 2)) - logits.double()).abs() / logits.double().abs()
        assert float(rel.max()) < 1e-4, rel
