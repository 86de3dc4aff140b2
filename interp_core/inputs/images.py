"""Uploaded images: decoded through the guards' one decoder, then made RGB and fitted to a model's input."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageOps

from interp_core import guards
from interp_core.guards import GuardError
from interp_core.inputs.upload_checks import IMAGE_FORMATS, InputError, as_input_error, checked_format

#: Key of ``image.info`` under which :func:`load_image` leaves its notes (a ``list[str]``).
NOTES_KEY = "notes"


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
    name, fmt = checked_format(data, filename, "an image")
    damaged = (
        f"{name} is damaged or incomplete (for example a partial download) and cannot be decoded. "
        "Upload the complete file."
    )
    if fmt == "PNG" and not _png_is_complete(data):
        raise InputError(damaged)
    try:
        # Pixel count and JPEG scans from the header, before Pillow's own bomb check (which only warns
        # up to 2x its limit, and raises without the numbers).
        image = guards.decode_image_bytes(data, name, IMAGE_FORMATS)
    except guards.UndecodableImage:
        raise InputError(damaged) from None
    except GuardError as err:
        raise as_input_error(err) from None

    notes: list[str] = []
    try:
        if getattr(image, "is_animated", False):
            notes.append(f"The {fmt} file has several frames; only the first one is used.")
        orientation = _exif_orientation(image)
        # Only the values 2-8 ask for a turn or flip; anything else (0, 9, text) is ignored, unnoted.
        if isinstance(orientation, int) and 2 <= orientation <= 8:
            turned = ImageOps.exif_transpose(image)
            if turned is not None and turned is not image:
                image = turned
                notes.append("The picture was rotated as its EXIF orientation tag asks.")
        rgb = _image_to_rgb(image, notes)
    except MemoryError:
        raise InputError(f"{name} is too large to decode in memory. Resize it and upload it again.") from None
    except Exception:
        raise InputError(damaged) from None

    rgb.info[NOTES_KEY] = notes
    return rgb


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
