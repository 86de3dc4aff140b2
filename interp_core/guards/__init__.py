"""Resource guards shared by every input path: uploads, real-dataset folders and the model store.

Torch-free. Each guard refuses with a :class:`GuardError` whose message names the file and states the
limit with figures that agree with it (a file one byte over 20 MB is never called "20.0 MB"); callers
re-raise it as their own error type (``InputError``, ``DatasetFormatError``, ``CheckpointError``), so
the user always gets the project's message, never a foreign exception.

One module per subject:

* :mod:`~interp_core.guards.limits`: every figure. The guards read them at call time from there, so a
  test lowers a limit with ``monkeypatch.setattr(interp_core.guards.limits, NAME, value)``; the names
  re-exported here are copies, for showing or passing a figure.
* :mod:`~interp_core.guards.messages`: :class:`GuardError` and the wording of refusals; names in
  messages shortened in the middle and escaped for Markdown, so a crafted name cannot render headings,
  links or LaTeX, or fill the screen.
* :mod:`~interp_core.guards.files`: only regular files are opened, sizes checked before reading or
  hashing, reads stop at the limit.
* :mod:`~interp_core.guards.json_files`: UTF-8 and nesting depth checked before parsing.
* :mod:`~interp_core.guards.formats`: the format sniffed from the first bytes.
* :mod:`~interp_core.guards.images`: the one image decoder, pixel count and JPEG scans from the header.
* :mod:`~interp_core.guards.sounds`: channels, sample rate and duration from the header, samples read
  block by block up to the limit.
* :mod:`~interp_core.guards.index_files`: ids, contained paths and loop-free folder walks of real datasets.
"""
from __future__ import annotations

from interp_core.guards.files import open_regular, read_limited, read_text, regular_file, sha256_file
from interp_core.guards.formats import sniff_format
from interp_core.guards.images import (
    DATASET_IMAGE_FORMATS,
    ImageHeader,
    UndecodableImage,
    check_image_header,
    check_pixel_count,
    decode_image_bytes,
    decode_image_file,
    header_size,
    image_header,
    open_image_bytes,
)
from interp_core.guards.index_files import contained_path, parse_id, walk_files
from interp_core.guards.json_files import json_depth, read_json
from interp_core.guards.limits import (
    MAX_ARRAY_FILE_BYTES,
    MAX_AUDIO_CHANNELS,
    MAX_AUDIO_SECONDS,
    MAX_DATASET_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_INDEX_FILE_BYTES,
    MAX_INDEX_ID,
    MAX_JPEG_SCANS,
    MAX_JSON_DEPTH,
    MAX_METADATA_BYTES,
    MAX_PICKLE_BYTES,
    MAX_SAMPLE_RATE,
    MAX_SHOWN_NAME,
    MAX_UPLOAD_BYTES,
    MIN_SAMPLE_RATE,
)
from interp_core.guards.messages import (
    GuardError,
    display_name,
    duration_refusal,
    markdown_escape,
    over_limit,
    pixel_refusal,
    shorten,
    size_refusal,
)
from interp_core.guards.sounds import (
    SoundInfo,
    check_sound_header,
    open_sound,
    read_frames,
    resample,
    wav_data_chunk,
    wav_declared_frames,
)
# Kept under its old name here for the callers that write JSON beside what they read with the guards.

__all__ = [
    "DATASET_IMAGE_FORMATS", "MAX_ARRAY_FILE_BYTES", "MAX_AUDIO_CHANNELS", "MAX_AUDIO_SECONDS",
    "MAX_DATASET_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "MAX_INDEX_FILE_BYTES", "MAX_INDEX_ID", "MAX_JPEG_SCANS",
    "MAX_JSON_DEPTH", "MAX_METADATA_BYTES", "MAX_PICKLE_BYTES", "MAX_SAMPLE_RATE", "MAX_SHOWN_NAME",
    "MAX_UPLOAD_BYTES", "MIN_SAMPLE_RATE", "GuardError", "ImageHeader", "SoundInfo", "UndecodableImage",
    "check_image_header", "check_pixel_count", "check_sound_header", "contained_path", "decode_image_bytes",
    "decode_image_file", "display_name", "duration_refusal", "header_size", "image_header", "json_depth",
    "markdown_escape", "open_image_bytes", "open_regular", "open_sound", "over_limit", "parse_id",
    "pixel_refusal", "read_frames", "read_json", "read_limited", "read_text", "regular_file", "resample",
    "sha256_file", "shorten", "size_refusal", "sniff_format", "wav_data_chunk", "wav_declared_frames",
    "walk_files",
]
