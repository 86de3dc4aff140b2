"""Uploaded sounds: decoded within the guards' limits, mixed to mono, resampled and fitted to a clip."""
from __future__ import annotations

import numpy as np

from interp_core import guards
from interp_core.guards import GuardError, limits
from interp_core.inputs.upload_checks import InputError, as_input_error, checked_format
from interp_core.progress import format_duration

# Below this peak (-100 dBFS) a sound is inaudible; the model would see only its own noise floor.
_SILENCE_PEAK = 1e-5


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
    name, _ = checked_format(data, filename, "a sound")
    damaged = (
        f"{name} is damaged or uses an encoding that cannot be read. "
        "Export it again as 16-bit WAV and upload that."
    )
    try:
        with guards.open_sound(data, name) as (sound, header):
            channels, rate = header.channels, header.rate
            declared = header.declared or 0
            max_seconds = limits.MAX_AUDIO_SECONDS
            try:
                guards.check_sound_header(header, name, max_seconds)
            except GuardError as err:
                raise as_input_error(err) from None
            max_frames = int(max_seconds * rate)
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
            f"{name} is longer than {max_seconds:g} s. Cut out the part you want and upload that."
        )
    if not np.isfinite(wave).all():
        raise InputError(
            f"{name} contains invalid samples (NaN or infinite values). "
            "Export it again from your audio editor."
        )

    notes: list[str] = []
    if declared > wave.size:
        notes.append(
            f"The file is cut short: its header announces {format_duration(declared / rate)} but it holds "
            f"{format_duration(wave.size / rate)}; the part that is there is used."
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
