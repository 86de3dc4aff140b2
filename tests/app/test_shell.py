"""AppTest tests of the dashboard shell: navigation, Home and Data render without exceptions."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
MAIN = str(ROOT / "app" / "main.py")


def run_page(page: str | None = None, timeout: float = 60) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=timeout)
    at.run()
    if page:
        at.switch_page(str(ROOT / "pages" / f"{page}.py"))
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_lists_models_and_device():
    at = run_page()
    assert "explanation explorer" in at.title[0].value
    frame = at.dataframe[0].value
    assert {"cnn-shapes", "cnn-digits"} <= set(frame["model"])
    shipped = frame.set_index("model").loc["cnn-shapes"]
    assert shipped["status"] in ("shipped", "cache")
    assert shipped["test accuracy"] >= 0.95
    assert any(m.label == "Device" for m in at.metric)


def test_data_page_shows_shapes_with_masks_and_attributes():
    at = run_page("data")
    assert not at.error
    assert any("Attributes:" in md.value and "shape::" in md.value for md in at.markdown)
    assert any("Background:" in md.value for md in at.markdown)


@pytest.mark.parametrize("dataset", ["digits", "sounds", "shapes-captions"])
def test_data_page_other_datasets(dataset):
    at = run_page("data")
    at.selectbox[0].set_value(dataset).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    if dataset == "shapes-captions":
        assert any("Caption:" in md.value for md in at.markdown)
