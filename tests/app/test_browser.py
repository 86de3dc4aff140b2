"""A real browser (Debian Chromium driven by Playwright) through Home, Data and an upload.

Skipped when Chromium is not installed, unless ``INTERP_CORE_REQUIRE_BROWSER=1`` (set by CI), in which
case a missing browser fails the run.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("INTERP_CORE_REQUIRE_BROWSER") == "1":
            pytest.fail("Debian chromium is required (INTERP_CORE_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Debian chromium not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def server():
    _require_browser()
    from interp_core.bench.views import dashboard

    with dashboard(timeout=90) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


def _assert_no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator('[data-testid="stException"]').first.inner_text()


def test_home_data_and_upload(server, page, tmp_path):
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(server, timeout=60_000)
    page.get_by_text("Models ready").wait_for(timeout=60_000)
    page.get_by_text("Device", exact=True).wait_for(timeout=60_000)
    page.wait_for_timeout(500)  # let the data grid paint
    _assert_no_exception(page)
    page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)

    page.get_by_role("link", name="Data").click()
    page.get_by_text("Try the input widget").wait_for(timeout=60_000)
    page.get_by_text("Attributes:").first.wait_for(timeout=30_000)
    _assert_no_exception(page)

    rng = np.random.default_rng(0)
    upload = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(upload)
    page.get_by_text("Upload", exact=True).last.click()
    page.locator('input[type="file"]').last.set_input_files(str(upload))
    page.get_by_text("model input (3, 64, 64)").wait_for(timeout=60_000)
    _assert_no_exception(page)
    page.screenshot(path=str(SCREENSHOTS / "data-upload.png"), full_page=True)

    bad = tmp_path / "notes.png"
    bad.write_text("this is text, not an image")
    page.locator('input[type="file"]').last.set_input_files(str(bad))
    page.locator('[data-testid="stAlert"]').filter(has_text="image").first.wait_for(timeout=30_000)
    _assert_no_exception(page)


def _open_view(page, server: str, name: str, ready_text: str) -> None:
    page.goto(server, timeout=60_000)
    page.get_by_text("Models ready").wait_for(timeout=60_000)
    page.get_by_role("link", name=name).click()
    page.get_by_text(ready_text).first.wait_for(timeout=120_000)


def test_compare_view(server, page):
    _open_view(page, server, "Compare", "predicts")
    page.get_by_text("gradcam").first.wait_for(timeout=60_000)
    _assert_no_exception(page)
    page.screenshot(path=str(SCREENSHOTS / "compare.png"), full_page=True)


def test_pointing_game_view(server, page):
    _open_view(page, server, "Pointing game", "Grids")
    page.get_by_label("Grids", exact=True).fill("3")
    page.get_by_label("Grids", exact=True).press("Enter")
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Run").click()
    page.get_by_text("Chance level").wait_for(timeout=300_000)
    page.get_by_text("Example grids").wait_for(timeout=120_000)
    page.wait_for_timeout(1000)
    _assert_no_exception(page)
    page.screenshot(path=str(SCREENSHOTS / "pointing-game.png"), full_page=True)


def test_bcos_view_colored_weight_map(server, page):
    _open_view(page, server, "B-cos", "Top-5 classes")
    page.get_by_text("Δ-explanation of the two most likely classes").wait_for(timeout=120_000)
    page.get_by_text("The standard classifier with post-hoc explanations").wait_for(timeout=120_000)
    page.wait_for_timeout(1000)
    _assert_no_exception(page)
    page.screenshot(path=str(SCREENSHOTS / "bcos.png"), full_page=True)
    weight_map = page.locator('[data-testid="stImage"]').filter(has_text="W(x) for").first
    weight_map.screenshot(path=str(SCREENSHOTS / "bcos-weight-map.png"))


def interactive_charts(page, on: bool = True) -> None:
    """Set the sidebar's "Interactive charts" switch (plotly charts and sortable tables, or pictures and static
    tables) and wait for the page to redraw."""
    from interp_core.bench.views import wait_until_drawn

    switch = page.locator('[data-testid="stSidebar"] [data-testid="stCheckbox"]').filter(has_text="Interactive charts")
    if switch.locator("input").is_checked() != on:
        switch.get_by_text("Interactive charts").click()
        page.wait_for_timeout(300)
        wait_until_drawn(page)


def test_prototypes_view(server, page):
    _open_view(page, server, "Prototypes (KMEx)", "B234 · predicts")
    interactive_charts(page, False)  # the default: Fig. 2 as a picture, no plotly code loaded
    assert page.locator(".js-plotly-plot").count() == 0 and page.locator('[data-testid="stImage"]').count() > 0
    interactive_charts(page, True)
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    page.get_by_text("Prototypes in the map").first.wait_for(timeout=120_000)
    page.get_by_text("train columns (and the K/C=1 prototypes)").wait_for(timeout=240_000)
    _assert_no_exception(page)
    page.set_viewport_size({"width": 1400, "height": 3400})
    page.screenshot(path=str(SCREENSHOTS / "prototypes.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
