"""What a file is, judged from its first bytes, never from its name (torch-free)."""
from __future__ import annotations

import struct

# Formats a fixed prefix alone names, checked first: no other format below starts with one of them.
_MAGIC_PREFIXES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
    (b"fLaC", "FLAC"), (b"OggS", "OGG"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
    (b"\x1aE\xdf\xa3", "WebM/Matroska"), (b"8BPS", "Photoshop"), (b"%PDF", "PDF"), (b"PK\x03\x04", "ZIP"),
    (b"\x00\x00\x01\x00", "ICO"),
)
# DIB header sizes of the BMP variants Pillow reads; "BM" alone is too common a text prefix.
_BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
# What a RIFF container (bytes 8-12) and an ISO media file (brand at bytes 8-12 after "ftyp") hold.
_RIFF_KINDS = {b"WEBP": "WEBP", b"WAVE": "WAV", b"AVI ": "AVI"}
_HEIF_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"mif1": "HEIC", b"msf1": "HEIC",
                b"avif": "AVIF", b"avis": "AVIF"}


def sniff_format(data: bytes) -> str | None:
    """Name of the container format found in the first bytes, supported or not; None if unknown."""
    head = data[:64]
    for magic, fmt in _MAGIC_PREFIXES:
        if head.startswith(magic):
            return fmt
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in _BMP_DIB_SIZES:
        return "BMP"
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] in _RIFF_KINDS:
        return _RIFF_KINDS[head[8:12]]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return _HEIF_BRANDS.get(brand) or ("M4A" if brand.startswith(b"M4A") else "MP4")
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2):
        return "MP3"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if head[:2] in (b"P5", b"P6") and len(head) > 2 and head[2:3].isspace():
        return "PPM"
    if b"<svg" in data[:1024].lower():
        return "SVG"
    return None
