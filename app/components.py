"""Shared dashboard pieces: navigation, cached library calls, error guard and the one input widget.

Pages only show what ``interp_core`` computes; everything here is UI glue and caching.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import streamlit as st

log = logging.getLogger("interp_core.app")


def show_error(message: str) -> None:
    """``st.error`` of a plain-text library message, escaped so that nothing in it (a file name with
    ``#``, ``[link](...)``, ``$LaTeX$`` or HTML) renders as Markdown, and shortened if very long."""
    from interp_core.guards import markdown_escape, shorten

    st.error(markdown_escape(shorten(message, 600)))


#: The dashboard's page icon, a local file (nothing is fetched from the internet).
PAGE_ICON = Path(__file__).resolve().parent.parent / "assets" / "icon.png"
PAGES = Path(__file__).resolve().parent.parent / "pages"


def navigation():
    """The dashboard's menu: every registered view (``interp_core.views``) by section."""
    from interp_core.views import navigation as views_by_section

    return views_by_section()


def existing_views(pages: Path = PAGES):
    """The registered views whose page file ``pages/<view>.py`` exists, by section (sections without any
    left out): what the menu offers and what Home lists."""
    out = {section: [v for v in views if (pages / f"{v.page}.py").exists()] for section, views in navigation().items()}
    return {section: views for section, views in out.items() if views}


@contextlib.contextmanager
def guarded(what: str) -> Iterator[None]:
    """Show any failure inside the block as a clear message instead of a traceback page."""
    try:
        yield
    except Exception as err:  # the app must keep running whatever the library raises
        log.exception("%s failed", what)
        show_error(f"{what} failed: {err}")


@st.cache_resource(show_spinner="Loading model…", max_entries=32)
def _cached_model(name: str, fingerprint: str):
    from interp_core.store import load_model

    return load_model(name, train_if_missing=False, show_bar=False)


def cached_model(name: str):
    """The ready model ``name``, cached per weights fingerprint: retrained weights are loaded anew, never
    served from an older entry. Page caches of results take ``model.card.fingerprint`` as an argument."""
    from interp_core.store.catalog import checkpoint_fingerprint

    return _cached_model(name, checkpoint_fingerprint(name))


def model_picker(choices: list[str], key: str, missing: str, url: "UrlState | None" = None):
    """A model select box over recipe names ``choices`` (labelled with their dataset) and the loaded
    choice; stops the page with ``missing`` when there is nothing to choose, or when loading fails (the
    error is shown by :func:`guarded`). ``url``: the view's :class:`UrlState` (the choice is shared as ``model``)."""
    from interp_core.store.recipes import get_recipe

    if not choices:
        st.warning(missing)
        st.stop()
    index = url.index("model", choices) if url is not None else 0
    name = st.selectbox("Model", choices, index=index, key=key, format_func=lambda n: f"{n} (on {get_recipe(n).dataset})")
    if url is not None:
        url.share("model", name)
    loaded = None
    with guarded(f"Loading {name}"):
        loaded = cached_model(name)
    if loaded is None:
        st.stop()
    return name, loaded


def tensor_key(x) -> tuple[bytes, tuple[int, ...]]:
    """A hashable key ``(bytes, shape)`` of a float32 tensor, for ``st.cache_data`` arguments."""
    x = x.detach().float().cpu().contiguous()
    return x.numpy().tobytes(), tuple(x.shape)


def tensor_from_key(data: bytes, shape: tuple[int, ...]):
    """The tensor of :func:`tensor_key`."""
    import torch

    return torch.from_numpy(np.frombuffer(data, dtype=np.float32).reshape(shape).copy())


@st.cache_resource(show_spinner="Loading dataset…")
def cached_split(dataset: str, split: str):
    from interp_core.data import load_split

    return load_split(dataset, split)


#: How Home reads :func:`interp_core.store.catalog.code_status`.
CODE_STATUS = {"current": "today's code", "stale": "older code (retrain to reproduce)", "unknown": "not recorded",
               "missing": None}
#: Column of :func:`model_table` with the accuracy recorded when the checkpoint was trained.
RECORDED_ACCURACY = "test accuracy (recorded at training)"


@st.cache_data(show_spinner=False)
def model_table() -> list[dict[str, Any]]:
    """One row per recipe: family, status and the test accuracy recorded at training time with its date
    (read from checkpoint metadata, no torch import; ``eval`` computes it now)."""
    from interp_core.store.catalog import checkpoint_status, code_status, recorded_date, recorded_metrics
    from interp_core.store.recipes import all_recipes

    rows = []
    for recipe in all_recipes().values():
        metrics = recorded_metrics(recipe.name)
        accuracy = metrics.get("accuracy")
        rows.append({"model": recipe.name, "family": recipe.family, "dataset": recipe.dataset,
                     "status": checkpoint_status(recipe.name), "trained by": CODE_STATUS[code_status(recipe.name)],
                     RECORDED_ACCURACY: accuracy,
                     "recorded on": recorded_date(recipe.name) or None, "description": recipe.description})
    return rows


@dataclass
class InputSample:
    """What the input widget hands to a page: the model-ready tensor plus what to show beside it."""

    x: Any  # torch.Tensor (C, H, W) or (1, F, T)
    display: np.ndarray  # RGB uint8 picture (image or spectrogram)
    source: str
    label: int | None = None
    mask: np.ndarray | None = None
    waveform: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def _gallery_sample(dataset: str, index: int) -> InputSample:
    from interp_core.data.preview import sample_image

    split = cached_split(dataset, "test")
    x = split.inputs([index])[0]
    masks = split.extras.get("masks")
    waveform = split.data[index] if split.info.kind == "audio" else None
    return InputSample(x, sample_image(split, index, with_mask=False), f"{dataset} test #{index}", int(split.labels[index]),
                       masks[index] if masks is not None else None, waveform)


def _uploaded_sample(kind: str, data: bytes, filename: str, input_shape: tuple[int, ...], sample_rate: int | None) -> InputSample:
    from interp_core import inputs
    from interp_core.guards import shorten
    from interp_core.visualize import image_to_uint8, spectrogram_image

    filename = shorten(filename, 60)

    if kind == "image":
        image = inputs.load_image(data, filename)
        x = inputs.prepare_image(image, input_shape)
        return InputSample(x, image_to_uint8(x), f"upload {filename}", notes=list(image.info.get(inputs.NOTES_KEY, [])))
    import torch

    from interp_core.data.sounds import spectrogram

    wave, notes = inputs.load_audio(data, filename, target_sr=sample_rate or 16000)
    wave = inputs.prepare_audio(wave, sample_rate=sample_rate or 16000, notes=notes)
    x = spectrogram(torch.from_numpy(np.asarray(wave, dtype=np.float32))[None])[0]
    return InputSample(x, spectrogram_image(x), f"upload {filename}", waveform=wave, notes=list(notes))


@st.cache_data(show_spinner=False, max_entries=64)
def first_correct_index(model: str, fingerprint: str, dataset: str, look: int = 64) -> int:
    """The first test sample of ``dataset`` that classifier ``model`` (or, for an explainer of a frozen
    classifier, that classifier) classifies correctly: the sample a view opens with (0 if none of the first
    ``look`` is). ``fingerprint`` only keys the cache."""
    import torch

    from interp_core.store.recipes import get_recipe

    classifier = getattr(get_recipe(model), "backbone", None) or model
    loaded = cached_model(classifier)
    split = cached_split(dataset, "test")
    count = min(look, len(split))
    with torch.no_grad():
        predicted = loaded.model(split.inputs(list(range(count))).to(loaded.device)).argmax(1).cpu().numpy()
    hits = np.flatnonzero(predicted == split.labels[:count])
    return int(hits[0]) if len(hits) else 0


def input_picker(dataset: str, key: str, *, model: str | None = None, url: "UrlState | None" = None,
                 param: str = "sample") -> InputSample | None:
    """The one input widget of every view: a gallery sample of ``dataset`` or an upload, validated and
    converted to what the dataset's models expect. Returns ``None`` (with a message shown) on bad input.

    ``model``: the recipe the view explains; the gallery opens on the first test sample it classifies
    correctly. ``url``: the view's :class:`UrlState`; the gallery index is shared under ``param``."""
    from interp_core.data import dataset_info

    info = dataset_info(dataset)
    source = st.radio("Input", ["Gallery", "Upload"], horizontal=True, key=f"{key}-source")
    if source == "Gallery":
        split = cached_split(dataset, "test")
        default = 0
        if model is not None:
            from interp_core.store.catalog import checkpoint_fingerprint

            with guarded("Choosing a first sample"):
                default = first_correct_index(model, checkpoint_fingerprint(model), dataset)
        if url is not None:
            url.follow(f"{param}-dataset", dataset, param)  # a sample index of one dataset means nothing in another
            default = url.number(param, 0, len(split) - 1, default)
        index = st.number_input(f"Test sample (0–{len(split) - 1})", 0, len(split) - 1, default, key=f"{key}-index")
        if url is not None:
            url.share(param, int(index))
        return _gallery_sample(dataset, int(index))
    if url is not None:
        url.forget(param)  # an upload cannot travel in a link
    types = ["png", "jpg", "jpeg", "webp", "bmp", "gif"] if info.kind == "image" else ["wav", "flac", "ogg"]
    upload = st.file_uploader(f"Upload {'an image' if info.kind == 'image' else 'a sound'}", type=types, key=f"{key}-upload")
    if upload is None:
        st.info("Choose a file to explain it.")
        return None
    from interp_core.inputs import InputError

    try:
        sample = _uploaded_sample(info.kind, upload.getvalue(), upload.name, info.input_shape, info.sample_rate)
    except InputError as err:
        show_error(str(err))
        return None
    from interp_core.guards import markdown_escape

    for note in sample.notes:
        st.caption(markdown_escape(note))
    return sample


# ----------------------------------------------------------------------------- numbers and colours for people


def percent(p: float) -> str:
    """A probability as people read it (``"97.3%"``, ``"<0.01%"``); see :func:`app.figures.probability_text`."""
    from app.figures import probability_text

    return probability_text(p)


# ----------------------------------------------------------------------------- widget state


def keep_widget_state(*prefixes: str) -> None:
    """Keep the values of the widgets whose keys start with ``prefixes`` across runs that do not draw them.

    Streamlit drops a widget's value on a run that skips the widget (e.g. while an upload is awaited), and
    the browser then shows the widget's default while the server computes with another value. Writing
    the value back to ``st.session_state`` marks it as the page's own, so it survives and is sent to the
    browser when the widget is drawn again."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(prefixes):
            st.session_state[key] = st.session_state[key]


# ----------------------------------------------------------------------------- shareable views


class UrlState:
    """The state of a view in the URL's query parameters, so that a link opens the same view.

    Every widget that makes the view (dataset, sample, class, models, methods) takes its default from the
    link (:meth:`default`, :meth:`index`, :meth:`defaults`) and writes its value back (:meth:`share`). A
    value that is not among the widget's options (an old link, a model that is gone) falls back to the
    view's own default. Uploads are never shared: a link carries gallery samples only."""

    def __init__(self) -> None:
        self._params = st.query_params

    def raw(self, name: str) -> list[str]:
        return self._params.get_all(name) if name in self._params else []

    def index(self, name: str, options: list, default: int = 0, *, to_text=str) -> int:
        """The position in ``options`` of the linked value of ``name`` (``default`` without one)."""
        values = self.raw(name)
        texts = [to_text(o) for o in options]
        return texts.index(values[0]) if values and values[0] in texts else default

    def defaults(self, name: str, options: list, default: list, *, to_text=str) -> list:
        """The linked values of ``name`` that are among ``options`` (``default`` without any)."""
        values = self.raw(name)
        if not values:
            return default
        texts = [to_text(o) for o in options]
        chosen = [options[texts.index(v)] for v in values if v in texts]
        return chosen if chosen or values == ["-"] else default

    def number(self, name: str, low: int, high: int, default: int) -> int:
        values = self.raw(name)
        try:
            value = int(values[0]) if values else default
        except ValueError:
            return default
        return min(max(value, low), high)

    def flag(self, name: str, default: bool) -> bool:
        values = self.raw(name)
        return values[0] == "1" if values else default

    def share(self, name: str, value) -> None:
        """Put ``value`` (a scalar, a list or a bool) in the URL under ``name``."""
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, (list, tuple)):
            text = [str(v) for v in value] or ["-"]  # "-": an empty choice, not "no choice in the link"
        else:
            text = str(value)
        if self._params.get_all(name) != (text if isinstance(text, list) else [text]):
            self._params[name] = text

    def follow(self, what: str, value, *names: str) -> None:
        """Forget the linked values of ``names`` when ``value`` (what they depend on, e.g. the sample)
        changed since this session's previous run: a class chosen for one input is not carried to the next."""
        seen = st.session_state.setdefault("_url_follow", {})
        if what in seen and seen[what] != value:
            self.forget(*names)
        seen[what] = value

    def forget(self, *names: str) -> None:
        for name in names:
            if name in self._params:
                del self._params[name]


# ----------------------------------------------------------------------------- figures, tables and the report


@st.cache_data(show_spinner=False, max_entries=1024)
def map_png(kind: str, values: np.ndarray | None = None, **options) -> bytes:
    """:func:`app.figures.map_png`, cached on its arrays."""
    from app import figures

    return figures.map_png(kind, values, **options)


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
        where.download_button("PNG", png, f"{_slug(caption)}.png", "image/png", key=key or f"png-{_slug(caption)}", on_click="ignore",
                              icon=":material/download:", help="Download this figure as PNG")
    if report is not None:
        report.figure(png, caption)


def show_table(where, frame, caption: str, *, report: Report | None = None, key: str, **dataframe) -> None:
    """A table with a CSV download under it and its place in the report."""
    import pandas as pd

    frame = pd.DataFrame(frame)
    where.dataframe(frame, hide_index=True, key=f"{key}-table", **dataframe)
    where.download_button("CSV", frame.to_csv(index=False), f"{key}.csv", "text/csv", key=f"{key}-csv", on_click="ignore",
                          icon=":material/download:", help=f"Download {caption} as CSV")
    if report is not None:
        report.table(frame, caption)


def plotly_config(name: str) -> dict:
    """Plotly's own export (the camera button) as a PNG named ``name``, drawn in the browser: offline."""
    return {"toImageButtonOptions": {"format": "png", "filename": _slug(name), "scale": 2}, "displaylogo": False}


# ----------------------------------------------------------------------------- estimated times


def _shipped_train_seconds() -> dict[str, float]:
    """``train_seconds`` of every card in ``assets/checkpoints`` by recipe name, current or not (a recipe
    whose settings changed since its weights shipped still trains in about the same time)."""
    import json

    from interp_core.paths import SHIPPED_CHECKPOINTS

    out: dict[str, float] = {}
    for card in sorted(SHIPPED_CHECKPOINTS.glob("*.json")):
        try:
            meta = json.loads(card.read_text())
            recipe, value = meta["recipe"]["name"], float(meta["train_seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        out[recipe] = max(value, out.get(recipe, 0.0))
    return out


def training_estimate(name: str) -> tuple[float | None, str]:
    """``(seconds, basis)``: how long training recipe ``name`` took when it was recorded, from the
    ``train_seconds`` in its checkpoint's card, or, without a checkpoint, in a shipped card of an earlier
    version of it, or in the card of its nearest trained relative (same family and dataset, then same
    family). ``(None, "")`` when nothing is recorded."""
    from interp_core.store.catalog import checkpoint_meta, checkpoint_status
    from interp_core.store.recipes import all_recipes, get_recipe

    def seconds(recipe_name: str) -> float | None:
        value = checkpoint_meta(recipe_name).get("train_seconds") if checkpoint_status(recipe_name) != "missing" else None
        return float(value) if isinstance(value, (int, float)) else None

    own = seconds(name)
    if own is not None:
        return own, f"recorded when {name} was trained"
    earlier = _shipped_train_seconds().get(name)
    if earlier is not None:
        return earlier, f"recorded for an earlier version of {name}"
    recipe = get_recipe(name)
    relatives = [r for r in all_recipes().values() if r.name != name and r.family == recipe.family]
    for group in ([r for r in relatives if r.dataset == recipe.dataset], relatives):
        times = [(t, r.name) for r in group if (t := seconds(r.name)) is not None]
        if times:
            t, relative = max(times)
            return t, f"recorded for {relative}"
    return None, ""


def duration_text(seconds: float | None) -> str:
    """``"about 14 min"``, ``"about 40 s"``, ``"about 1.6 h"``; ``"unknown time"`` for None."""
    if seconds is None:
        return "unknown time"
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"
