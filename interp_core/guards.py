"""Resource guards shared by every input path: uploads, real-dataset folders and the model store.

Torch-free. Each guard refuses with a :class:`GuardError` whose message names the file and states the
limit with figures that agree with it (a file one byte over 20 MB is never called "20.0 MB"); callers
re-raise it as their own error type (``InputError``, ``DatasetFormatError``, ``CheckpointError``), so
the user always gets the project's message, never a foreign exception.

What is bounded, and where:

* **Files** (:func:`regular_file`, :func:`open_regular`, :func:`read_limited`, :func:`sha256_file`):
  only regular files are opened (a named pipe, a device, a socket or a symlink to one is refused from
  its ``stat``, before any read; symlink loops are refused by the kernel's ``ELOOP``), the size is
  checked before reading or hashing, and reads stop at the limit even if the file grows meanwhile.
  Opening uses ``O_NONBLOCK`` and re-checks ``fstat`` on the descriptor, so a pipe swapped in
  between the check and the open cannot hang the reader either.
* **Images** (:func:`image_header`, :func:`check_image_header`, :func:`decode_image_bytes`): the
  width and height come from the header's own fields (Python integers: no overflow), the pixel limit
  is applied before decoding, and for JPEG the segments are walked to count the scans: decoding time
  grows with scans × pixels, and a progressive JPEG whose scan is repeated thousands of times would
  otherwise hold a CPU for minutes inside C code that cannot be interrupted.
* **Sounds** (:func:`open_sound`, :func:`check_sound_header`, :func:`read_frames`): channel count,
  sample rate and announced duration are checked from the header; the samples are read block by
  block and the read stops at the limit, so an hour-long clip is never decoded whole. A FLAC or OGG
  without a length in its header (libsndfile reports ``2**63 - 1`` frames) and a WAV whose ``data``
  size is 0 (an unfinished recording) are read as "length unknown", the same way.
* **Text and JSON** (:func:`read_text`, :func:`read_json`): UTF-8 is checked with the file's name in
  the message, and JSON nesting deeper than :data:`MAX_JSON_DEPTH` is refused before parsing (the
  parser would raise ``RecursionError``).
* **Names in messages** (:func:`display_name`): shortened in the middle and escaped for Markdown, so
  a crafted name cannot render headings, links or LaTeX, or fill the screen.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import stat
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, Iterator

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
#: Scans of one JPEG; encoders write 1 (baseline) to about 10-20 (progressive, optimised).
MAX_JPEG_SCANS = 100
#: A dataset image file (CUB, ImageFolder) is read whole before decoding; larger ones are refused.
MAX_DATASET_IMAGE_BYTES = 64 * 1024 * 1024
#: Index and metadata files of a dataset (CUB's image_attribute_labels.txt is about 60 MB, esc50.csv 150 kB).
MAX_INDEX_FILE_BYTES = 256 * 1024 * 1024
#: One CIFAR-10 python batch is about 31 MB.
MAX_PICKLE_BYTES = 256 * 1024 * 1024
#: One array file of a dataset (MNIST's train images are 47 MB, STL-10's train_X.bin 138 MB).
MAX_ARRAY_FILE_BYTES = 1024**3
#: Checkpoint metadata JSON (a few kB in practice).
MAX_METADATA_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_AUDIO_SECONDS = 60.0
MAX_AUDIO_CHANNELS = 32
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 192_000
#: Longest file name shown in a message; longer ones keep their start and end.
MAX_SHOWN_NAME = 80

#: libsndfile's frame count for a stream whose header states no length.
_UNKNOWN_FRAMES = 2**62
_AUDIO_BLOCK_FRAMES = 1 << 16
# Bounds the polyphase filter length for odd sample rates (44101 Hz etc.); the rate error is < 1 ppm.
_MAX_RESAMPLE_FACTOR = 1000
# DIB header sizes of the BMP variants Pillow reads; "BM" alone is too common a text prefix.
_BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
# Start-of-frame markers (baseline, progressive, lossless, arithmetic); C4, C8, CC are not frames.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# Inside entropy-coded data, 0xFF is followed by 0x00 (stuffing) or a restart marker; anything else
# (after optional fill bytes) is the next marker.
_JPEG_NEXT_MARKER = re.compile(rb"\xff+([\x01-\xcf\xd8-\xfe])")


class GuardError(ValueError):
    """An input exceeds a limit or is not what it claims to be; the message is meant for the user."""


# ---------------------------------------------------------------- messages

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~=:&\"'@%^])")


def display_name(name: str | os.PathLike, limit: int = MAX_SHOWN_NAME) -> str:
    """``name`` quoted for a message: control characters (newlines too) become ``?`` and the middle of
    a long name becomes ``…`` (at most ``limit`` characters kept). ``"The file"`` for an empty name.
    Messages stay plain text; a UI that renders Markdown passes them through :func:`markdown_escape`."""
    text = os.fspath(name) if not isinstance(name, str) else name
    if not text:
        return "The file"
    return f"“{shorten(text, limit)}”"


def shorten(text: str, limit: int = MAX_SHOWN_NAME) -> str:
    """``text`` without control characters, its middle replaced by ``…`` beyond ``limit`` characters."""
    text = "".join("?" if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029") else ch for ch in text)
    if len(text) > limit:
        tail = (limit - 1) // 3
        text = text[: limit - 1 - tail] + "…" + text[len(text) - tail:]
    return text


def markdown_escape(text: str) -> str:
    """Plain text -> Markdown that renders as exactly that text (no headings, links, HTML or LaTeX)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def _plain(number: float, decimals: int) -> str:
    return f"{number:.{decimals}f}"


def over_limit(value: float, limit: float, unit: str, scale: float = 1.0, exact_unit: str = "") -> tuple[str, str]:
    """``(value text, limit text)`` for a message saying ``value`` exceeds ``limit``, such that the
    shown value is visibly above the shown limit: the value gets as many decimals (up to 3) as that
    takes, else both are given exactly in ``exact_unit`` (base units, ``scale`` of them per ``unit``).

    ``over_limit(20 * 2**20 + 1, 20 * 2**20, "MB", 2**20, "bytes")`` is
    ``("20,971,521 bytes", "20 MB (20,971,520 bytes)")``, never ``("20.0 MB", "20 MB")``.
    """
    limit_text = f"{limit / scale:g} {unit}".strip()
    shown_limit = limit / scale
    for decimals in range(4):
        shown = round(value / scale, decimals)
        if shown > shown_limit:
            return f"{_plain(shown, decimals)} {unit}".strip(), limit_text
    if exact_unit:
        return f"{value:,.0f} {exact_unit}", f"{limit_text} ({limit:,.0f} {exact_unit})"
    return f"{value!r} {unit}".strip(), limit_text


def size_refusal(name: str, size: int, limit: int, what: str = "files") -> str:
    shown, limit_text = over_limit(size, limit, "MB", 2**20, "bytes")
    return f"{name} is {shown}; {what} are limited to {limit_text}."


def format_duration(seconds: float) -> str:
    if seconds >= 3600:
        hours, rest = divmod(int(round(seconds)), 3600)
        return f"{hours} h {rest // 60:02d} min"
    if seconds >= 120:
        minutes, rest = divmod(int(round(seconds)), 60)
        return f"{minutes} min {rest:02d} s"
    return f"{seconds:.1f} s"


def duration_refusal(name: str, seconds: float, limit: float) -> str:
    if seconds >= 120:
        shown = format_duration(seconds)
    else:
        shown, _ = over_limit(seconds, limit, "s")
    return f"{name} is {shown} long; sounds are limited to {limit:g} s."


# ---------------------------------------------------------------- files

_KINDS = {stat.S_IFIFO: "a named pipe", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def _kind_of(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def regular_file(path: str | os.PathLike, max_bytes: int | None = None, what: str = "files") -> os.stat_result:
    """``stat`` of ``path`` if it is (or links to) a regular file of at most ``max_bytes``; else
    :class:`GuardError`. Nothing is opened: a named pipe or a device is judged from its ``stat``."""
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise GuardError(f"{name} does not exist (or is a symbolic link to nothing).") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise GuardError(f"{name} is a symbolic link loop.") from None
        raise GuardError(f"{name} cannot be read ({err.strerror}).") from None
    if not stat.S_ISREG(info.st_mode):
        raise GuardError(f"{name} is {_kind_of(info.st_mode)}, not a regular file; it is not read.")
    if max_bytes is not None and info.st_size > max_bytes:
        raise GuardError(size_refusal(name, info.st_size, max_bytes, what))
    return info


@contextlib.contextmanager
def open_regular(path: str | os.PathLike, max_bytes: int | None = None, what: str = "files") -> Iterator[tuple[IO[bytes], int]]:
    """``(binary file, size)`` of a regular file checked as in :func:`regular_file`, rechecked on the
    open descriptor (a pipe swapped in after the check cannot block: the open does not wait)."""
    regular_file(path, max_bytes, what)
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise GuardError(f"{name} cannot be opened ({err.strerror}).") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise GuardError(f"{name} is {_kind_of(info.st_mode)}, not a regular file; it is not read.")
        if max_bytes is not None and info.st_size > max_bytes:
            raise GuardError(size_refusal(name, info.st_size, max_bytes, what))
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle, info.st_size


def read_limited(path: str | os.PathLike, max_bytes: int, what: str = "files") -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (the read stops there if it grew)."""
    with open_regular(path, max_bytes, what) as (handle, _):
        try:
            data = handle.read(max_bytes + 1)
        except OSError as err:
            raise GuardError(f"{path} cannot be read ({err.strerror}).") from None
    if len(data) > max_bytes:
        raise GuardError(size_refusal(str(path), len(data), max_bytes, what))
    return data


def sha256_file(path: str | os.PathLike, max_bytes: int, what: str = "files") -> str:
    """SHA-256 hex digest of a regular file, checked for its size first; hashes at most its size at the
    check (a file growing meanwhile is refused), so hashing always ends."""
    digest = hashlib.sha256()
    with open_regular(path, max_bytes, what) as (handle, size):
        left = size
        while left > 0:
            chunk = handle.read(min(1 << 20, left))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
        if handle.read(1):
            raise GuardError(f"{path} changed while it was read; try again.")
    return digest.hexdigest()


def read_text(path: str | os.PathLike, max_bytes: int = MAX_INDEX_FILE_BYTES, errors: str = "strict") -> str:
    """A UTF-8 text file (a byte-order mark is dropped); non-UTF-8 bytes are refused with their offset."""
    data = read_limited(path, max_bytes, "index files")
    try:
        return data.decode("utf-8-sig", errors=errors)
    except UnicodeDecodeError as err:
        raise GuardError(
            f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); save it as UTF-8."
        ) from None


# ---------------------------------------------------------------- JSON

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_JSON_NON_BRACKET = re.compile(rb"[^\[\]{}]+")


def json_depth(data: bytes) -> int:
    """Deepest nesting of arrays and objects in JSON text (strings skipped), computed without recursion."""
    import numpy as np

    brackets = _JSON_NON_BRACKET.sub(b"", _JSON_STRING.sub(b"", data))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def read_json(path: str | os.PathLike, max_bytes: int = MAX_METADATA_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a JSON file after the regular-file, size and nesting-depth checks."""
    data = read_limited(path, max_bytes, "metadata files")
    depth = json_depth(data)
    if depth > max_depth:
        raise GuardError(f"{path} nests {depth} levels deep; at most {max_depth} are accepted.")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as err:
        raise GuardError(f"{path} is not valid JSON ({str(err)[:120]}).") from None


# ---------------------------------------------------------------- images

def sniff_format(data: bytes) -> str | None:
    """Name of the container format found in the first bytes, supported or not; None if unknown."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in _BMP_DIB_SIZES:
        return "BMP"
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and len(head) >= 12:
        if head[8:12] == b"WEBP":
            return "WEBP"
        if head[8:12] == b"WAVE":
            return "WAV"
        if head[8:12] == b"AVI ":
            return "AVI"
    if head.startswith(b"fLaC"):
        return "FLAC"
    if head.startswith(b"OggS"):
        return "OGG"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"mif1", b"msf1"):
            return "HEIC"
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand.startswith(b"M4A"):
            return "M4A"
        return "MP4"
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2):
        return "MP3"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "WebM/Matroska"
    if head.startswith(b"8BPS"):
        return "Photoshop"
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith(b"PK\x03\x04"):
        return "ZIP"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "ICO"
    if head[:2] in (b"P5", b"P6") and len(head) > 2 and head[2:3].isspace():
        return "PPM"
    if b"<svg" in data[:1024].lower():
        return "SVG"
    return None


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
    fmt = sniff_format(data)
    if fmt == "JPEG":
        size, scans = _walk_jpeg(data, MAX_JPEG_SCANS)
        return ImageHeader(fmt, size, scans)
    return ImageHeader(fmt, header_size(data, fmt) if fmt else None)


def pixel_refusal(name: str, size: tuple[int, int], limit: int = MAX_IMAGE_PIXELS) -> str:
    width, height = size
    shown, limit_text = over_limit(width * height, limit, "megapixels", 1e6, "pixels")
    return (f"{name} is {width}×{height} pixels ({shown}); the limit is {limit_text}. "
            "Resize it and try again.")


def check_pixel_count(size: tuple[int, int], name: str, limit: int = MAX_IMAGE_PIXELS) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise GuardError(f"{name} has no pixels ({width}×{height}). Use another image.")
    if width * height > limit:
        raise GuardError(pixel_refusal(name, size, limit))


def check_image_header(data: bytes, name: str, max_pixels: int = MAX_IMAGE_PIXELS) -> ImageHeader:
    """Refuse, before any decoding, an image whose header states too many pixels or (JPEG) too many scans."""
    header = image_header(data)
    if header.size is not None and header.size[0] * header.size[1] > max_pixels:
        check_pixel_count(header.size, name, max_pixels)
    if header.scans > MAX_JPEG_SCANS:
        raise GuardError(
            f"{name} is a JPEG with more than {MAX_JPEG_SCANS} scans (ordinary files have 1 to about 20); "
            "decoding it could take minutes. Save it again as a baseline JPEG or PNG."
        )
    return header


#: Formats a dataset image may have (ImageFolder's extensions); uploads take fewer.
DATASET_IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF", "PPM")


def decode_image_bytes(data: bytes, name: str, formats: tuple[str, ...] = DATASET_IMAGE_FORMATS,
                       max_pixels: int = MAX_IMAGE_PIXELS):
    """Decode the first frame of an image to a loaded ``PIL.Image`` (its own mode), with every guard
    applied first; any failure of Pillow (bombs, text chunks, truncation, memory) is a :class:`GuardError`."""
    from PIL import Image

    header = check_image_header(data, name, max_pixels)
    if header.format not in formats:
        what = f"a {header.format} file" if header.format else "not a known image format"
        raise GuardError(f"{name} is {what}; expected one of {', '.join(formats)}.")
    try:
        image = Image.open(io.BytesIO(data), formats=[header.format])
        check_pixel_count(image.size, name, max_pixels)
        if getattr(image, "is_animated", False):
            image.seek(0)
        image.load()
        check_pixel_count(image.size, name, max_pixels)
        return image
    except GuardError:
        raise
    except MemoryError:
        raise GuardError(f"{name} is too large to decode in memory.") from None
    except Exception as err:  # Pillow raises OSError, ValueError, SyntaxError, struct.error, bomb errors, ...
        raise GuardError(f"{name} cannot be decoded ({type(err).__name__}: {str(err)[:120]}).") from None


def decode_image_file(path: str | os.PathLike, max_bytes: int = MAX_DATASET_IMAGE_BYTES,
                      max_pixels: int = MAX_IMAGE_PIXELS):
    """:func:`decode_image_bytes` of a regular file of at most ``max_bytes``."""
    return decode_image_bytes(read_limited(path, max_bytes, "image files"), str(path), max_pixels=max_pixels)


# ---------------------------------------------------------------- sounds

def wav_data_chunk(head: bytes) -> tuple[int, int, int] | None:
    """``(offset of the samples, declared data size, block align)`` of a RIFF/WAVE header, or None."""
    if not head.startswith(b"RIFF") or head[8:12] != b"WAVE":
        return None
    pos, block_align = 12, 0
    while pos + 8 <= len(head):
        kind, size = struct.unpack("<4sI", head[pos : pos + 8])
        if kind == b"fmt " and pos + 22 <= len(head):
            block_align = struct.unpack("<H", head[pos + 20 : pos + 22])[0]
        if kind == b"data":
            return pos + 8, size, block_align
        pos += 8 + size + (size & 1)
    return None


def wav_declared_frames(head: bytes) -> int | None:
    """Frames a WAV header announces, or None where the length is unknown (0 and 0xFFFFFFFF are what
    streaming recorders write before they know it).

    libsndfile trusts the actual byte count instead, so a header that announces an hour followed by a
    few bytes would otherwise read as a short sound."""
    chunk = wav_data_chunk(head)
    if chunk is None:
        return None
    _, size, block_align = chunk
    if not block_align or size in (0, 0xFFFFFFFF):
        return None
    return size // block_align


class _PatchedStream(io.RawIOBase):
    """A seekable binary stream that reads ``base`` with ``patch`` overlaid at ``offset`` (the
    corrected size field of an unfinished WAV), without copying the file."""

    def __init__(self, base: IO[bytes], offset: int, patch: bytes):
        self._base, self._offset, self._patch = base, offset, patch

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._base.seek(pos, whence)

    def tell(self) -> int:
        return self._base.tell()

    def readinto(self, buffer) -> int:
        start = self._base.tell()
        data = self._base.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        lo, hi = max(start, self._offset), min(start + n, self._offset + len(self._patch))
        if lo < hi:
            buffer[lo - start : hi - start] = self._patch[lo - self._offset : hi - self._offset]
        return n


def _fix_unfinished_wav(stream: IO[bytes], total: int) -> IO[bytes]:
    """A WAV whose ``data`` size is 0 but which has bytes after it: declare those bytes (whole frames)."""
    stream.seek(0)
    head = stream.read(1 << 16)
    stream.seek(0)
    chunk = wav_data_chunk(head)
    if chunk is None or chunk[1] != 0 or not chunk[2] or total <= chunk[0]:
        return stream
    offset, _, block_align = chunk
    size = min(0xFFFFFFFE, (total - offset) // block_align * block_align)
    patches = struct.pack("<I", size)
    riff = struct.pack("<I", min(0xFFFFFFFF, offset - 8 + size))
    # Two fields: the RIFF size at 4 and the data size just before the samples.
    return _PatchedStream(_PatchedStream(stream, 4, riff), offset - 4, patches)


@dataclass
class SoundInfo:
    channels: int
    rate: int
    frames: int | None  # None: the header states no length
    declared: int | None  # frames a WAV header announces, when stated


@contextlib.contextmanager
def open_sound(source: bytes | str | os.PathLike, name: str, max_bytes: int | None = None) -> Iterator[tuple[Any, SoundInfo]]:
    """``(soundfile.SoundFile, SoundInfo)`` for the bytes of an upload or a regular file on disk.

    An unfinished WAV (``data`` size 0) is read as of unknown length; so is a stream whose header
    states none. Any libsndfile failure is a :class:`GuardError` naming the file."""
    import soundfile

    with contextlib.ExitStack() as stack:
        if isinstance(source, (bytes, bytearray)):
            stream: IO[bytes] = io.BytesIO(source)
            total = len(source)
        else:
            stream, total = stack.enter_context(open_regular(source, max_bytes, "sound files"))
        head = stream.read(1 << 16)
        stream.seek(0)
        stream = _fix_unfinished_wav(stream, total)
        try:
            sound = stack.enter_context(soundfile.SoundFile(stream))
        except Exception as err:
            raise GuardError(f"{name} is damaged or uses an encoding that cannot be read ({str(err)[:100]}).") from None
        frames = int(sound.frames)
        if frames >= _UNKNOWN_FRAMES:
            # soundfile seeks to "position + frames read" after every read of a seekable file, and
            # libsndfile cannot seek in a stream of unknown length: read it as the stream it is.
            sound.seekable = lambda: False
        info = SoundInfo(int(sound.channels), int(sound.samplerate), None if frames >= _UNKNOWN_FRAMES else frames,
                         wav_declared_frames(head))
        yield sound, info


def check_sound_header(info: SoundInfo, name: str, max_seconds: float | None = MAX_AUDIO_SECONDS) -> None:
    """Refuse too many channels, a rate outside ``[MIN_SAMPLE_RATE, MAX_SAMPLE_RATE]``, or (when
    ``max_seconds`` is given) a length announced over it; all before any sample is decoded."""
    if info.channels < 1 or info.channels > MAX_AUDIO_CHANNELS:
        raise GuardError(f"{name} has {info.channels} channels; at most {MAX_AUDIO_CHANNELS} are supported. "
                         "Export it as mono or stereo.")
    if not MIN_SAMPLE_RATE <= info.rate <= MAX_SAMPLE_RATE:
        raise GuardError(f"{name} has a sample rate of {info.rate} Hz; rates from {MIN_SAMPLE_RATE} to "
                         f"{MAX_SAMPLE_RATE} Hz are supported. Export it at 16000 or 44100 Hz.")
    if max_seconds is not None:
        announced = max(info.frames or 0, info.declared or 0)
        if announced > max_seconds * info.rate:
            raise GuardError(duration_refusal(name, announced / info.rate, max_seconds)
                             + " Cut out the part you want and use that.")


def read_frames(sound, max_frames: int) -> tuple["Any", bool]:
    """``(mono float32 (S,), more)``: at most ``max_frames`` frames decoded block by block (channels
    averaged as it goes, so memory stays at one mono track); ``more`` says whether the file goes on."""
    import numpy as np

    parts, total, more = [], 0, False
    while True:
        want = min(_AUDIO_BLOCK_FRAMES, max_frames + 1 - total)
        if want <= 0:
            more = True
            break
        block = sound.read(frames=want, dtype="float32", always_2d=True)
        if block.shape[0] == 0:
            break
        parts.append(block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0].copy())
        total += block.shape[0]
        if block.shape[0] < want:
            break
    wave = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    if wave.shape[0] > max_frames:
        wave, more = wave[:max_frames], True
    return wave, more


def resample(wave, rate: int, target_sr: int):
    """Polyphase resampling ``(S,)`` -> ``(≈ S * target_sr / rate,)`` float32, with the up/down factors
    bounded (a ratio such as 16000/44101 is approximated to < 1 ppm instead of a 16000-tap filter bank)."""
    import numpy as np
    from scipy.signal import resample_poly

    if rate == target_sr:
        return np.asarray(wave, dtype=np.float32)
    ratio = Fraction(int(target_sr), int(rate))
    if max(ratio.numerator, ratio.denominator) > _MAX_RESAMPLE_FACTOR:
        ratio = ratio.limit_denominator(_MAX_RESAMPLE_FACTOR)
    return np.asarray(resample_poly(wave, ratio.numerator, ratio.denominator), dtype=np.float32)


# ---------------------------------------------------------------- ids and paths from index files

#: Largest id accepted in an index file (CUB has 11,788 images, ESC-50 50 targets).
MAX_INDEX_ID = 10_000_000


def parse_id(text: str, where: str, low: int = 1, high: int = MAX_INDEX_ID) -> int:
    """An integer id from an index file, in ``[low, high]``; else :class:`GuardError` saying where."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise GuardError(f"{where}: {str(text)[:40]!r} is not an integer id.") from None
    if not low <= value <= high:
        raise GuardError(f"{where}: id {str(text)[:40]} is outside {low}-{high:,}.")
    return value


def contained_path(base: Path, relative: str, where: str) -> Path:
    """``base / relative`` for a relative path listed in an index file, refusing absolute paths and ``..``."""
    parts = Path(relative).parts
    if not relative or Path(relative).is_absolute() or ".." in parts or "\x00" in relative:
        raise GuardError(f"{where}: {relative[:80]!r} is not a path inside {base}.")
    return base / relative


def walk_files(folder: Path, suffixes: tuple[str, ...],
               seen_files: dict[tuple[int, int], Path] | None = None) -> tuple[list[Path], list[str]]:
    """Files under ``folder`` (symlinks followed) whose names end in ``suffixes``, sorted, plus notes.

    Each folder and file is counted once however many links reach it: a link to a folder that
    contains the walk (``class/loop -> ..``) or to one already read is not followed, and a file already
    found (here or, with a shared ``seen_files``, in an earlier walk) is skipped. Hidden names are
    skipped. Notes say what was skipped and why."""
    found: list[Path] = []
    notes: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    seen_files = {} if seen_files is None else seen_files
    top = os.path.realpath(folder)
    stack = [Path(folder)]
    while stack:
        current = stack.pop()
        try:
            info = os.stat(current)
        except OSError as err:
            notes.append(f"{current} cannot be read ({err.strerror}).")
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen_dirs:
            notes.append(f"{current} is a link to a folder already read; read once.")
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as err:
            notes.append(f"{current} cannot be listed ({err.strerror}).")
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                real = os.path.realpath(path)
                if entry.is_symlink() and (top == real or top.startswith(real.rstrip(os.sep) + os.sep)):
                    notes.append(f"{path} is a link to a folder that contains it (a loop); not followed.")
                    continue
                subdirs.append(path)
            elif entry.name.lower().endswith(suffixes):
                try:
                    target = os.stat(path)
                    file_key = (target.st_dev, target.st_ino)
                except OSError:
                    file_key = None
                if file_key is not None and file_key in seen_files:
                    notes.append(f"{path} is the same file as {seen_files[file_key]}; counted once.")
                    continue
                if file_key is not None:
                    seen_files[file_key] = path
                found.append(path)
        stack.extend(reversed(subdirs))
    return found, notes


def write_json_atomic(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented, key-sorted JSON to ``path`` atomically (a temporary file in the same
    folder, then ``os.replace``): a reader sees the old file or the new one, never half of one."""
    import json
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=2, sort_keys=True, default=str)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
