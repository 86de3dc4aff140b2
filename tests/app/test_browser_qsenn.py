"""A real browser through the Q-SENN view: the class's features, the matrix, a clicked cell, Table 6."""
from __future__ import annotations

import pytest
from test_browser import SCREENSHOTS, _assert_no_exception, interactive_charts, page, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_qsenn_view(server, page):  # noqa: F811
    # The first visit in a fresh cache embeds the training set with CLIP (about 2 minutes on 2 cores).
    page.goto(server, timeout=60_000)
    page.get_by_text("Models ready").wait_for(timeout=60_000)
    page.get_by_role("link", name="Q-SENN").click()
    page.get_by_text("Global explanation").first.wait_for(timeout=300_000)
    page.get_by_text("The whole decision layer").wait_for(timeout=240_000)
    interactive_charts(page, True)  # the matrix as a plotly chart, whose cells take clicks
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    page.get_by_text("Predicted:").first.wait_for(timeout=240_000)
    page.get_by_text("Table 6").first.wait_for(timeout=240_000)
    _assert_no_exception(page)
    page.set_viewport_size({"width": 1400, "height": 4200})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SCREENSHOTS / "qsenn.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    # a click on a cell of the matrix shows that feature on that class: the k-th red square is the k-th positive
    # weight in class-major order (see views.matrix_figure)
    from interp_core.methods.qsenn.views import feature_order
    from interp_core.store import load_model

    loaded = load_model("qsenn-shapes", train_if_missing=False, show_bar=False)
    weight = loaded.model.decision_weight.detach().numpy()
    order = feature_order(weight)
    positive = [(c, j) for c in range(len(weight)) for j in order if weight[c, j] > 0]
    k = len(positive) // 2
    c, _ = positive[k]
    matrix = page.locator(".js-plotly-plot").first
    matrix.scroll_into_view_if_needed()
    matrix.locator("g.trace").first.locator("path.point").nth(k).click(force=True)
    page.get_by_text(f"on {loaded.info.class_names[c]}: weight").wait_for(timeout=120_000)
    _assert_no_exception(page)
