"""The ``qsenn`` explainer: contributions that sum with the bias to the logit, maps whose mean plus the
offset is the logit, and the model's feature API."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from interp_core.methods.base import UnsupportedModelError, get_explainer
from interp_core.store.card import ModelCard
from tests.methods.qsenn.contract_subjects import tiny_qsenn
from tiny_data import tiny_split


@pytest.fixture(scope="module")
def subject():
    model = tiny_qsenn()
    card = ModelCard.for_module(model, family="qsenn", kind="qsenn", num_classes=3, input_shape=(3, 16, 16))
    return model, card, tiny_split(4).inputs([0, 5])


def test_contributions_sum_with_the_bias_to_the_logit(subject):
    model, card, x = subject
    explainer = get_explainer("qsenn", model, card)
    with torch.no_grad():
        logits = model(x[:1])[0]
        z = model.features(x[:1])[0]
    for e in explainer.explain(x[0], [0, 1, 2]):
        c = e.target
        assert e.contributions.shape == (4,)
        assert float(e.contributions.sum()) + e.extras["bias"] == pytest.approx(float(logits[c]), abs=1e-5)
        torch.testing.assert_close(torch.from_numpy(e.contributions), model.decision_weight[c].detach() * z)
        assert set(e.extras["class_features"]) == set(model.class_features(c))
        assert e.extras["feature_maps"].shape == (4, 2, 2)


def test_map_mean_plus_offset_is_the_logit(subject):
    model, card, x = subject
    explainer = get_explainer("qsenn", model, card)
    target = torch.tensor([0, 2])
    with torch.no_grad():
        logits = model(x).gather(1, target[:, None]).squeeze(1)
        maps = model.feature_maps(x)
        summed = torch.einsum("nj,njhw->nhw", model.map_weights[target], maps)
        offset = model.map_offset[target]
    torch.testing.assert_close(summed.mean((1, 2)) + offset, logits, rtol=1e-5, atol=1e-5)
    attribution = explainer.attribute(x, target)
    assert attribution.shape == (2, 16, 16)
    expected = F.interpolate(summed.unsqueeze(1), size=(16, 16), mode="bilinear", align_corners=False).squeeze(1)
    torch.testing.assert_close(attribution, expected)


def test_feature_api_shapes_and_refusal(subject):
    model, card, x = subject
    assert model.feature_maps(x).shape == (2, 4, 2, 2) and model.features(x).shape == (2, 4)
    assert model.decision_weight.shape == (3, 4) and model.feature_ids.tolist() == [1, 3, 4, 8]
    torch.testing.assert_close(model.pooled_features(x), model.backbone_maps(x)[:, [1, 3, 4, 8]].mean((2, 3)))
    other = ModelCard.for_module(model, family="standard", num_classes=3, input_shape=(3, 16, 16))
    with pytest.raises(UnsupportedModelError):
        get_explainer("qsenn", model, other)
