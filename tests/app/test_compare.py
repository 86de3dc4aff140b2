"""AppTest of the Compare view: every fast method of every family, side by side, for one target class."""
from __future__ import annotations

from page_runner import open_page
from streamlit.testing.v1 import AppTest


def _compare_page() -> AppTest:
    return open_page("compare")


def _summary(at: AppTest):
    return at.dataframe[0].value


def test_compare_shows_fast_methods_with_predictions():
    at = _compare_page()
    assert not at.error, [e.value for e in at.error]
    table = _summary(at)
    shown = {f"{m} · {model}" for m, model in zip(table["method"], table["model"])}
    assert {"gradient · cnn-shapes", "input_x_gradient · cnn-shapes", "gradcam · cnn-shapes"} <= shown, shown
    assert not any(key.startswith(("lime", "rise")) for key in shown)  # slow methods are opt-in
    # Default target is each model's own prediction, so "explains X" equals "predicts X".
    assert list(table["explains"]) == list(table["predicts"])
    # Probabilities for people: the text column is the number as a percentage.
    from app.figures import probability_text

    assert list(table["probability of the prediction"]) == [probability_text(p) for p in table["p_predicted"]]
    # Every map has its PNG download.
    assert sum(b.label == "PNG" for b in at.get("download_button")) >= len(table)


def test_compare_toggle_target_class_explains_that_class_everywhere():
    at = _compare_page()
    at.radio(key="compare-mode").set_value("choose a class").run()
    at.selectbox(key="compare-class-shapes").set_value(5).run()
    assert not at.exception and not at.error
    from interp_core.data.shapes import CLASS_NAMES

    table = _summary(at)
    assert len(table) >= 3
    assert set(table["explains"]) == {CLASS_NAMES[5]}


def test_compare_sounds_has_a_player_and_maps_over_the_spectrogram():
    at = _compare_page()
    at.selectbox(key="compare-dataset").set_value("sounds").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("audio")) >= 1  # the input's player
    table = _summary(at)
    assert "gradient" in set(table["method"])
    assert any("spectrogram" in c.value for c in at.caption)
