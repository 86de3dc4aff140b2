"""AppTest of the PIQ view on the shipped models: the decision and masks are the library's, the mixture
builder, the metrics table on request, an audio upload that gives a playable WAV of the input's length."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch
from page_runner import open_page
from streamlit.testing.v1 import AppTest


def _piq_page() -> AppTest:
    return open_page("piq")


@pytest.fixture(scope="module")
def digits_page() -> AppTest:
    return _piq_page()


def _library(name: str):
    from interp_core.store import load_model

    return load_model(name, train_if_missing=False)


def _decision(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Classifier's decision:**"))


def test_digits_view_shows_the_librarys_decision_and_masks(digits_page):
    at = digits_page
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    from interp_core.data import load_split

    loaded = _library("piq-digits")
    index = at.number_input(key="piq-digits-index").value
    split = load_split("digits", "test")
    x = split.inputs([index])
    with torch.no_grad():
        probs = loaded.model(x).softmax(1)[0]
        result = loaded.model.interpret(x)
    predicted = int(probs.argmax())
    assert predicted == int(split.labels[index])  # the view opens on a digit the classifier gets right
    from app.figures import probability_text

    assert _decision(at).split("**")[-1].strip().startswith(f"{predicted} {probability_text(float(probs[predicted]))}")
    assert at.selectbox(key="piq-chosen-digits").value == predicted
    shown = _image_captions(at.main)
    assert shown[0].startswith("input · decision in green")
    piq = next(c for c in shown if c.startswith(f"PIQ · predicted class {predicted}"))
    assert piq.endswith(f"area {float(result.mask.mean()):.0%}")
    assert any(c.startswith("Grad-CAM") for c in shown) and any(c.startswith("LIME") for c in shown)


def _image_captions(node) -> list[str]:
    """Captions of every image under ``node`` (the page, or a block), columns included, in order."""
    out = []
    for child in getattr(node, "children", {}).values():
        if type(child).__name__ == "Image":
            out += [img.caption for img in child.proto.imgs]
        else:
            out += _image_captions(child)
    return out


def test_a_chosen_class_adds_its_mask_and_a_mixture_names_its_sources():
    at = _piq_page()
    predicted = at.selectbox(key="piq-chosen-digits").value
    other = (predicted + 1) % 10
    at.selectbox(key="piq-chosen-digits").set_value(other).run()
    assert any(c.startswith(f"PIQ · chosen class {other}") for c in _image_captions(at.main))
    at.radio(key="piq-digits-kind").set_value("Mixture of two").run()
    at.slider(key="piq-digits-weight").set_value(0.7).run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert any(c.value.startswith("0.70 ×") for c in at.caption)
    assert any("IoU of PIQ's mask" in c.value for c in at.caption)


def test_the_metrics_table_is_computed_on_request_and_holds_the_librarys_numbers(digits_page):
    at = digits_page
    at.number_input(key="piq-metrics-n-digits").set_value(20).run()
    buttons = [b for b in at.button if b.key == "piq-metrics-run-digits"]
    if buttons:  # not computed for these weights yet (the cache keeps them afterwards)
        buttons[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    table = at.dataframe[0].value.set_index("method")
    from interp_core.methods.piq.metrics import evaluate_piq

    loaded = _library("piq-digits")
    expected = evaluate_piq(loaded.model, "digits", _library("cnn-digits").card, test_samples=20, lime_samples=8, mixture_samples=100)
    assert table.loc["PIQ", "fidelity-in ↑"] == pytest.approx(expected["fidelity_in"])
    assert table.loc["PIQ", "faithfulness ↑"] == pytest.approx(expected["faithfulness"])
    assert table.loc["Grad-CAM (same area)", "faithfulness ↑"] == pytest.approx(expected["gradcam_faithfulness"])
    assert table.loc["PIQ", "mask IoU ↑"] == pytest.approx(expected["mask_iou"])
    assert int(table.loc["LIME (same area)", "inputs"]) == 8


def _wav(seconds: float, rate: int = 16000) -> bytes:
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * 660 * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def test_an_audio_upload_gives_a_playable_wav_of_the_inputs_length(monkeypatch):
    import soundfile
    from streamlit.runtime import memory_media_file_storage as storage

    stored: dict[str, bytes] = {}
    original = storage.MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes):
            stored[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(storage.MemoryMediaFileStorage, "load_and_get_id", keep)
    at = _piq_page()
    at.selectbox(key="piq-model").set_value("piq-sounds").run()
    at.radio(key="piq-sounds-source").set_value("Upload").run()
    at.file_uploader(key="piq-sounds-upload").set_value(("tone.wav", _wav(1.5), "audio/wav")).run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == 1
    urls = [a.proto.url for a in at.get("audio")]
    assert len(urls) == 2
    waves = [soundfile.read(io.BytesIO(stored[re.sub(r"\.\w+$", "", url.rsplit("/", 1)[-1])]), dtype="float32") for url in urls]
    for data, rate in waves:
        assert rate == 16000 and data.shape == (32000,)  # the 1.5 s upload is padded to the model's 2 s input
    assert float(np.abs(waves[1][0]).max()) > 0 and np.abs(waves[1][0]).max() <= np.abs(waves[0][0]).max() * 1.5
    download = at.get("download_button")[0]
    assert download.proto.label == "Download the interpretation (WAV)"


def test_a_bad_upload_shows_a_message_and_the_metrics_stay():
    at = _piq_page()
    at.radio(key="piq-digits-source").set_value("Upload").run()
    at.file_uploader(key="piq-digits-upload").set_value(("notes.png", b"this is text, not an image", "image/png")).run()
    assert not at.exception
    assert len(at.error) == 1 and "not an image" in at.error[0].value.lower(), [e.value for e in at.error]
    assert any(h.value == "Metrics" for h in at.header)
