"""Validate user uploads (images and sounds) and turn them into what a model expects.

The dashboard's upload widget hands the raw bytes and the file name to these functions. Everything a
user can upload ends in one of two ways: a clean result (plus short notes on what was changed, for the
UI to show), or an :class:`InputError` whose message is meant to be shown verbatim. The format is
always sniffed from the bytes; the file name only appears in messages.

Resource guards run before any decoding: the byte size, the pixel count read from the image header
(and for JPEG the number of scans, which bounds the decoding time), and the channel count, sample rate
and duration read from the sound header; samples are read block by block and the read stops at the
limit. The guards are those of :mod:`interp_core.guards`, shared with the real-dataset loaders. No
global state of Pillow or soundfile is changed.

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
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageOps

from interp_core import guards
from interp_core.guards import (
    MAX_AUDIO_CHANNELS,
    MAX_AUDIO_SECONDS,
    MAX_IMAGE_PIXELS,
    MAX_SAMPLE_RATE,
    MAX_UPLOAD_BYTES,
    MIN_SAMPLE_RATE,
    GuardError,
)
# The header readers moved to the shared guards; the old private names stay for existing callers.
from interp_core.guards import header_size as _header_size  # noqa: F401
from interp_core.guards import sniff_format as _sniff_format
from interp_core.guards import wav_declared_frames as _wav_declared_frames  # noqa: F401

__all__ = [
    "AUDIO_FORMATS", "IMAGE_FORMATS", "MAX_AUDIO_CHANNELS", "MAX_AUDIO_SECONDS", "MAX_IMAGE_PIXELS", "MAX_SAMPLE_RATE",
    "MAX_UPLOAD_BYTES", "MIN_SAMPLE_RATE", "NOTES_KEY", "InputError", "load_audio", "load_image", "prepare_audio",
    "prepare_image", "sniff_kind", "upload_kind",
]

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
AUDIO_FORMATS = ("WAV", "FLAC", "OGG")
NOTES_KEY = "notes"

# Below this peak (-100 dBFS) a sound is inaudible; the model would see only its own noise floor.
_SILENCE_PEAK = 1e-5


class InputError(ValueError):
    """An upload cannot be used; the message says why and what to do, for the user to read."""


# --------------------------------------------------------------------------------------------
# Sniffing


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
    return guards.display_name(filename)


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
        raise InputError(guards.size_refusal(_display_name(filename), size, MAX_UPLOAD_BYTES, "uploads")
                         + " Choose a smaller file.")


# --------------------------------------------------------------------------------------------
# Images


def _png_is_complete(data: bytes) -> bool:
    """True if the PNG has its IEND chunk, which Pillow does not require.

    Pillow refuses a PNG cut inside its pixel data but accepts one that lost only its end. The IEND
    chunk is always the same 12 bytes (length 0, type, CRC), so a search finds it exactly, in C.
    """
    return data.rfind(b"\x00\x00\x00\x00IEND\xaeB`\x82") >= 8


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

    try:
        # Pixel count and JPEG scans from the header, before Pillow's own bomb check (which only warns
        # up to 2x its limit, and raises without the numbers).
        guards.check_image_header(data, name, MAX_IMAGE_PIXELS)
    except GuardError as err:
        raise InputError(str(err)) from None
    notes: list[str] = []
    try:
        # Image.open reads the header only; pixels are decoded by load() below.
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError:
        raise InputError(
            f"{name} is too large in pixels to be decoded safely; the limit is "
            f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels. Resize it and upload it again."
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
        # Only the values 2-8 ask for a turn or flip; anything else (0, 9, text) is ignored, unnoted.
        if isinstance(orientation, int) and 2 <= orientation <= 8:
            turned = ImageOps.exif_transpose(image)
            if turned is not None and turned is not image:
                image = turned
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
        raise InputError(guards.pixel_refusal(name, size, MAX_IMAGE_PIXELS).replace("try again", "upload it again"))


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
        with guards.open_sound(data, name) as (sound, header):
            channels, rate = header.channels, header.rate
            declared = header.declared or 0
            try:
                guards.check_sound_header(header, name, MAX_AUDIO_SECONDS)
            except GuardError as err:
                raise InputError(str(err).replace("use that", "upload that")) from None
            max_frames = int(MAX_AUDIO_SECONDS * rate)
            try:
                wave, more = guards.read_frames(sound, max_frames)
            except Exception:
                raise InputError(damaged) from None
    except GuardError:
        raise InputError(damaged) from None

    if wave.size == 0:
        raise InputError(
            f"{name} contains no samples that can be read (it is empty or cut short). Upload another sound."
        )
    if more:
        # The header stated no length (a stream) or understated it; the read stopped at the limit.
        raise InputError(
            f"{name} is longer than {MAX_AUDIO_SECONDS:g} s. Cut out the part you want and upload that."
        )
    if not np.isfinite(wave).all():
        raise InputError(
            f"{name} contains invalid samples (NaN or infinite values). "
            "Export it again from your audio editor."
        )

    notes: list[str] = []
    if declared > wave.size:
        notes.append(
            f"The file is cut short: its header announces {guards.format_duration(declared / rate)} but it holds "
            f"{guards.format_duration(wave.size / rate)}; the part that is there is used."
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
        wave = guards.resample(wave, rate, target_sr)
        missing = f" It has no content above {rate // 2} Hz." if rate < target_sr else ""
        notes.append(f"Resampled from {rate} Hz to {target_sr} Hz.{missing}")
    return wave, notes


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
