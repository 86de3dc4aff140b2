"""Every view in a real browser (Debian Chromium through Playwright): one control changed on each, no
Streamlit exception box, no request leaving the machine, a shared link that opens the same state, a
figure, a table and a report downloaded, and a screenshot of every view in artifacts/screenshots.

The views, their ready texts and the control changed on each are ``interp_core.bench.views.VIEW_CHECKS``,
the same list ``python -m interp_core bench views`` times. Skipped without Chromium unless
INTERP_CORE_REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, _assert_no_exception, server  # noqa: F401  (fixture)

from interp_core.bench.views import LOCAL_HOSTS, VIEW_CHECKS, change_view, open_view, wait_until_drawn, wait_until_idle

pytestmark = pytest.mark.browser
PAGE_FIELD = re.compile(r"^Page \(1")  # the Data view's page number (not the menu, "App pages")


@pytest.fixture(scope="module")
def browser(server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def context(browser):
    """A fresh browser profile whose every request is logged; at the end, all of them went to this machine."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    yield context
    context.close()
    outside = sorted({u for u in requests if not u.startswith(("data:", "blob:")) and urlparse(u).hostname not in LOCAL_HOSTS})
    assert not outside, f"requests left the machine: {outside}"
    assert requests  # the log did record the session


def _params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


@pytest.mark.slow
def test_every_view_renders_and_takes_a_control_change(server, context):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = context.new_page()
    for check in VIEW_CHECKS:
        open_view(page, server, check)
        _assert_no_exception(page)
        assert page.get_by_role("button", name="Deploy").count() == 0  # toolbarMode hides Streamlit's Deploy
        before = _params(page.url)
        seconds = change_view(page, check)
        _assert_no_exception(page)
        if seconds is not None and check.page not in ("study_designer", "study_results", "pointing_game", "prototypes"):
            assert _params(page.url) != before, f"{check.page}: the change did not reach the link"
        page.set_viewport_size({"width": 1400, "height": 2600})
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / f"view-{check.page}.png"))
        page.set_viewport_size({"width": 1400, "height": 1000})


def test_a_shared_link_opens_the_same_view(server, context):  # noqa: F811
    data = next(c for c in VIEW_CHECKS if c.page == "data")
    page = context.new_page()
    open_view(page, server, data)
    change_view(page, data)  # dataset -> digits
    page.get_by_label(PAGE_FIELD).first.fill("3")
    page.get_by_label(PAGE_FIELD).first.press("Enter")
    # The rerun that writes the page into the link may start after a short idle spell: wait for the link
    # itself (up to 30 s), not just for an idle script.
    for _ in range(150):
        wait_until_idle(page)
        if _params(page.url).get("page") == ["3"]:
            break
        page.wait_for_timeout(200)
    shared = page.url
    assert _params(shared)["dataset"] == ["digits"] and _params(shared)["page"] == ["3"]
    other = context.browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()  # another person
    other.goto(shared, timeout=60_000)
    other.get_by_text("Try the input widget").wait_for(timeout=120_000)
    wait_until_idle(other)
    _assert_no_exception(other)
    assert other.get_by_text("10 classes").count() >= 1
    assert other.get_by_label(PAGE_FIELD).first.input_value() == "3"
    assert _params(other.url)["dataset"] == ["digits"]
    other.context.close()


def test_downloads_a_figure_a_table_and_the_report(server, context):  # noqa: F811
    compare = next(c for c in VIEW_CHECKS if c.page == "compare")
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    open_view(page, server, compare)
    # Downloads are made when pressed: a download button given bytes has the browser fetch them as the page draws.
    assert not [u for u in fetched if u.endswith(".csv")], "the page fetched its tables' downloads while drawing"
    with page.expect_download() as figure:
        page.locator('[data-testid="stDownloadButton"]').filter(has_text="PNG").first.click()
    assert figure.value.suggested_filename.endswith(".png")
    assert open(figure.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as table:
        page.locator('[data-testid="stDownloadButton"]').filter(has_text="CSV").first.click()
    header = open(table.value.path(), encoding="utf-8").readline()
    assert header.startswith("method,model,explains")
    with page.expect_download() as report:
        page.get_by_role("button", name="Download report (HTML)").click()
    html = open(report.value.path(), encoding="utf-8").read()
    assert "<img src='data:image/png;base64," in html and "<table" in html and "Compare explanations" in html
    _assert_no_exception(page)


def test_the_benchmark_view_shows_its_recorded_results(server, context):  # noqa: F811
    """Each benchmark with a recorded result: dated, its table and summary chart drawn, its CSV the recorded rows."""
    from interp_core.evaluation.benchmark import DEFAULTS, read_results

    recorded = {name: result for name in DEFAULTS if (result := read_results(name)) is not None}
    if not recorded:
        pytest.skip("no benchmark has a recorded result for today's weights")
    check = next(c for c in VIEW_CHECKS if c.page == "benchmark")
    page = context.new_page()
    open_view(page, server, check)  # no link: it opens on a benchmark with a recorded result
    assert _params(page.url)["benchmark"] == [next(iter(recorded))]
    for name, result in recorded.items():
        page.goto(f"{server}/benchmark?benchmark={name}", timeout=60_000)
        page.get_by_text(f"Recorded on {result['date']}").first.wait_for(timeout=120_000)
        wait_until_drawn(page)
        _assert_no_exception(page)
        # the default: the table static and the spider charts one picture (no plotly or data-grid code loaded)
        assert page.locator(".ic-table table").count() == 1 and page.locator('[data-testid="stDataFrame"]').count() == 0
        assert page.locator('[data-testid="stPlotlyChart"]').count() == 0
        assert page.locator('[data-testid="stImage"] img').count() >= 1
        with page.expect_download() as table:
            page.locator('[data-testid="stDownloadButton"]').filter(has_text="CSV").first.click()
        lines = open(table.value.path(), encoding="utf-8").read().splitlines()
        assert lines[0].startswith("model,method,family,completeness,")
        assert len(lines) == 1 + len(result["rows"]) + len(result["references"])


def test_bcos_neuron_controls_follow_the_picture_after_gallery_to_upload(server, context, tmp_path):  # noqa: F811
    import numpy as np
    from PIL import Image

    from interp_core.store.catalog import checkpoint_status

    if checkpoint_status("bcos-shapes") == "missing":
        pytest.skip("bcos-shapes is not trained")
    bcos = next(c for c in VIEW_CHECKS if c.page == "bcos")
    page = context.new_page()
    open_view(page, server, bcos)
    change_view(page, bcos)  # channel -> 3
    page.get_by_text("Upload", exact=True).first.click()
    wait_until_idle(page)
    upload = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(upload)
    page.locator('input[type="file"]').first.set_input_files(str(upload))
    page.get_by_text("Neuron explorer").wait_for(timeout=120_000)
    wait_until_idle(page)
    _assert_no_exception(page)
    assert page.get_by_label("Channel", exact=False).first.input_value() == "3"
    assert page.get_by_text("[3] at row").count() >= 1  # the caption names the neuron the controls show
