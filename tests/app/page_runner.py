"""Open one dashboard view under AppTest the way a user does: through app/main.py and its navigation."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from app.report import INTERACTIVE_CHARTS

ROOT = Path(__file__).resolve().parents[2]


def open_page(stem: str | None = None, timeout: float = 120, *, interactive: bool = True) -> AppTest:
    """Run the app, switch to ``pages/<stem>.py`` (Home when None) and check that nothing raised. ``interactive``
    turns the sidebar's "Interactive charts" on first: charts as plotly figures and tables as dataframes, whose
    numbers the page tests read (the pictures and static tables of the default are tested in test_charts.py)."""
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=timeout)
    if interactive:
        at.session_state[INTERACTIVE_CHARTS] = True
    at.run()
    if stem:
        at.switch_page(str(ROOT / "pages" / f"{stem}.py"))
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def image_captions(at: AppTest) -> list[str]:
    """The captions of every image the page shows, in page order."""
    def walk(node):
        if type(node).__name__ == "Image":
            yield from (i.caption for i in node.proto.imgs)
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return list(walk(at.main))


def count_pictures_drawn(monkeypatch) -> list[str]:
    """Count every chart and map this process draws from now on (the warm-up draws in its worker process)."""
    from app import charts, figures

    drawn: list[str] = []
    chart, draw = charts.figure_png, figures.map_png
    monkeypatch.setattr(charts, "figure_png", lambda *a, **k: drawn.append("chart") or chart(*a, **k))
    monkeypatch.setattr(figures, "map_png", lambda kind, *a, **k: drawn.append(kind) or draw(kind, *a, **k))
    return drawn
