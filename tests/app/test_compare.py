"""AppTest of the Compare view: every fast method of every family, side by side, for one target class."""
from __future__ import annotations

from page_runner import open_page
from streamlit.testing.v1 import AppTest


def _compare_page() -> AppTest:
    return open_page("compare")


def _shown(at: AppTest) -> dict[str, str]:
    titles = [md.value for md in at.markdown if md.value.startswith("**")]
    captions = [c.value for c in at.caption if c.value.startswith("explains")]
    return {t.split("**")[1] + " · " + t.split(" · ")[-1]: c for t, c in zip(titles, captions)}


def test_compare_shows_fast_methods_with_predictions():
    at = _compare_page()
    assert not at.error, [e.value for e in at.error]
    shown = _shown(at)
    assert {"gradient · cnn-shapes", "input_x_gradient · cnn-shapes", "gradcam · cnn-shapes"} <= set(shown), shown
    assert not any(key.startswith(("lime", "rise")) for key in shown)  # slow methods are opt-in
    # Default target is each model's own prediction, so "explains X" equals "predicts X".
    for caption in shown.values():
        explains = caption.split("explains ")[1].split(" (p=")[0]
        predicts = caption.split("predicts ")[1].split(" (p=")[0]
        assert explains == predicts


def test_compare_toggle_target_class_explains_that_class_everywhere():
    at = _compare_page()
    target_radio = [r for r in at.radio if r.label == "Target class"][0]
    target_radio.set_value("choose a class").run()
    class_box = [s for s in at.selectbox if s.label == "Class"][0]
    class_box.set_value(5).run()
    assert not at.exception and not at.error
    from interp_core.data.shapes import CLASS_NAMES

    shown = _shown(at)
    assert len(shown) >= 3
    for caption in shown.values():
        assert caption.startswith(f"explains {CLASS_NAMES[5]} (p=")
