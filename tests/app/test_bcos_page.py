"""AppTest of the B-cos view on the shipped bcos-shapes model."""
from __future__ import annotations

import pytest
import torch
from page_runner import open_page
from streamlit.testing.v1 import AppTest


@pytest.fixture(scope="module")
def page() -> AppTest:
    at = open_page("bcos", timeout=180)
    assert not at.error, [e.value for e in at.error]
    return at


def test_top5_matches_the_model(page):
    from interp_core.data import load_split
    from interp_core.store import load_model

    loaded = load_model("bcos-shapes", "cpu", train_if_missing=False)
    x = load_split("shapes", "test").inputs([0])
    with torch.no_grad():
        probs = torch.sigmoid(loaded.model(x))[0]
    top = torch.topk(probs, 5)
    frame = page.dataframe[0].value
    assert list(frame["class"]) == [loaded.info.class_names[int(i)] for i in top.indices]
    assert torch.allclose(torch.tensor(list(frame["probability (sigmoid)"])), top.values, atol=1e-5)


def test_contributions_sum_to_logit_minus_bias(page):
    caption = [c.value for c in page.caption if c.value.startswith("logit ")][0]
    logit = float(caption.split("logit ")[1].split(";")[0])
    total = float(caption.split("total ")[1])
    from interp_core.store import load_model

    bias = float(load_model("bcos-shapes", "cpu", train_if_missing=False).model.logit_layer.bias)
    assert abs(total - (logit - bias)) < 1e-2 * max(1.0, abs(logit))


def test_sections_render(page):
    headers = [h.value for h in page.subheader]
    for expected in ("Top-5 classes", "Δ-explanation of the two most likely classes", "Neuron explorer", "B ablation",
                     "The standard classifier with post-hoc explanations"):
        assert expected in headers


def test_neuron_top_images_and_other_class(page):
    page.toggle[0].set_value(True).run()
    assert not page.exception and not page.error
    box = [s for s in page.selectbox if s.label == "Explain class"][0]
    box.set_value(3).run()
    assert not page.exception and not page.error
