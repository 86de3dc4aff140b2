"""Our own adversarial corpus: one builder per failure class, writing small files at test time.

Each ``build_<case>(folder)`` writes what the case needs under ``folder`` (a few kB on disk: big files
are sparse, bombs are compressed); each ``run_<case>(folder)`` is what the worker subprocess
(:mod:`tests.hardening.worker`) calls through the library, returning a small JSON-able summary or
raising the library's error. Builders run in the test process, runners only in the limited child.
"""
from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------- raw file makers


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bilevel_png(width: int, height: int, extra_chunks: bytes = b"") -> bytes:
    """A valid black 1-bit PNG of ``width x height`` whose pixel data is zlib of zero rows (tiny on disk)."""
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)] + [compressor.flush()]
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + extra_chunks + png_chunk(b"IDAT", b"".join(parts)) + png_chunk(b"IEND", b"")


def text_chunk_bomb_png() -> bytes:
    """A 16x16 PNG with a zTXt chunk that inflates to 64 MB (Pillow's text-chunk limit is 1 MB)."""
    compressor = zlib.compressobj(9)
    payload = b"".join(compressor.compress(b"\0" * (1 << 20)) for _ in range(64)) + compressor.flush()
    return bilevel_png(16, 16, png_chunk(b"zTXt", b"Comment\0\0" + payload))


def many_scans_jpeg(side: int = 512, repeats: int = 5000) -> bytes:
    """A progressive JPEG whose last scan is repeated ``repeats`` times before the end-of-image marker."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (120, 130, 140)).save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    last_sos = data.rindex(b"\xff\xda")
    eoi = data.rindex(b"\xff\xd9")
    return data[:eoi] + data[last_sos:eoi] * repeats + data[eoi:]


def small_png(color=(10, 200, 30), size=(20, 14)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_with_orientation(value: int) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = value
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 10, 10)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def wav_header(rate: int, channels: int, data_size: int, bits: int = 16) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    riff = 4 + (8 + len(fmt)) + 8 + (data_size if data_size not in (0, 0xFFFFFFFF) else 0)
    return b"RIFF" + struct.pack("<I", riff) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_size)


def tone_pcm16(seconds: float, rate: int, freq: float = 440.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2").tobytes()


def one_hertz_wav() -> bytes:
    """A WAV header claiming 1 Hz (the loader would resample by 16,000x) with a few samples."""
    return wav_header(1, 1, 10) + bytes(10)


def unfinished_wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A WAV whose data size is 0, as a recorder leaves it before it finishes, followed by real samples."""
    samples = tone_pcm16(seconds, rate)
    return wav_header(rate, 1, 0) + samples


def flac_without_length(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """An ordinary FLAC whose STREAMINFO states 0 total samples (unknown length, as a stream encoder writes)."""
    import soundfile

    buffer = io.BytesIO()
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(buffer, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format="FLAC", subtype="PCM_16")
    data = bytearray(buffer.getvalue())
    # STREAMINFO follows "fLaC" and its 4-byte block header; total samples are its bits 108-143.
    data[8 + 13] &= 0xF0
    data[8 + 14 : 8 + 18] = b"\0\0\0\0"
    return bytes(data)


def sparse_file(path: Path, header: bytes, total: int) -> None:
    """``header`` then zeros up to ``total`` bytes, as a sparse file (almost nothing on disk)."""
    with open(path, "wb") as fh:
        fh.write(header)
        fh.truncate(total)


def nested_json(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


def giant_bytes_pickle() -> bytes:
    """A protocol-4 pickle whose BINBYTES8 opcode declares a 2**62-byte string, then ends."""
    return b"\x80\x04\x8e" + struct.pack("<Q", 2**62) + b"abc."


# ---------------------------------------------------------------- dataset trees


def cub_tree(root: Path) -> Path:
    from tests.data import fixtures_real as fx

    fx.make_cub(root)
    return root / "CUB_200_2011"


def cub_first_image(cub: Path) -> Path:
    relative = (cub / "images.txt").read_text().split("\n")[0].split()[1]
    return cub / "images" / relative


def image_folder(root: Path) -> Path:
    from tests.data import fixtures_real as fx

    fx.make_image_folder(root, {"cat": 3, "dog": 3})
    return root


def esc50_tree(root: Path) -> Path:
    from tests.data import fixtures_real as fx

    fx.make_esc50(root, [(1, 0, "dog", True, 440.0), (1, 1, "rain", False, 660.0), (2, 0, "dog", True, 500.0)],
                  seconds=1.0, rate=16000)
    return root


def esc50_first_clip(root: Path) -> Path:
    name = (root / "meta" / "esc50.csv").read_text().splitlines()[1].split(",")[0]
    return root / "audio" / name


def write_case_note(folder: Path, **info) -> None:
    (folder / "case.json").write_text(json.dumps(info))


def read_case_note(folder: Path) -> dict:
    return json.loads((Path(folder) / "case.json").read_text())


def mkfifo(path: Path) -> None:
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mkfifo(path)
