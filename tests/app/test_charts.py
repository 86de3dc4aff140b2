"""Charts as pictures (app.charts) and the sidebar's "Interactive charts" switch."""
from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
from page_runner import INTERACTIVE_CHARTS, ROOT
from PIL import Image
from streamlit.testing.v1 import AppTest

from app import charts


def _picture(figure) -> np.ndarray:
    png = charts.figure_png(figure.to_json())
    assert png is not None
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _where(picture: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    """(row, column) of every pixel of colour ``rgb``."""
    return np.argwhere((np.abs(picture - np.array(rgb)) <= 6).all(-1))


def test_bars_point_the_way_their_sign_says():
    """A horizontal bar chart: the positive red bar lies right of the negative blue one, the first category on top
    when the axis is reversed, as plotly draws it."""
    figure = go.Figure(go.Bar(x=[2.0, -1.0], y=["up", "down"], orientation="h", marker_color=["#ff0000", "#0000ff"]))
    figure.update_layout(yaxis=dict(autorange="reversed"), height=300)
    picture = _picture(figure)
    red, blue = _where(picture, (255, 0, 0)), _where(picture, (0, 0, 255))
    assert len(red) > 500 and len(blue) > 200
    assert red[:, 1].min() >= blue[:, 1].max() - 2  # the bars meet at 0: blue left of it, red right
    assert red[:, 0].mean() < blue[:, 0].mean()  # reversed axis: the first bar on top
    assert np.ptp(red[:, 1]) > 1.5 * np.ptp(blue[:, 1])  # twice as long (up to the axis' rounding)


def test_markers_land_on_their_data_coordinates():
    """Square markers at (0, 0) and (10, 10): the second is drawn up and right of the first."""
    figure = go.Figure([go.Scatter(x=[0], y=[0], mode="markers", marker=dict(symbol="square", size=20, color="#00ff00"), name="a"),
                        go.Scatter(x=[10], y=[10], mode="markers", marker=dict(symbol="square", size=20, color="#ff00ff"), name="b")])
    picture = _picture(figure)
    a, b = _where(picture, (0, 255, 0)), _where(picture, (255, 0, 255))
    assert len(a) > 100 and len(b) > 100
    assert b[:, 0].mean() < a[:, 0].mean() and b[:, 1].mean() > a[:, 1].mean()


def test_polar_outlines_follow_their_radius():
    """Two spider outlines over the same axes: the one at radius 1 encloses the one at radius 0.3."""
    theta = ["a", "b", "c", "a"]
    figure = go.Figure([go.Scatterpolar(r=[1, 1, 1, 1], theta=theta, mode="lines", line=dict(color="#ff0000")),
                        go.Scatterpolar(r=[0.3, 0.3, 0.3, 0.3], theta=theta, mode="lines", line=dict(color="#0000ff"))])
    figure.update_polars(radialaxis=dict(range=[0, 1]))
    picture = _picture(figure)
    red, blue = _where(picture, (255, 0, 0)), _where(picture, (0, 0, 255))
    assert np.ptp(red[:, 1]) > 2.5 * np.ptp(blue[:, 1])


def test_what_the_picture_cannot_draw_stays_a_plotly_chart():
    assert charts.figure_png(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])).to_json()) is None
    grouped = go.Figure(go.Box(x=["a", "a", "b"], y=[1, 2, 3]))
    assert charts.figure_png(grouped.to_json()) is None


def _benchmark(interactive: bool | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.switch_page(str(ROOT / "pages" / "benchmark.py"))
    if interactive is not None:
        at.session_state[INTERACTIVE_CHARTS] = interactive
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_charts_are_pictures_until_the_switch_turns_them_interactive(monkeypatch):
    monkeypatch.delenv("INTERP_CORE_INTERACTIVE_CHARTS", raising=False)
    at = _benchmark(None)
    switch = at.sidebar.toggle(key=INTERACTIVE_CHARTS)
    assert switch.value is False and not at.get("plotly_chart")
    assert any(button.proto.label == "PNG" for button in at.get("download_button"))  # the picture's download
    switch.set_value(True).run()
    assert len(at.get("plotly_chart")) == 1


def test_the_environment_turns_interactive_charts_on_by_default(monkeypatch):
    monkeypatch.setenv("INTERP_CORE_INTERACTIVE_CHARTS", "1")
    at = _benchmark(None)
    assert at.sidebar.toggle(key=INTERACTIVE_CHARTS).value is True and len(at.get("plotly_chart")) == 1


def test_a_static_table_writes_numbers_as_its_formats_say():
    import pandas as pd

    from app.report import static_table

    frame = pd.DataFrame({"method": ["input_x_gradient", "+"], "accuracy": [0.91234, None], "loss": [0.5, 0.25], "secret": [1, 2]})
    styled = static_table(frame, {"accuracy": ("accuracy ↑", "percent"), "loss": "%.3f", "secret": "hidden"})
    assert list(styled.data.columns) == ["method", "accuracy ↑", "loss"]
    text = styled.to_string(delimiter="|")
    assert "91.2%" in text and "0.500" in text and "0.250" in text and "–" in text and "secret" not in text
    # st.table reads cells as Markdown: a lone "+" would be a bullet and input_x_gradient half in italics
    assert "input\\_x\\_gradient|" in text and "\n\\+|" in text
    assert list(frame.columns) == ["method", "accuracy", "loss", "secret"]  # the caller's frame (CSV, report) is unchanged


def test_a_static_table_is_one_html_table_with_its_values_written_and_escaped():
    import pandas as pd

    from app.report import table_html

    frame = pd.DataFrame({"method": ["<b>bold</b>", "gradcam"], "accuracy": [0.91234, None], "secret": [1, 2]})
    page = table_html(frame, {"accuracy": ("accuracy ↑", "percent"), "secret": "hidden"})
    assert page.count("<tr>") == 3 and "<th>accuracy ↑</th>" in page and "secret" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>" not in page  # text, never markup
    assert "<td class=n>91.2%</td>" in page and "<td class=n>–</td>" in page
