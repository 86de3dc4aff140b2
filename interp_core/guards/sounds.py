"""Sound files read within their limits (soundfile, numpy and scipy imported lazily).

Channel count, sample rate and announced duration are checked from the header; the samples are read
block by block and the read stops at the limit, so an hour-long clip is never decoded whole. A FLAC or
OGG without a length in its header (libsndfile reports ``2**63 - 1`` frames) and a WAV whose ``data``
size is 0 (an unfinished recording) are read as "length unknown", the same way.
"""
from __future__ import annotations

import contextlib
import io
import os
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import IO, Any, Iterator

from interp_core.guards import limits
from interp_core.guards.files import open_regular
from interp_core.guards.messages import GuardError, duration_refusal

#: libsndfile's frame count for a stream whose header states no length.
_UNKNOWN_FRAMES = 2**62
_AUDIO_BLOCK_FRAMES = 1 << 16
# Bounds the polyphase filter length for odd sample rates (44101 Hz etc.); the rate error is < 1 ppm.
_MAX_RESAMPLE_FACTOR = 1000


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
    """What a sound's header states: ``rate`` in Hz, lengths in frames (samples per channel)."""

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


def check_sound_header(info: SoundInfo, name: str, max_seconds: float | None = limits.MAX_AUDIO_SECONDS) -> None:
    """Refuse too many channels, a rate outside ``[MIN_SAMPLE_RATE, MAX_SAMPLE_RATE]`` Hz, or (when
    ``max_seconds`` is given) a length announced over it; all before any sample is decoded."""
    if info.channels < 1 or info.channels > limits.MAX_AUDIO_CHANNELS:
        raise GuardError(f"{name} has {info.channels} channels; at most {limits.MAX_AUDIO_CHANNELS} are supported. "
                         "Export it as mono or stereo.")
    if not limits.MIN_SAMPLE_RATE <= info.rate <= limits.MAX_SAMPLE_RATE:
        raise GuardError(f"{name} has a sample rate of {info.rate} Hz; rates from {limits.MIN_SAMPLE_RATE} to "
                         f"{limits.MAX_SAMPLE_RATE} Hz are supported. Export it at 16000 or 44100 Hz.")
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
