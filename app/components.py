"""Shared dashboard pieces: navigation, cached library calls, error guard and the one input widget.

Pages only show what ``interp_core`` computes; everything here is UI glue and caching.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import streamlit as st

log = logging.getLogger("interp_core.app")


def show_error(message: str) -> None:
    """``st.error`` of a plain-text library message, escaped so that nothing in it (a file name with
    ``#``, ``[link](...)``, ``$LaTeX$`` or HTML) renders as Markdown, and shortened if very long."""
    from interp_core.guards import markdown_escape, shorten

    st.error(markdown_escape(shorten(message, 600)))


def navigation():
    """The dashboard's menu: every registered view (``interp_core.views``) by section."""
    from interp_core.views import navigation as views_by_section

    return views_by_section()


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


def model_picker(choices: list[str], key: str, missing: str):
    """A model select box over recipe names ``choices`` (labelled with their dataset) and the loaded
    choice; stops the page with ``missing`` when there is nothing to choose, or when loading fails (the
    error is shown by :func:`guarded`)."""
    from interp_core.store.recipes import get_recipe

    if not choices:
        st.warning(missing)
        st.stop()
    name = st.selectbox("Model", choices, key=key, format_func=lambda n: f"{n} (on {get_recipe(n).dataset})")
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


def input_picker(dataset: str, key: str) -> InputSample | None:
    """The one input widget of every view: a gallery sample of ``dataset`` or an upload, validated and
    converted to what the dataset's models expect. Returns ``None`` (with a message shown) on bad input."""
    from interp_core.data import dataset_info

    info = dataset_info(dataset)
    source = st.radio("Input", ["Gallery", "Upload"], horizontal=True, key=f"{key}-source")
    if source == "Gallery":
        split = cached_split(dataset, "test")
        index = st.number_input(f"Test sample (0–{len(split) - 1})", 0, len(split) - 1, 0, key=f"{key}-index")
        return _gallery_sample(dataset, int(index))
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
