"""The one input widget of every view: a gallery sample or an upload, validated by the library."""
from __future__ import annotations

import streamlit as st

from app.models import cached_model, cached_split, taken_or
from app.shell import guarded, show_error
from app.url import UrlState

#: What the uploader's file dialog offers per kind of dataset. The MIME wildcard turns off Streamlit's own
#: server-side extension check, which raises before the page runs (a traceback page for a client that skips
#: the dialog's filter); the library checks every file instead and says what was expected.
UPLOAD_TYPES = {"image": ["image/*", "png", "jpg", "jpeg", "webp", "bmp", "gif"], "audio": ["audio/*", "wav", "flac", "ogg"]}


@st.cache_data(show_spinner=False, max_entries=64)
def first_correct_index(model: str, fingerprint: str, dataset: str) -> int:
    """:func:`interp_core.evaluation.examples.first_correct_index` on ``dataset``'s test split; ``fingerprint``
    only keys the cache."""
    from interp_core.evaluation.examples import first_correct_index as first_correct

    cached_model(model)  # loaded once, through the page's model cache
    return taken_or(first_correct_key(model, fingerprint, dataset), lambda: first_correct(model, cached_split(dataset, "test")))


def first_correct_key(model: str, fingerprint: str, dataset: str) -> tuple:
    """The key under which the warm-up offers :func:`first_correct_index` (:func:`app.aside.offer`)."""
    return ("first correct", model, fingerprint, dataset)


def compute_first_correct(model: str, dataset: str) -> int:
    """:func:`first_correct_index` in the warm-up's worker process (the model and split loaded there)."""
    from interp_core.data import load_split
    from interp_core.evaluation.examples import first_correct_index as first_correct

    return first_correct(model, load_split(dataset, "test"))


def _gallery(dataset: str, key: str, model: str | None, url: UrlState | None, param: str):
    from interp_core.evaluation.examples import gallery_sample

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
    return gallery_sample(split, int(index), dataset)


def _upload(kind: str, info, key: str):
    """The uploaded file as a model input, or None (with the reason shown): a file of the other kind, whatever
    its name, gets the library's message."""
    from interp_core.guards import markdown_escape
    from interp_core.inputs import InputError, input_from_upload

    upload = st.file_uploader(f"Upload {'an image' if kind == 'image' else 'a sound'}", type=UPLOAD_TYPES[kind], key=f"{key}-upload")
    if upload is None:
        st.info("Choose a file to explain it.")
        return None
    try:
        sample = input_from_upload(kind, upload.getvalue(), upload.name, info.input_shape, info.sample_rate)
    except InputError as err:
        show_error(str(err))
        return None
    for note in sample.notes:
        st.caption(markdown_escape(note))
    return sample


def input_picker(dataset: str, key: str, *, model: str | None = None, url: UrlState | None = None, param: str = "sample"):
    """A gallery sample of ``dataset`` or an upload, converted to what the dataset's models expect (an object
    with ``x``, ``display``, ``source``, ``waveform``, ``notes``, and for gallery samples ``label`` and
    ``mask``); None (with a message shown) on bad input.

    ``model``: the recipe the view explains; the gallery opens on the first test sample it classifies
    correctly. ``url``: the view's :class:`~app.url.UrlState`; the gallery index is shared under ``param``."""
    from interp_core.data import dataset_info

    info = dataset_info(dataset)
    source = st.radio("Input", ["Gallery", "Upload"], horizontal=True, key=f"{key}-source")
    if source == "Gallery":
        return _gallery(dataset, key, model, url, param)
    if url is not None:
        url.forget(param)  # an upload cannot travel in a link
    return _upload(info.kind, info, key)


def sample_caption(sample, class_names) -> str:
    """Where a sample comes from and, for a gallery sample, its true class."""
    label = getattr(sample, "label", None)
    return sample.source + (f" · true class {class_names[label]}" if label is not None else "")
