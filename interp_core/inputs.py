"""Validate user uploads (images and sounds) and turn them into what a model expects.

The dashboard's upload widget hands the raw bytes and the file name to these functions. Everything a
user can upload ends in one of two ways: a clean result (plus short notes on what was changed, for the
UI to show), or an :class:`InputError` whose message is meant to be shown verbatim. The format is
always sniffed from the bytes; the file name only appears in messages.

Resource guards run before any decoding: the byte size, the pixel count read from the image header,
and the channel count, sample rate and duration read from the sound header. No global state of
Pillow or soundfile is changed.

Decisions a caller should know:

* Transparent images are composited onto **white** (the usual look of a transparent PNG in a browser
  or viewer, and what a logo drawn on a transparent background is meant to be seen on).
* 16-bit images are scaled (``v / 257``), not clipped, to 8 bits.
* Multi-frame files (animated GIF/WebP/PNG, multi-picture JPEG) give their first frame, with a note.
* JPEG EXIF orientation is applied, as a phone's gallery would show the picture.
* Sounds are mixed down to mono (the mean of the channels) and resampled to the model's rate.
* Notes from :func:`load_image` are stored in ``image.info["notes"]`` (a ``list[str]``), because the
  function returns a plain ``PIL.Image``; :func:`load_audio` returns them beside the waveform.
"""
from __future__ import annotations

import io
import struct
from fractions import Fraction
from typing import Literal

import numpy as np
import soundfile
import torch
from PIL import Image, ImageOps

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
MAX_AUDIO_SECONDS = 60.0
MAX_AUDIO_CHANNELS = 32
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 192_000

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
AUDIO_FORMATS = ("WAV", "FLAC", "OGG")
NOTES_KEY = "notes"

# Below this peak (-100 dBFS) a sound is inaudible; the model would see only its own noise floor.
_SILENCE_PEAK = 1e-5
# 64k frames keep one decoded block of even a 32-channel file under 10 MB.
_AUDIO_BLOCK_FRAMES = 1 << 16
# Bounds the polyphase filter length for odd sample rates (44101 Hz etc.); the resulting rate
# error is below one part per million.
_MAX_RESAMPLE_FACTOR = 1000
# DIB header sizes of the BMP variants Pillow reads; "BM" alone is too common a text prefix.
_BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


class InputError(ValueError):
    """An upload cannot be used; the message says why and what to do, for the user to read."""


# --------------------------------------------------------------------------------------------
# Sniffing


def _sniff_format(data: bytes) -> str | None:
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
    if b"<svg" in data[:1024].lower():
        return "SVG"
    return None


def sniff_kind(data: bytes) -> Literal["image", "audio"] | None:
    """``'image'`` or ``'audio'`` if the bytes are a supported upload format, else ``None``.

    Judged from the content only (magic numbers), never from a file name.
    """
    fmt = _sniff_format(data)
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
    _check_byte_size(data, filename)
    kind = sniff_kind(data)
    if kind is None:
        raise InputError(_unsupported_message(data, filename, wanted="an image or a sound"))
    return kind


def _display_name(filename: str) -> str:
    return f"“{filename}”" if filename else "The file"


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


def _unsupported_message(data: bytes, filename: str, wanted: str) -> str:
    name = _display_name(filename)
    fmt = _sniff_format(data)
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


def _check_byte_size(data: bytes, filename: str) -> None:
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"expected the file's bytes, got {type(data).__name__}")
    size = len(data)
    if size == 0:
        raise InputError(f"{_display_name(filename)} is empty (0 bytes). Choose another file.")
    if size > MAX_UPLOAD_BYTES:
        raise InputError(
            f"{_display_name(filename)} is {size / 2**20:.1f} MB; uploads are limited to "
            f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB. Choose a smaller file."
        )


# --------------------------------------------------------------------------------------------
# Images


def _png_is_complete(data: bytes) -> bool:
    """True if the PNG has its IEND chunk, which Pillow does not require.

    Pillow refuses a PNG cut inside its pixel data but accepts one that lost only its end. The IEND
    chunk is always the same 12 bytes (length 0, type, CRC), so a search finds it exactly, in C.
    """
    return data.rfind(b"\x00\x00\x00\x00IEND\xaeB`\x82") >= 8


def _header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """``(width, height)`` read from the header's own fields; None where they cannot be found.

    Read here so that a bomb gets a message with its size, before Pillow's own bomb check (which
    only warns up to 2x its limit, and raises without the numbers).
    """
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
            return _jpeg_size(data)
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


# Start-of-frame markers (baseline, progressive, lossless, arithmetic); C4, C8, CC are not frames.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the marker segments up to the first start-of-frame; a few segments, then stop."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def _image_to_rgb(image: Image.Image, notes: list[str]) -> Image.Image:
    """Any decoded Pillow mode -> 8-bit RGB; transparency is composited onto white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode.startswith("I;16"):
        # Round v / 257 in integers: 257 maps 65535 exactly onto 255, and no float copy is made.
        deep = np.asarray(image).astype(np.uint32)
        gray = ((deep * 2 + 257) // 514).astype(np.uint8)
        notes.append("16-bit image: converted to 8 bits per channel.")
        return Image.fromarray(gray, mode="L").convert("RGB")
    if mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float32)
        if values.max(initial=0) > 255:
            values = values / 257.0
        elif mode == "F" and values.max(initial=0) <= 1.0:
            values = values * 255.0
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    if mode == "CMYK":
        notes.append("CMYK image: converted to RGB without a color profile, colors may differ slightly.")
        return image.convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image if mode == "RGBA" else image.convert("RGBA")
        alpha = rgba.getchannel("A")
        if alpha.getextrema()[0] < 255:
            notes.append("Transparent areas were filled with white.")
        # Pasting through the alpha mask blends onto white without a second RGBA copy.
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, (0, 0), alpha)
        return flat
    return image.convert("RGB")


def load_image(data: bytes, filename: str = "") -> Image.Image:
    """Decode an uploaded image to an RGB ``PIL.Image`` of the file's own size ``(W, H)``.

    Accepts PNG, JPEG, WebP, BMP and GIF (format sniffed from the bytes). Refuses, with an
    :class:`InputError`: empty or oversized files, other formats, images over
    ``MAX_IMAGE_PIXELS`` (checked from the header, before any pixel is decoded) and truncated or
    damaged files. Notes on what was changed (first frame only, transparency, EXIF rotation, 16 bit,
    CMYK) are in ``image.info["notes"]``.
    """
    _check_byte_size(data, filename)
    name = _display_name(filename)
    fmt = _sniff_format(data)
    if fmt not in IMAGE_FORMATS:
        raise InputError(_unsupported_message(data, filename, wanted="an image"))
    damaged = (
        f"{name} is damaged or incomplete (for example a partial download) and cannot be decoded. "
        "Upload the complete file."
    )
    if fmt == "PNG" and not _png_is_complete(data):
        raise InputError(damaged)

    header_size = _header_size(data, fmt)
    if header_size is not None and header_size[0] * header_size[1] > MAX_IMAGE_PIXELS:
        _check_pixel_count(header_size, name)
    notes: list[str] = []
    try:
        # Image.open reads the header only; pixels are decoded by load() below.
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError:
        raise InputError(
            f"{name} is too large in pixels to be decoded safely; the limit is "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels. Resize it and upload it again."
        ) from None
    except Exception:
        raise InputError(damaged) from None

    _check_pixel_count(image.size, name)
    try:
        if getattr(image, "is_animated", False):
            notes.append(f"The {fmt} file has several frames; only the first one is used.")
            image.seek(0)
        image.load()
        # Some GIFs grow past their header size while the first frame is decoded.
        _check_pixel_count(image.size, name)
        orientation = _exif_orientation(image)
        if orientation not in (None, 1):
            image = ImageOps.exif_transpose(image)
            notes.append("The picture was rotated as its EXIF orientation tag asks.")
        rgb = _image_to_rgb(image, notes)
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{name} is too large to decode in memory. Resize it and upload it again.") from None
    except Exception:
        raise InputError(damaged) from None

    rgb.info[NOTES_KEY] = notes
    return rgb


def _check_pixel_count(size: tuple[int, int], name: str) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise InputError(f"{name} has no pixels ({width}×{height}). Upload another image.")
    if width * height > MAX_IMAGE_PIXELS:
        raise InputError(
            f"{name} is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); the limit is "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels. Resize it and upload it again."
        )


def _exif_orientation(image: Image.Image) -> int | None:
    try:
        return image.getexif().get(0x0112)
    except Exception:
        # A broken EXIF block must not cost the user the picture itself.
        return None


def prepare_image(image: Image.Image, input_shape: tuple[int, int, int] = (3, 64, 64)) -> torch.Tensor:
    """Resize and center-crop an image to a model's input, ``(C, H, W)`` float32 in [0, 1].

    Takes the output of :func:`load_image` or any Pillow image (other modes are converted the same
    way). The shorter side is scaled to fit, then the center is cropped, so nothing is stretched. Only the
    cropped region is resampled, which keeps a very long thin image from creating a huge
    intermediate. ``C == 1`` gives grayscale (ITU-R 601 luma), ``C == 3`` RGB.
    """
    channels, height, width = (int(v) for v in input_shape)
    if channels not in (1, 3) or height < 1 or width < 1:
        raise ValueError(f"input_shape must be (1 or 3, H, W) with H, W >= 1, got {tuple(input_shape)}")
    if image.mode not in ("RGB", "L"):
        # Same conversion as load_image, so transparency is white here too.
        image = _image_to_rgb(image, [])
    source = image.convert("L" if channels == 1 else "RGB")
    src_w, src_h = source.size
    # Largest box with the target's aspect ratio that fits in the source, centered.
    scale = min(src_w / width, src_h / height)
    box_w, box_h = width * scale, height * scale
    left, top = (src_w - box_w) / 2, (src_h - box_h) / 2
    resized = source.resize(
        (width, height),
        Image.Resampling.BICUBIC,
        box=(left, top, left + box_w, top + box_h),
        reducing_gap=3.0,
    )
    pixels = np.asarray(resized, dtype=np.float32) / 255.0
    if channels == 1:
        pixels = pixels[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))


# --------------------------------------------------------------------------------------------
# Audio


def _format_duration(seconds: float) -> str:
    if seconds >= 3600:
        hours, rest = divmod(int(round(seconds)), 3600)
        return f"{hours} h {rest // 60:02d} min"
    if seconds >= 120:
        minutes, rest = divmod(int(round(seconds)), 60)
        return f"{minutes} min {rest:02d} s"
    return f"{seconds:.1f} s"


def _wav_declared_frames(data: bytes) -> int | None:
    """Frames announced by a RIFF/WAVE header (its ``data`` chunk size), or None if not stated.

    libsndfile trusts the actual byte count instead, so a header that announces an hour followed
    by a few bytes would otherwise read as a short sound.
    """
    if not data.startswith(b"RIFF") or data[8:12] != b"WAVE":
        return None
    pos, block_align = 12, None
    while pos + 8 <= len(data):
        kind, size = struct.unpack("<4sI", data[pos : pos + 8])
        if kind == b"fmt " and pos + 22 <= len(data):
            block_align = struct.unpack("<H", data[pos + 20 : pos + 22])[0]
        if kind == b"data":
            # 0 and 0xFFFFFFFF are what streaming recorders write when the length is unknown.
            if not block_align or size in (0, 0xFFFFFFFF):
                return None
            return size // block_align
        pos += 8 + size + (size & 1)
    return None


def load_audio(data: bytes, filename: str = "", target_sr: int = 16000) -> tuple[np.ndarray, list[str]]:
    """Decode an uploaded sound to a mono float32 waveform ``(S,)`` at ``target_sr`` Hz, plus notes.

    Accepts WAV, FLAC and OGG (Vorbis/Opus), sniffed from the bytes. Refuses, with an
    :class:`InputError`: empty or oversized files, other formats, damaged files, no samples, more
    than ``MAX_AUDIO_CHANNELS`` channels, sample rates outside
    ``[MIN_SAMPLE_RATE, MAX_SAMPLE_RATE]``, sounds longer than ``MAX_AUDIO_SECONDS`` (from the header,
    before decoding) and NaN/infinite samples. Several channels are averaged to mono, other rates
    are resampled (polyphase), peaks above full scale are scaled down, and silence is noted.
    """
    if target_sr < 1:
        raise ValueError(f"target_sr must be a positive number of Hz, got {target_sr}")
    _check_byte_size(data, filename)
    name = _display_name(filename)
    fmt = _sniff_format(data)
    if fmt not in AUDIO_FORMATS:
        raise InputError(_unsupported_message(data, filename, wanted="a sound"))
    damaged = (
        f"{name} is damaged or uses an encoding that cannot be read. "
        "Export it again as 16-bit WAV and upload that."
    )
    try:
        sound = soundfile.SoundFile(io.BytesIO(data))
    except Exception:
        raise InputError(damaged) from None

    with sound:
        channels, rate, frames = sound.channels, sound.samplerate, sound.frames
        if channels < 1 or channels > MAX_AUDIO_CHANNELS:
            raise InputError(
                f"{name} has {channels} channels; at most {MAX_AUDIO_CHANNELS} are supported. "
                "Export it as mono or stereo."
            )
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise InputError(
                f"{name} has a sample rate of {rate} Hz; rates from {MIN_SAMPLE_RATE} to "
                f"{MAX_SAMPLE_RATE} Hz are supported. Export it at 16000 or 44100 Hz."
            )
        max_frames = int(MAX_AUDIO_SECONDS * rate)
        declared = _wav_declared_frames(data) or 0
        announced = max(frames, declared)
        if announced > max_frames:
            raise InputError(
                f"{name} is {_format_duration(announced / rate)} long; sounds are limited to "
                f"{MAX_AUDIO_SECONDS:.0f} s. Cut out the part you want and upload that."
            )
        try:
            wave = _read_mono(sound, max_frames)
        except Exception:
            raise InputError(damaged) from None

    if wave.size == 0:
        raise InputError(
            f"{name} contains no samples that can be read (it is empty or cut short). Upload another sound."
        )
    if wave.size > max_frames:
        raise InputError(
            f"{name} is longer than {MAX_AUDIO_SECONDS:.0f} s. Cut out the part you want and upload that."
        )
    if not np.isfinite(wave).all():
        raise InputError(
            f"{name} contains invalid samples (NaN or infinite values). "
            "Export it again from your audio editor."
        )

    notes: list[str] = []
    if declared > wave.size:
        notes.append(
            f"The file is cut short: its header announces {_format_duration(declared / rate)} but it holds "
            f"{_format_duration(wave.size / rate)}; the part that is there is used."
        )
    if channels > 1:
        notes.append(f"{channels} channels were mixed down to mono (their average).")
    peak = float(np.abs(wave).max())
    if peak > 1.0:
        wave /= peak
        notes.append(f"Peaks above full scale (×{peak:.3g}) were scaled down to avoid clipping.")
    if peak < _SILENCE_PEAK:
        notes.append("The sound is silent (all samples are zero or nearly zero).")
    if rate != target_sr:
        wave = _resample(wave, rate, target_sr)
        missing = f" It has no content above {rate // 2} Hz." if rate < target_sr else ""
        notes.append(f"Resampled from {rate} Hz to {target_sr} Hz.{missing}")
    return wave, notes


def _read_mono(sound: soundfile.SoundFile, max_frames: int) -> np.ndarray:
    """Decode block by block, averaging channels as it goes, so memory stays at one mono track."""
    parts: list[np.ndarray] = []
    total = 0
    for block in sound.blocks(blocksize=_AUDIO_BLOCK_FRAMES, dtype="float32", always_2d=True):
        parts.append(block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0].copy())
        total += block.shape[0]
        if total > max_frames:
            # The header understated the length; stop before the rest is decoded.
            break
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(parts)


def _resample(wave: np.ndarray, rate: int, target_sr: int) -> np.ndarray:
    """Polyphase resampling ``(S,)`` -> ``(round(S * target_sr / rate),)`` float32."""
    from scipy.signal import resample_poly

    ratio = Fraction(target_sr, rate)
    if max(ratio.numerator, ratio.denominator) > _MAX_RESAMPLE_FACTOR:
        ratio = ratio.limit_denominator(_MAX_RESAMPLE_FACTOR)
    out = resample_poly(wave, ratio.numerator, ratio.denominator)
    return np.asarray(out, dtype=np.float32)


def prepare_audio(
    wave: np.ndarray,
    clip_samples: int = 32000,
    *,
    sample_rate: int = 16000,
    notes: list[str] | None = None,
) -> np.ndarray:
    """Fit a mono waveform ``(S,)`` to exactly ``clip_samples`` samples, float32 ``(clip_samples,)``.

    Shorter sounds are zero-padded on both sides (centered); longer ones give their most energetic
    window of ``clip_samples`` (largest sum of squares; the earliest on ties). If ``notes`` is given,
    a line saying what was done (with seconds at ``sample_rate``) is appended to it for the UI.
    """
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1:
        raise ValueError(f"wave must be a mono waveform of shape (S,), got shape {wave.shape}")
    if clip_samples < 1:
        raise ValueError(f"clip_samples must be positive, got {clip_samples}")
    length = wave.shape[0]
    if length == clip_samples:
        return wave.copy()
    if length < clip_samples:
        out = np.zeros(clip_samples, dtype=np.float32)
        left = (clip_samples - length) // 2
        out[left : left + length] = wave
        if notes is not None:
            notes.append(
                f"The sound is {length / sample_rate:.2f} s long; it was padded with silence to "
                f"{clip_samples / sample_rate:.2f} s."
            )
        return out
    energy = np.concatenate([[0.0], np.cumsum(wave.astype(np.float64) ** 2)])
    window_energy = energy[clip_samples:] - energy[:-clip_samples]
    start = int(np.argmax(window_energy))
    if notes is not None:
        notes.append(
            f"The sound is {length / sample_rate:.2f} s long; the model hears "
            f"{clip_samples / sample_rate:.2f} s, so the loudest part was taken: "
            f"{start / sample_rate:.2f} s to {(start + clip_samples) / sample_rate:.2f} s."
        )
    return wave[start : start + clip_samples].copy()
