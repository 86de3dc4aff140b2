"""Figures, tables and the one-file HTML report of what a view shows."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Iterator

import numpy as np
import streamlit as st


class Pictures:
    """PNG bytes of drawn maps and charts by a key of what they draw (:func:`picture_key`), the ``max_entries``
    most recently used kept; shared by every page run and the warm-up, which draws into it ahead of the pages.
    A picture not drawn yet is first looked for among the shipped ones (``folder``, one ``KEY.png`` each: the
    default views' pictures, drawn by ``python -m app.ship_pictures``); its key covers the drawing code,
    so a shipped picture is used only for exactly what it shows."""

    def __init__(self, max_entries: int = 1024, folder: Any = None) -> None:
        self._entries: OrderedDict[str, bytes | None] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.folder = folder

    def get(self, key: str, draw) -> bytes | None:
        """The picture under ``key``: kept, else shipped, else drawn by ``draw()``."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        picture = self.shipped(key)
        if picture is None:
            picture = draw()
        self.put(key, picture)
        return picture

    def shipped(self, key: str) -> bytes | None:
        """The shipped picture under ``key``, or None (none shipped, unreadable, or not a PNG)."""
        if self.folder is None:
            return None
        try:
            data = (self.folder / f"{key}.png").read_bytes()
        except OSError:
            return None
        return data if data.startswith(b"\x89PNG\r\n\x1a\n") else None

    def put(self, key: str, picture: bytes | None) -> None:
        with self._lock:
            self._entries[key] = picture
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def items(self) -> list[tuple[str, bytes | None]]:
        with self._lock:
            return list(self._entries.items())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _shipped_pictures() -> Any:
    from interp_core.paths import ASSETS_DIR

    return ASSETS_DIR / "pictures"


#: Every map and chart picture of this server process.
PICTURES = Pictures(folder=_shipped_pictures())


def picture_key(*parts: Any) -> str:
    """A digest of ``parts``: arrays by dtype, shape and bytes, dicts in key order, anything else by ``repr``."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)

    def feed(part: Any) -> None:
        if isinstance(part, np.ndarray):
            digest.update(f"array{part.dtype.str}{part.shape}".encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, dict):
            digest.update(b"dict")
            for name in sorted(part):
                feed(name)
                feed(part[name])
        elif isinstance(part, (list, tuple)):
            digest.update(f"seq{len(part)}".encode())
            for item in part:
                feed(item)
        else:
            digest.update(f"{type(part).__name__}:{part!r};".encode())

    feed(parts)
    return digest.hexdigest()


def drawing_version() -> str:
    """What a picture's pixels depend on besides what it draws: the drawing code (``app/figures.py``,
    ``app/charts.py`` and the spectrogram axes of ``interp_core/methods/piq/views.py``, by their text) and
    matplotlib's version; part of every picture's key, so a picture drawn by other code is never reused."""
    if not _VERSION:
        import hashlib
        import importlib.metadata
        from pathlib import Path

        from interp_core.paths import PACKAGE_DIR

        digest = hashlib.blake2b(digest_size=8)
        here = Path(__file__).resolve().parent
        for path in (here / "figures.py", here / "charts.py", PACKAGE_DIR / "methods" / "piq" / "views.py"):
            digest.update(path.read_bytes())
        digest.update(importlib.metadata.version("matplotlib").encode())
        _VERSION.append(digest.hexdigest())
    return _VERSION[0]


_VERSION: list[str] = []


def map_key(kind: str, values: np.ndarray | None, options: dict) -> str:
    """The key of :func:`map_png`'s picture (options in any order)."""
    return picture_key("map", drawing_version(), kind, values, options)


def map_of(spec: tuple) -> bytes:
    """:func:`map_png` of one :data:`interp_core.visualize.MapSpec` ``(kind, values, options)``."""
    kind, values, options = spec
    return map_png(kind, values, **options)


def map_png(kind: str, values: np.ndarray | None = None, **options) -> bytes:
    """:func:`app.figures.map_png`, kept in :data:`PICTURES` on its arrays and options (in any order: the warm-up's
    picture, ``WarmupContext.picture``, is the page's)."""
    from app import figures

    return PICTURES.get(map_key(kind, values, options), lambda: figures.map_png(kind, values, **options))


def picture_png(picture: np.ndarray) -> bytes:
    """An RGB uint8 picture ``(H, W, 3)`` as PNG bytes (for pictures the library draws itself)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture)).save(buf, "PNG")
    return buf.getvalue()


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "figure"


class Report:
    """What the current view shows, collected while the page draws it, offered as one HTML file.

    Pages add figures (PNG bytes or plotly figures), tables and lines of text in the order they show
    them; :meth:`offer` puts the "Download report (HTML)" button in the sidebar at the end of the run.
    The file is self-contained (images inline, plotly's script embedded once), so it opens offline."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[tuple[str, Any]] = []

    def text(self, text: str) -> None:
        self.parts.append(("text", text))

    def heading(self, text: str) -> None:
        self.parts.append(("heading", text))

    def figure(self, png: bytes, caption: str) -> None:
        self.parts.append(("png", (png, caption)))

    def plotly(self, fig, caption: str) -> None:
        self.parts.append(("plotly", (fig, caption)))

    def table(self, frame, caption: str) -> None:
        import pandas as pd

        self.parts.append(("table", (pd.DataFrame(frame), caption)))

    def section(self, name: str) -> "Report":
        """The report's part that one fragment of the page (``st.fragment``) draws, at the place where it
        was first drawn. A fragment reruns on its own, with the report of the page's last full run: its
        section is emptied and drawn again, so its figures are replaced, not added twice."""
        for kind, part in self.parts:
            if kind == "section" and part.title == name:
                part.parts.clear()
                return part
        section = Report(name)
        self.parts.append(("section", section))
        return section

    def _flat_parts(self) -> Iterator[tuple[str, Any]]:
        for kind, part in self.parts:
            if kind == "section":
                yield from part._flat_parts()
            else:
                yield kind, part

    def html(self, link: str = "") -> str:
        import base64
        import datetime
        import html

        out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
               "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
               "figure{display:inline-block;margin:0.5em;vertical-align:top;max-width:360px}"
               "figcaption{font-size:0.8em;color:#444}table{border-collapse:collapse;font-size:0.85em}"
               "td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>",
               f"<h1>{html.escape(self.title)}</h1>",
               f"<p><small>interp-core report, {datetime.datetime.now():%Y-%m-%d %H:%M}"
               + (f" · view: <code>{html.escape(link)}</code>" if link else "") + "</small></p>"]
        plotly_js = True
        for kind, part in self._flat_parts():
            if kind == "text":
                out.append(f"<p>{html.escape(part)}</p>")
            elif kind == "heading":
                out.append(f"<h2>{html.escape(part)}</h2>")
            elif kind == "png":
                png, caption = part
                out.append(f"<figure><img src='data:image/png;base64,{base64.b64encode(png).decode()}' style='max-width:100%'>"
                           f"<figcaption>{html.escape(caption)}</figcaption></figure>")
            elif kind == "plotly":
                fig, caption = part
                out.append(f"<div>{fig.to_html(full_html=False, include_plotlyjs=plotly_js)}<p><small>{html.escape(caption)}</small></p></div>")
                plotly_js = False
            elif kind == "table":
                frame, caption = part
                out.append(f"<h3>{html.escape(caption)}</h3>{frame.to_html(index=False, float_format=lambda v: f'{v:.4g}')}")
        out.append("</body></html>")
        return "\n".join(out)

    def offer(self) -> None:
        """The sidebar button that downloads the report of what this run showed (built when pressed)."""
        link = "?" + "&".join(f"{k}={v}" for k in st.query_params for v in st.query_params.get_all(k))
        st.sidebar.download_button("Download report (HTML)", lambda: self.html(link if link != "?" else ""),
                                   f"{_slug(self.title)}-report.html", "text/html", key="report-download", on_click="ignore",
                                   help="This view's figures, numbers and tables in one self-contained HTML file "
                                        "(for a paper's supplement or a lesson handout).")


def show_map(where, png: bytes, caption: str, *, report: Report | None = None, key: str | None = None,
             width: int | None = None, download: bool = True) -> None:
    """A map figure with its caption in ``where`` (``st`` or a column), a PNG download under it and its
    place in the report."""
    where.image(png, caption=caption, width=width or "content")
    if download:
        where.download_button("PNG", lambda: png, f"{_slug(caption)}.png", "image/png", key=key or f"png-{_slug(caption)}", on_click="ignore",
                              icon=":material/download:", help="Download this figure as PNG")
    if report is not None:
        report.figure(png, caption)


def column_config(formats: dict[str, str | tuple[str, str]]) -> dict:
    """Streamlit column settings from plain formats, as the library states them: ``{column: format}`` or
    ``{column: (label, format)}``; a printf format or ``"percent"`` is a number column, ``"progress"`` a bar
    over [0, 1], ``"hidden"`` hides the column."""
    out = {}
    for column, spec in formats.items():
        label, fmt = spec if isinstance(spec, tuple) else (None, spec)
        if fmt == "hidden":
            out[column] = None
        elif fmt == "progress":
            out[column] = st.column_config.ProgressColumn(label, min_value=0.0, max_value=1.0, format="%.2f")
        else:
            out[column] = st.column_config.NumberColumn(label, format=fmt)
    return out


def _written(frame, formats: dict[str, str | tuple[str, str]] | None):
    """``frame`` without its hidden columns, renamed to the labels of ``formats``, and how each formatted column
    writes a value (``{label: function}``; a missing value as a dash). See :func:`column_config`."""
    formats = formats or {}
    frame = frame.drop(columns=[c for c, spec in formats.items() if spec == "hidden" and c in frame.columns])
    writers = {}
    for column, spec in formats.items():
        label, fmt = spec if isinstance(spec, tuple) else (column, spec)
        if column not in frame.columns or fmt == "hidden":
            continue
        write = ((lambda v: f"{v:.1%}") if fmt == "percent" else (lambda v: f"{v:.2f}") if fmt == "progress"
                 else (lambda v, fmt=fmt: fmt % v))
        writers[label] = lambda v, write=write: "–" if v is None or v != v else write(v)
        frame = frame.rename(columns={column: label})
    return frame, writers


def static_table(frame, formats: dict[str, str | tuple[str, str]] | None = None):
    """``frame`` as ``st.table`` shows it (a pandas Styler): hidden columns left out, numbers written as
    ``formats`` says (see :func:`column_config`; a progress bar as its value), a missing value as a dash, labels
    as column names, text escaped from Markdown."""
    import pandas as pd

    frame, writers = _written(frame, formats)
    for column in frame.columns:  # st.table reads text as Markdown: a sign "+" would be a bullet, a_b_c italics
        if column not in writers and not pd.api.types.is_numeric_dtype(frame[column]):
            writers[column] = lambda v: "–" if v is None else _markdown_escaped(str(v))
    return frame.style.format(writers, na_rep="–").hide(axis="index")


_MARKDOWN_SPECIAL = set("\\`*_[]#+-!|~<>$")


def _markdown_escaped(text: str) -> str:
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text)


#: How :func:`table_html`'s tables look: Streamlit's table style, a header that stays while the rows scroll.
TABLE_CSS = ("<style>.ic-table{max-height:460px;overflow:auto;border:1px solid rgba(49,51,63,.2);border-radius:.5rem;"
             "margin-bottom:.5rem}.ic-table table{border-collapse:collapse;width:100%;font-size:.875rem}"
             ".ic-table th{position:sticky;top:0;background:#fafafa;color:rgba(49,51,63,.7);font-weight:400;text-align:left}"
             ".ic-table th,.ic-table td{padding:.25rem .5rem;border-bottom:1px solid rgba(49,51,63,.1)}"
             ".ic-table th,.ic-table td.n{white-space:nowrap}.ic-table td.n{text-align:right;font-variant-numeric:tabular-nums}</style>")


def table_html(frame, formats: dict[str, str | tuple[str, str]] | None = None) -> str:
    """``frame`` as one plain HTML table (written as :func:`static_table` writes it, text HTML-escaped), which a
    browser draws at once: ``st.table`` renders every cell as Markdown, about 0.4 s for 500 cells here."""
    import html

    import pandas as pd

    frame, writers = _written(frame, formats)
    numeric = {c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])}

    def cell(column, value) -> str:
        if column in writers:
            text = writers[column](value)
        elif value is None or (isinstance(value, float) and value != value):
            text = "–"
        else:
            text = str(value)
        return f"<td{' class=n' if column in numeric else ''}>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(cell(c, v) for c, v in zip(frame.columns, row)) + "</tr>"
                   for row in frame.itertuples(index=False, name=None))
    return f"{TABLE_CSS}<div class=ic-table><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def show_table(where, frame, caption: str, *, report: Report | None = None, key: str,
               formats: dict[str, str | tuple[str, str]] | None = None, **dataframe) -> None:
    """A table with a CSV download under it and its place in the report: a static table, which a browser draws at
    once, or with the sidebar's "Interactive charts" on a sortable ``st.dataframe`` (``dataframe``: its options).
    ``formats``: see :func:`column_config`."""
    import pandas as pd

    frame = pd.DataFrame(frame)
    if not interactive_charts():
        where.html(table_html(frame, formats))
    else:
        if formats:
            dataframe["column_config"] = {**column_config(formats), **dataframe.get("column_config", {})}
        where.dataframe(frame, hide_index=True, key=f"{key}-table", **dataframe)
    where.download_button("CSV", lambda: frame.to_csv(index=False), f"{key}.csv", "text/csv", key=f"{key}-csv", on_click="ignore",
                          icon=":material/download:", help=f"Download {caption} as CSV")
    if report is not None:
        report.table(frame, caption)


#: The sidebar switch (session state key) that draws charts with plotly instead of as pictures.
INTERACTIVE_CHARTS = "interactive-charts"
#: The environment variable whose ``1`` turns that switch on by default.
INTERACTIVE_CHARTS_ENV = "INTERP_CORE_INTERACTIVE_CHARTS"


def charts_switch() -> None:
    """The sidebar's "Interactive charts" switch, on every page (its state lives for the session)."""
    import os

    if INTERACTIVE_CHARTS not in st.session_state:
        st.session_state[INTERACTIVE_CHARTS] = os.environ.get(INTERACTIVE_CHARTS_ENV, "0").strip().lower() in ("1", "true", "yes", "on")
    st.sidebar.toggle("Interactive charts", key=INTERACTIVE_CHARTS,
                      help="Off: charts are pictures and tables are static, which a browser shows at once. On: plotly "
                           "charts you can hover, zoom and click (the decision layer's cells, the UMAP's points) and "
                           "tables you can sort; the browser takes about a second to load them. "
                           f"`{INTERACTIVE_CHARTS_ENV}=1` turns it on by default.")


def interactive_charts() -> bool:
    return bool(st.session_state.get(INTERACTIVE_CHARTS, False))


def chart_key(figure_json: str, width: int) -> str:
    """The key of :func:`chart_png`'s picture."""
    return picture_key("chart", drawing_version(), figure_json, width)


def chart_png(figure_json: str, width: int = 900) -> bytes | None:
    """:func:`app.charts.figure_png`, kept in :data:`PICTURES` on the figure's JSON (so the warm-up's picture is
    the page's)."""
    from app import charts

    return PICTURES.get(chart_key(figure_json, width), lambda: charts.figure_png(figure_json, width))


def built_figure(build, *args: Any, key: Any) -> Any:
    """``build(*args)`` (a plotly figure), kept under ``key`` (hashable: everything the figure depends on, e.g. the
    model's name and weights fingerprint and the choices drawn) with its JSON, the 64 most recently used: a page run
    that shows the same figure again neither builds nor serializes it (0.1-0.15 s for the larger ones). The figure
    is shared: draw it, do not change it."""
    with _FIGURES_LOCK:
        if key in _FIGURES:
            _FIGURES.move_to_end(key)
            return _FIGURES[key][0]
    figure = build(*args)
    serialized = figure.to_json()
    with _FIGURES_LOCK:
        _FIGURES[key] = (figure, serialized)
        _JSON_OF[id(figure)] = serialized
        while len(_FIGURES) > 64:
            old, _ = _FIGURES.popitem(last=False)[1]
            _JSON_OF.pop(id(old), None)
    return figure


def figure_json(figure: Any) -> str:
    """``figure.to_json()``, kept for a figure from :func:`built_figure`."""
    kept = _JSON_OF.get(id(figure))
    return kept if kept is not None else figure.to_json()


_FIGURES: OrderedDict = OrderedDict()  # key -> (figure, its JSON)
_JSON_OF: dict[int, str] = {}  # id of a figure held in _FIGURES -> its JSON
_FIGURES_LOCK = threading.Lock()


def show_chart(where, figure, caption: str, *, key: str, report: Report | None = None, name: str | None = None,
               width: int = 900, on_select: bool = False):
    """A plotly ``figure`` in ``where``: a picture (:mod:`app.charts`) with a PNG download, or with the sidebar's
    "Interactive charts" on (or a figure the picture cannot draw) the plotly chart, whose selection event is
    returned when ``on_select`` (None otherwise). ``name`` names the downloaded file; ``width`` is the picture's
    width in pixels before the room its labels need."""
    if report is not None:
        report.plotly(figure, caption)
    if not interactive_charts():
        png = chart_png(figure_json(figure), width)
        if png is not None:
            where.image(png)
            where.download_button("PNG", lambda: png, f"{_slug(name or caption)}.png", "image/png", key=f"{key}-png", on_click="ignore",
                                  icon=":material/download:", help="Download this chart as PNG")
            return None
    select = {"on_select": "rerun", "selection_mode": "points"} if on_select else {}
    return where.plotly_chart(figure, key=key, config=plotly_config(name or caption), **select)


def plotly_config(name: str) -> dict:
    """Plotly's own export (the camera button) as a PNG named ``name``, drawn in the browser: offline."""
    return {"toImageButtonOptions": {"format": "png", "filename": _slug(name), "scale": 2}, "displaylogo": False}
