"""A real browser visit of the PIQ view (Debian Chromium through Playwright), reusing the dashboard
server and browser of ``test_browser.py``."""
from __future__ import annotations

import pytest
from test_browser import SCREENSHOTS, _assert_no_exception, _open_view, page, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_piq_view(server, page):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _open_view(page, server, "PIQ", "Classifier's decision")
    page.get_by_text("input · decision in green").first.wait_for(timeout=120_000)
    page.get_by_text("Grad-CAM ·").first.wait_for(timeout=120_000)
    page.get_by_text("Metrics", exact=True).wait_for(timeout=60_000)
    _assert_no_exception(page)
    page.set_viewport_size({"width": 1400, "height": 2000})
    page.screenshot(path=str(SCREENSHOTS / "piq.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
