"""Validate user uploads (images and sounds) and turn them into what a model expects.

The dashboard's upload widget hands the raw bytes and the file name to :func:`input_from_upload` (or
to the loaders it calls). Everything a user can upload ends in one of two ways: a clean result (plus
short notes on what was changed, for the UI to show), or an :class:`InputError` whose message is meant
to be shown verbatim. The format is
always sniffed from the bytes; the file name only appears in messages.

Resource guards run before any decoding: the byte size, the pixel count read from the image header
(and for JPEG the number of scans, which bounds the decoding time), and the channel count, sample rate
and duration read from the sound header; samples are read block by block and the read stops at the
limit. The guards are those of :mod:`interp_core.guards` (the one image decoder included), shared with
the real-dataset loaders. No global state of Pillow or soundfile is changed.

Decisions a caller should know:

* Transparent images are composited onto **white** (the usual look of a transparent PNG in a browser
  or viewer, and what a logo drawn on a transparent background is meant to be seen on).
* 16-bit images are scaled (``v / 257``), not clipped, to 8 bits.
* Multi-frame files (animated GIF/WebP/PNG, multi-picture JPEG) give their first frame, with a note.
* JPEG EXIF orientation is applied, as a phone's gallery would show the picture.
* Sounds are mixed down to mono (the mean of the channels) and resampled to the model's rate.
* Notes from :func:`load_image` are stored in ``image.info["notes"]`` (a ``list[str]``), because the
  function returns a plain ``PIL.Image``; :func:`load_audio` returns them beside the waveform.

Modules: :mod:`~interp_core.inputs.upload_checks` (size, format, :class:`InputError`),
:mod:`~interp_core.inputs.images`, :mod:`~interp_core.inputs.sounds`, and
:mod:`~interp_core.inputs.model_input` (:class:`InputSample`, :func:`input_from_upload`).
"""
from __future__ import annotations

from interp_core.guards.limits import (
    MAX_AUDIO_CHANNELS,
    MAX_AUDIO_SECONDS,
    MAX_IMAGE_PIXELS,
    MAX_SAMPLE_RATE,
    MAX_UPLOAD_BYTES,
    MIN_SAMPLE_RATE,
)
from interp_core.inputs.images import NOTES_KEY, load_image, prepare_image
from interp_core.inputs.model_input import InputSample, input_from_upload
from interp_core.inputs.sounds import load_audio, prepare_audio
from interp_core.inputs.upload_checks import AUDIO_FORMATS, IMAGE_FORMATS, InputError, sniff_kind, upload_kind

__all__ = [
    "AUDIO_FORMATS", "IMAGE_FORMATS", "MAX_AUDIO_CHANNELS", "MAX_AUDIO_SECONDS", "MAX_IMAGE_PIXELS", "MAX_SAMPLE_RATE",
    "MAX_UPLOAD_BYTES", "MIN_SAMPLE_RATE", "NOTES_KEY", "InputError", "InputSample", "input_from_upload",
    "load_audio", "load_image", "prepare_audio", "prepare_image", "sniff_kind", "upload_kind",
]
