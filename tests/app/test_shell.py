"""AppTest tests of the dashboard shell: navigation, Home and Data render without exceptions."""
from __future__ import annotations

import pytest
from page_runner import open_page
from streamlit.testing.v1 import AppTest

from interp_core.views import navigation



def run_page(page: str | None = None, timeout: float = 60) -> AppTest:
    return open_page(page, timeout)


def test_home_lists_models_and_device():
    at = run_page()
    assert "explanation explorer" in at.title[0].value
    views = at.table[0].value
    from interp_core.views import VIEWS

    assert list(views["view"]) == [v.title for section in navigation().values() for v in section]
    assert len(views) == len(VIEWS.names())  # every registered view, and only those
    frame = at.dataframe[0].value
    assert {"cnn-shapes", "cnn-digits"} <= set(frame["model"])
    shipped = frame.set_index("model").loc["cnn-shapes"]
    assert shipped["status"] in ("shipped", "cache")
    from interp_core.store.catalog import recorded_date, recorded_metrics

    # labelled as recorded, with the date of the checkpoint it was read from
    assert shipped["test accuracy (recorded at training)"] == recorded_metrics("cnn-shapes")["accuracy"] >= 0.95
    assert shipped["recorded on"] == recorded_date("cnn-shapes") != ""
    assert any(m.label == "Device" for m in at.metric)


def test_data_page_shows_shapes_with_masks_and_attributes():
    from interp_core.data import load_split

    at = run_page("data")
    assert not at.error
    # Opens on the test split (the galleries' split, quick to generate), not the training split.
    assert at.radio(key="data-split").value == "test"
    assert any(c.value.startswith(f"{len(load_split('shapes', 'test'))} samples") for c in at.caption)
    assert any("Attributes:" in md.value and "shape::" in md.value for md in at.markdown)
    assert any("Background:" in md.value for md in at.markdown)
    assert any("Caption:" in md.value for md in at.markdown)


@pytest.mark.parametrize("dataset", ["digits", "sounds", "shapes-multi", "digits-overlap", "digits-on-texture", "sounds-mix",
                                     "shapes-spurious-class"])
def test_data_page_other_datasets(dataset):
    at = run_page("data")
    at.selectbox[0].set_value(dataset).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    images = [e for e in at.main.children.values() if type(e).__name__ == "Image"]
    captions = [i.caption for e in images for i in e.proto.imgs]
    if dataset == "shapes-multi":
        assert any("Objects:" in md.value for md in at.markdown)
        assert any(c.startswith("mask of ") for c in captions), captions
    if dataset == "shapes-spurious-class":
        assert any("Background:" in md.value for md in at.markdown)
    if dataset in ("digits-overlap", "sounds-mix"):
        assert any("Sources:" in md.value for md in at.markdown)
        assert sum(c.startswith("mask of ") for c in captions) == 2, captions


def _png_bytes() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _wav_bytes(samples, rate: int) -> bytes:
    import io

    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, samples, rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def _upload(at: AppTest, name: str, data: bytes, mime: str) -> AppTest:
    at.radio(key="data-try-source").set_value("Upload").run()
    at.file_uploader(key="data-try-upload").set_value((name, data, mime)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_upload_good_image_is_converted():
    at = _upload(run_page("data"), "photo.png", _png_bytes(), "image/png")
    assert not at.error
    assert any("upload photo.png → model input (3, 64, 64)" in c.value for c in at.caption), [c.value for c in at.caption]


@pytest.mark.parametrize(
    "name,data,needle",
    [
        ("empty.png", b"", "empty"),
        ("text.png", b"just some words, not an image at all", "not an image"),
        ("cut.png", _png_bytes()[:300], "incomplete"),
    ],
)
def test_bad_image_uploads_show_a_message_and_the_app_keeps_running(name, data, needle):
    at = _upload(run_page("data"), name, data, "image/png")
    assert at.error and needle in at.error[0].value.lower(), [e.value for e in at.error]
    at.radio(key="data-try-source").set_value("Gallery").run()  # still usable afterwards
    assert not at.exception and not at.error


@pytest.mark.parametrize(
    "name,data,needle",
    [
        ("nan.wav", _wav_bytes(__import__("numpy").full(16000, float("nan"), dtype="float32"), 16000), "invalid"),
        ("empty.wav", _wav_bytes(__import__("numpy").zeros(0, dtype="float32"), 16000), "no"),
    ],
)
def test_bad_sound_uploads_show_a_message(name, data, needle):
    at = run_page("data")
    at.selectbox[0].set_value("sounds").run()
    at = _upload(at, name, data, "audio/wav")
    assert at.error and needle in at.error[0].value.lower(), [e.value for e in at.error]


def test_8khz_sound_upload_is_resampled_with_a_note():
    import numpy as np

    t = np.arange(8000 * 2) / 8000
    at = run_page("data")
    at.selectbox[0].set_value("sounds").run()
    at = _upload(at, "tone.wav", _wav_bytes((0.3 * np.sin(2 * np.pi * 440 * t)).astype("float32"), 8000), "audio/wav")
    assert not at.error, [e.value for e in at.error]
    assert any("16" in c.value and "khz" in c.value.lower() for c in at.caption), [c.value for c in at.caption]



def test_menu_and_home_list_only_views_whose_page_exists(tmp_path):
    from app.shell import existing_views

    for stem in ("home", "data"):
        (tmp_path / f"{stem}.py").write_text("")
    shown = existing_views(tmp_path)
    assert [v.page for views in shown.values() for v in views] == ["home", "data"]
    assert list(shown) == ["Overview"]  # sections left empty are dropped


def test_page_icon_is_local_and_the_deploy_button_is_hidden():
    import tomllib

    from app.shell import PAGE_ICON
    from page_runner import ROOT

    assert PAGE_ICON.is_file() and PAGE_ICON.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ":material/" not in (ROOT / "app" / "main.py").read_text().split("set_page_config", 1)[1].split("\n")[0]
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] in ("viewer", "minimal")


def test_home_estimates_training_time_from_the_recorded_cards():
    from interp_core.progress import format_duration
    from interp_core.store.trainable import training_estimate
    from interp_core.store.catalog import checkpoint_meta, checkpoint_status

    at = run_page()
    missing = [r for r in at.dataframe[0].value.itertuples() if r.status == "missing"]
    if not missing:
        pytest.skip("every model is trained")
    caption = next(c.value for c in at.caption if c.value.startswith("Estimated training time"))
    for row in missing:
        seconds, basis = training_estimate(row.model)
        if seconds is None:
            assert f"{row.model}: no recorded time" in caption
            continue
        assert f"{row.model} {format_duration(seconds, about=True)}" in caption
        if basis.startswith("recorded for an earlier version of "):
            import json

            from interp_core.paths import SHIPPED_CHECKPOINTS

            cards = [json.loads(p.read_text()) for p in SHIPPED_CHECKPOINTS.glob(f"{row.model}-*.json")]
            assert seconds == max(c["train_seconds"] for c in cards if c["recipe"]["name"] == row.model)
        elif basis.startswith("recorded for "):
            relative = basis.split("recorded for ")[1]
            assert checkpoint_status(relative) != "missing" and seconds == checkpoint_meta(relative)["train_seconds"]
    button = next(b for b in at.button if b.label.startswith("Train "))
    assert "in all" in button.label and "minutes" not in button.label


def test_home_filter_shows_only_untrained_models_and_is_shared_in_the_link():
    at = run_page()
    everything = at.dataframe[0].value
    at.radio(key="home-models-filter").set_value("not trained").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert set(shown["model"]) == set(everything.loc[everything["status"] == "missing", "model"])
    assert at.query_params["models"] in ("not trained", ["not trained"])


@pytest.mark.parametrize("dataset,name,data,expected", [
    ("shapes", "tone.wav", "wav", "image"),   # the uploader's type filter skipped by the client
    ("shapes", "tone.png", "wav", "not an image"),  # the right extension on a sound
    ("sounds", "photo.png", "png", "sound"),
    ("sounds", "photo.wav", "png", "not a sound"),
])
def test_a_file_of_the_other_modality_gets_our_message_not_an_exception(dataset, name, data, expected):
    import numpy as np

    t = np.linspace(0, 1, 8000, endpoint=False)
    payload = _wav_bytes((0.3 * np.sin(2 * np.pi * 440 * t)).astype("float32"), 8000) if data == "wav" else _png_bytes()
    at = run_page("data")
    if dataset != "shapes":
        at.selectbox[0].set_value(dataset).run()
    at = _upload(at, name, payload, "audio/wav" if data == "wav" else "image/png")
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and expected in at.error[0].value.lower(), [e.value for e in at.error]
    at.radio(key="data-try-source").set_value("Gallery").run()  # still usable afterwards
    assert not at.exception and not at.error
