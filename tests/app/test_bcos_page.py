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
    index = page.number_input(key="bcos-index").value
    x = load_split("shapes", "test").inputs([index])
    with torch.no_grad():
        probs = torch.sigmoid(loaded.model(x))[0]
    top = torch.topk(probs, 5)
    frame = page.dataframe[0].value
    assert list(frame["class"]) == [loaded.info.class_names[int(i)] for i in top.indices]
    assert torch.allclose(torch.tensor(list(frame["value"])), top.values, atol=1e-5)
    from app.figures import probability_text

    # probabilities for people: percentages, never a long string of zeros
    assert list(frame["probability (sigmoid)"]) == [probability_text(float(p)) for p in top.values]
    assert all(t.endswith("%") and len(t) <= 7 for t in frame["probability (sigmoid)"])


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
    page.toggle(key="bcos-top-images").set_value(True).run()
    assert not page.exception and not page.error
    box = [s for s in page.selectbox if s.label == "Explain class"][0]
    box.set_value(3).run()
    assert not page.exception and not page.error


def test_default_sample_is_classified_correctly(page):
    from interp_core.data import load_split

    index = page.number_input(key="bcos-index").value
    frame = page.dataframe[0].value
    split = load_split("shapes", "test")
    assert frame["class"][0] == split.info.class_names[int(split.labels[index])]


def test_neuron_position_is_explained(page):
    text = [c.value for c in page.caption if c.value.startswith("Neuron ")][0]
    assert "feature map" in text and "input pixel" in text and " of 64×64" in text


def _png_bytes() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_neuron_explorer_keeps_its_neuron_after_gallery_to_upload():
    """Choose a neuron, switch to Upload (the explorer is not drawn while no file is chosen), upload: the
    controls still show the chosen neuron and the picture is that neuron's."""
    at = open_page("bcos", timeout=180)
    layer_box = [s for s in at.selectbox if s.label == "Layer"][0]
    layers = layer_box.options
    chosen_layer = layers[1] if layer_box.value != layers[1] else layers[2]
    layer_box.set_value(chosen_layer).run()
    channel = [n for n in at.number_input if n.label.startswith("Channel")][0]
    channel.set_value(3).run()
    at.radio(key="bcos-source").set_value("Upload").run()
    assert not [s for s in at.selectbox if s.label == "Layer"]  # not drawn while waiting for a file
    at.file_uploader(key="bcos-upload").set_value(("noise.png", _png_bytes(), "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s for s in at.selectbox if s.label == "Layer"][0].value == chosen_layer
    assert [n for n in at.number_input if n.label.startswith("Channel")][0].value == 3
    assert any(c.value.startswith(f"Neuron {chosen_layer}[3] at ") for c in at.caption), [c.value for c in at.caption]


@pytest.mark.slow  # ~3 min in a fresh cache: the 18,000-image grid pool and each model's confidences on it
def test_b_ablation_localisation_per_b_matches_the_library(page):
    """Fig. 5 on the page: one row per trained B with the recorded accuracy and the pointing game computed
    now (few grids here), equal to the library's numbers."""
    from interp_core.evaluation.ablation import localisation_per_setting
    from interp_core.methods.bcos import views

    trained = [e.recipe for e in views.ablation_entries()]
    if not trained:
        pytest.skip("no model of the B ablation is trained")
    page.number_input(key="bcos-ablation-grids").set_value(2).run()
    page.button(key="bcos-ablation-run").click().run()
    assert not page.exception, [e.value for e in page.exception]
    shown = next(d.value for d in page.dataframe if "B" in d.value.columns)
    expected = localisation_per_setting(trained, "bcos", views.b_value, 2)
    assert list(shown["B"]) == [r["setting"] for r in expected] == sorted(r["setting"] for r in expected)
    assert list(shown["localisation (pointing game mean)"]) == pytest.approx([r["localisation"] for r in expected])
    assert list(shown["test accuracy (recorded at training)"]) == pytest.approx([r["accuracy"] for r in expected])
    assert all(0 <= r["localisation"] <= 1 and r["grids"] == 2 for r in expected)


@pytest.fixture(scope="module")
def bcosified_page() -> AppTest:
    from interp_core.store.catalog import checkpoint_status

    if checkpoint_status("bcosified-cnn-shapes") == "missing":
        pytest.skip("bcosified-cnn-shapes is not trained")
    at = open_page("bcos", timeout=300, interactive=True)
    at.selectbox(key="bcos-model").set_value("bcosified-cnn-shapes").run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    return at


def test_bcosified_models_appear_with_their_origin(bcosified_page):
    from interp_core.methods.bcos import views

    assert "B-cosification: trained classifiers converted into B-cos networks" in [h.value for h in bcosified_page.subheader]
    frame = next(d.value for d in bcosified_page.dataframe if "converted from" in d.value.columns)
    expected = views.bcosified_table()
    assert list(frame["model"]) == [r["model"] for r in expected]
    assert list(frame["converted from"]) == [r["converted from"] for r in expected]
    assert dict(zip(frame["model"], frame["from-scratch twin"]))["bcosified-cnn-shapes"] == "bcos-shapes"


def test_before_after_numbers_match_the_library(bcosified_page):
    """The original read as a B = 1 B-cos network misses its biases' share; the converted model's
    contributions sum to its logit minus the logit bias; both as the library computes them."""
    import re

    from interp_core.data import load_split
    from interp_core.methods.bcos import views
    from interp_core.store import load_model

    text = next(c.value for c in bcosified_page.caption if c.value.startswith("Left: cnn-shapes read as a B = 1"))
    number = r"(-?\d+(?:\.\d+)?)"  # a sentence's full stop is not a decimal point
    s0, l0 = map(float, re.search(rf"sum {number} of logit − bias {number}", text).groups())
    s1, l1 = map(float, re.search(rf"sum {number} = logit − bias {number}", text).groups())
    loaded = load_model("bcosified-cnn-shapes", "cpu", train_if_missing=False)
    index = bcosified_page.number_input(key="bcos-index").value
    target = [s for s in bcosified_page.selectbox if s.label == "Explain class"][0].value
    before, after = views.before_after(loaded, load_split("shapes", "test").inputs([index])[0], int(target))
    bias = loaded.model.logit_layer.bias
    assert (s0, l0) == pytest.approx((float(before.attribution.sum()), before.score - bias), abs=2e-3)
    assert (s1, l1) == pytest.approx((float(after.attribution.sum()), after.score - bias), abs=2e-3)
    assert abs(s1 - l1) < 2e-3 < abs(s0 - l0)
    assert bcosified_page.get("plotly_chart")  # the fine-tuning curve beside the from-scratch one


def test_bcosified_sound_model_draws_over_the_spectrogram():
    from interp_core.store.catalog import checkpoint_status

    if checkpoint_status("bcosified-cnn-sounds") == "missing":
        pytest.skip("bcosified-cnn-sounds is not trained")
    at = open_page("bcos", timeout=300)
    at.selectbox(key="bcos-model").set_value("bcosified-cnn-sounds").run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    headers = [h.value for h in at.subheader]
    assert "B ablation" not in headers and "B-cosification: trained classifiers converted into B-cos networks" in headers
    assert any(c.value.startswith("Left: cnn-sounds read as a B = 1") for c in at.caption)
