"""What every upload is checked for before it is decoded: its size and its format, sniffed from the
bytes (the file name only appears in messages), and the message for a file of another kind."""
from __future__ import annotations

from typing import Literal

from interp_core import guards
from interp_core.guards import GuardError, limits, sniff_format

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
AUDIO_FORMATS = ("WAV", "FLAC", "OGG")

_Wanted = Literal["an image", "a sound", "an image or a sound"]


class InputError(ValueError):
    """An upload cannot be used; the message says why and what to do, for the user to read."""


def as_input_error(err: GuardError) -> InputError:
    """A guard's refusal worded for an upload (the user uploads again rather than retries)."""
    return InputError(str(err).replace("try again", "upload it again").replace("use that", "upload that"))


def sniff_kind(data: bytes) -> Literal["image", "audio"] | None:
    """``'image'`` or ``'audio'`` if the bytes are a supported upload format, else ``None``.

    Judged from the content only (magic numbers), never from a file name.
    """
    fmt = sniff_format(data)
    if fmt in IMAGE_FORMATS:
        return "image"
    if fmt in AUDIO_FORMATS:
        return "audio"
    return None


def upload_kind(data: bytes, filename: str = "") -> Literal["image", "audio"]:
    """Like :func:`sniff_kind`, but an unusable upload raises :class:`InputError` with the reason.

    One call for a widget that takes both images and sounds: empty, oversized and unsupported
    files get their specific message here.
    """
    check_byte_size(data, filename)
    kind = sniff_kind(data)
    if kind is None:
        raise InputError(_unsupported_message(data, filename, wanted="an image or a sound"))
    return kind


def checked_format(data: bytes, filename: str, wanted: Literal["an image", "a sound"]) -> tuple[str, str]:
    """``(name for messages, format)`` of an upload that must be ``wanted``; else :class:`InputError`
    saying what it is instead (empty, too large, the other kind, unsupported, text)."""
    check_byte_size(data, filename)
    fmt = sniff_format(data)
    if fmt not in (IMAGE_FORMATS if wanted == "an image" else AUDIO_FORMATS):
        raise InputError(_unsupported_message(data, filename, wanted))
    return guards.display_name(filename), fmt


def check_byte_size(data: bytes, filename: str) -> None:
    """Refuse an empty upload, or one over ``MAX_UPLOAD_BYTES``, before anything reads it."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"expected the file's bytes, got {type(data).__name__}")
    size = len(data)
    if size == 0:
        raise InputError(f"{guards.display_name(filename)} is empty (0 bytes). Choose another file.")
    if size > limits.MAX_UPLOAD_BYTES:
        raise InputError(guards.size_refusal(guards.display_name(filename), size, limits.MAX_UPLOAD_BYTES, "uploads")
                         + " Choose a smaller file.")


def _looks_like_text(data: bytes) -> bool:
    sample = data[:1024]
    if b"\x00" in sample:
        return False
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the sample's end is still text.
        try:
            text = sample[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * max(1, len(text))


def _unsupported_message(data: bytes, filename: str, wanted: _Wanted) -> str:
    name = guards.display_name(filename)
    fmt = sniff_format(data)
    if wanted == "an image":
        supported, convert_to = "PNG, JPEG, WebP, BMP or GIF", "PNG or JPEG"
    elif wanted == "a sound":
        supported, convert_to = "WAV, FLAC or OGG", "WAV or FLAC"
    else:
        supported = "an image (PNG, JPEG, WebP, BMP, GIF) or a sound (WAV, FLAC, OGG)"
        convert_to = "one of these"
    if fmt in IMAGE_FORMATS and wanted == "a sound":
        return f"{name} is an image ({fmt}), not a sound. Upload a WAV, FLAC or OGG file."
    if fmt in AUDIO_FORMATS and wanted == "an image":
        return f"{name} is a sound ({fmt}), not an image. Upload a PNG, JPEG, WebP, BMP or GIF file."
    if fmt is not None:
        # Letter names read with a vowel sound: "an MP3", "an SVG", "an AIFF".
        article = "an" if fmt[0] in "AEIOMS" else "a"
        return (
            f"{name} is {article} {fmt} file, which is not supported. "
            f"Convert it to {convert_to} and upload it again."
        )
    what = "it contains text" if _looks_like_text(data) else "its content is not a known format"
    return f"{name} is not {wanted}: {what}. Upload {supported}."
