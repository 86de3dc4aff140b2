"""The one image decoder, with its limits applied before any pixel is decoded (Pillow imported lazily).

The width and height come from the header's own fields (Python integers: no overflow), the pixel limit
is applied before decoding, and for JPEG the segments are walked to count the scans: decoding time
grows with scans × pixels, and a progressive JPEG whose scan is repeated thousands of times would
otherwise hold a CPU for minutes inside C code that cannot be interrupted. Uploads
(:func:`interp_core.inputs.load_image`) and dataset folders (:mod:`interp_core.data.real`) both decode
through :func:`decode_image_bytes`.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import struct
from dataclasses import dataclass
from typing import Iterator

from interp_core.guards import limits
from interp_core.guards.files import read_limited
from interp_core.guards.formats import sniff_format
from interp_core.guards.messages import GuardError, pixel_refusal

#: Formats a dataset image may have (ImageFolder's extensions); uploads take fewer.
DATASET_IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF", "PPM")

# Start-of-frame markers (baseline, progressive, lossless, arithmetic); C4, C8, CC are not frames.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# Inside entropy-coded data, 0xFF is followed by 0x00 (stuffing) or a restart marker; anything else
# (after optional fill bytes) is the next marker.
_JPEG_NEXT_MARKER = re.compile(rb"\xff+([\x01-\xcf\xd8-\xfe])")


class UndecodableImage(GuardError):
    """Pillow could not decode the bytes (damaged, truncated, or odd inside); the message names the file."""


@dataclass(frozen=True)
class ImageHeader:
    """What the header states: ``size`` ``(W, H)`` (None where not found) and, for JPEG, the scans."""

    format: str | None
    size: tuple[int, int] | None
    scans: int = 0


def header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """``(width, height)`` read from the header's own fields; None where they cannot be found."""
    try:
        if fmt == "PNG" and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if fmt == "GIF":
            return struct.unpack("<HH", data[6:10])
        if fmt == "BMP":
            if struct.unpack("<I", data[14:18])[0] == 12:
                return struct.unpack("<HH", data[18:22])
            width, height = struct.unpack("<ii", data[18:26])
            return abs(width), abs(height)
        if fmt == "WEBP":
            return _webp_size(data)
        if fmt == "JPEG":
            return _walk_jpeg(data)[0]
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":
        bits = struct.unpack("<I", data[21:25])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _walk_jpeg(data: bytes, max_scans: int | None = None) -> tuple[tuple[int, int] | None, int]:
    """``(size of the first frame, scans before the first end-of-image)``, walking marker segments by
    their lengths and skipping entropy-coded data with a C regex. Stops early once ``max_scans`` is
    passed. The first frame only: Pillow decodes the first picture of a multi-picture file."""
    size, scans, pos, end = None, 0, 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start(1) - 1
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x00, 0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        if marker == 0xD9:  # end of the first picture
            break
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker in _JPEG_SOF and size is None and pos + 9 <= end:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            size = (width, height)
        pos += 2 + length
        if marker == 0xDA:
            scans += 1
            if max_scans is not None and scans > max_scans:
                break
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start(1) - 1
    return size, scans


def image_header(data: bytes) -> ImageHeader:
    """The format sniffed from ``data`` and the size (and JPEG scans, counted up to just past
    ``MAX_JPEG_SCANS``) its header states; nothing is decoded."""
    fmt = sniff_format(data)
    if fmt == "JPEG":
        size, scans = _walk_jpeg(data, limits.MAX_JPEG_SCANS)
        return ImageHeader(fmt, size, scans)
    return ImageHeader(fmt, header_size(data, fmt) if fmt else None)


def check_pixel_count(size: tuple[int, int], name: str, limit: int | None = None) -> None:
    """Refuse an image of ``size`` ``(W, H)`` without pixels or over ``limit`` pixels (default
    ``MAX_IMAGE_PIXELS``): the one pixel-count check of headers, opened and decoded images."""
    limit = limits.MAX_IMAGE_PIXELS if limit is None else limit
    width, height = size
    if width < 1 or height < 1:
        raise GuardError(f"{name} has no pixels ({width}×{height}). Use another image.")
    if width * height > limit:
        raise GuardError(pixel_refusal(name, size, limit))


def check_image_header(data: bytes, name: str, max_pixels: int | None = None) -> ImageHeader:
    """Refuse, before any decoding, an image whose header states too many pixels (default
    ``MAX_IMAGE_PIXELS``) or (JPEG) too many scans."""
    header = image_header(data)
    max_pixels = limits.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    if header.size is not None and header.size[0] * header.size[1] > max_pixels:
        check_pixel_count(header.size, name, max_pixels)
    if header.scans > limits.MAX_JPEG_SCANS:
        raise GuardError(
            f"{name} is a JPEG with more than {limits.MAX_JPEG_SCANS} scans (ordinary files have 1 to about 20); "
            "decoding it could take minutes. Save it again as a baseline JPEG or PNG."
        )
    return header


@contextlib.contextmanager
def _pillow_errors(name: str, max_pixels: int | None) -> Iterator[None]:
    """Turns what Pillow raises inside the block into a :class:`GuardError` naming the file."""
    from PIL import Image

    try:
        yield
    except GuardError:
        raise
    except Image.DecompressionBombError:
        limit = limits.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
        raise GuardError(f"{name} is too large in pixels to be decoded safely; the limit is "
                         f"{limit / 1e6:g} megapixels. Resize it and try again.") from None
    except MemoryError:
        raise GuardError(f"{name} is too large to decode in memory. Resize it and try again.") from None
    except Exception as err:  # Pillow raises OSError, ValueError, SyntaxError, struct.error, ...
        raise UndecodableImage(f"{name} cannot be decoded ({type(err).__name__}: {str(err)[:120]}).") from None


def open_image_bytes(data: bytes, name: str, formats: tuple[str, ...] = DATASET_IMAGE_FORMATS,
                     max_pixels: int | None = None):
    """A ``PIL.Image`` of ``data`` opened (header read, pixels not decoded) after the header checks, its
    format one of ``formats`` and its size checked with :func:`check_pixel_count`.

    Raises :class:`GuardError`; :class:`UndecodableImage` where Pillow cannot read the header."""
    from PIL import Image

    header = check_image_header(data, name, max_pixels)
    if header.format not in formats:
        what = f"a {header.format} file" if header.format else "not a known image format"
        raise GuardError(f"{name} is {what}; expected one of {', '.join(formats)}.")
    with _pillow_errors(name, max_pixels):
        image = Image.open(io.BytesIO(data), formats=[header.format])
    check_pixel_count(image.size, name, max_pixels)
    return image


def decode_image_bytes(data: bytes, name: str, formats: tuple[str, ...] = DATASET_IMAGE_FORMATS,
                       max_pixels: int | None = None):
    """Decode the first frame of an image to a loaded ``PIL.Image`` (its own mode; ``is_animated`` still
    tells whether there were more), with every guard of :func:`open_image_bytes` applied first. Any
    failure of Pillow (bombs, text chunks, truncation) is an :class:`UndecodableImage`; running out of
    memory, or more pixels than ``max_pixels`` (default ``MAX_IMAGE_PIXELS``), a :class:`GuardError`."""
    image = open_image_bytes(data, name, formats, max_pixels)
    with _pillow_errors(name, max_pixels):
        if getattr(image, "is_animated", False):
            image.seek(0)
        image.load()
    # Some GIFs grow past their header size while the first frame is decoded.
    check_pixel_count(image.size, name, max_pixels)
    return image


def decode_image_file(path: str | os.PathLike, max_bytes: int | None = None, max_pixels: int | None = None):
    """:func:`decode_image_bytes` of a regular file of at most ``max_bytes`` (default
    ``MAX_DATASET_IMAGE_BYTES``)."""
    data = read_limited(path, limits.MAX_DATASET_IMAGE_BYTES if max_bytes is None else max_bytes, "image files")
    return decode_image_bytes(data, str(path), max_pixels=max_pixels)
