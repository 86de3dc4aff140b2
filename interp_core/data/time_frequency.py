"""The 2 s, 16 kHz clip format of the ``sounds`` datasets and its time-frequency transforms.

The model input is the log-magnitude STFT ``log1p(|STFT|)`` that PIQ calls "log power" (method-notes
§3.2/§9: the reference takes the magnitude, then log1p). ``stft_complex``/``istft`` let an interpreter
turn a masked magnitude back into audio with the input phase, as PIQ does (method-notes §3.6).
:func:`ideal_binary_mask` is the ground truth of every sound dataset: the time-frequency bins in which
one waveform dominates another (0 dB local criterion).
"""
from __future__ import annotations

import numpy as np
import torch

SAMPLE_RATE = 16000
CLIP_SECONDS = 2.0
NUM_SAMPLES = int(SAMPLE_RATE * CLIP_SECONDS)
# 23 ms window as in the PIQ paper, 11 ms hop; n_fft 512 gives 257 bins at 31.25 Hz.
N_FFT = 512
WIN_LENGTH = 368
HOP_LENGTH = 176
NUM_BINS = N_FFT // 2 + 1
NUM_FRAMES = NUM_SAMPLES // HOP_LENGTH + 1
INPUT_SHAPE = (1, NUM_BINS, NUM_FRAMES)


# ---------------------------------------------------------------- time-frequency transforms

def _window(device: torch.device | None = None) -> torch.Tensor:
    return torch.hann_window(WIN_LENGTH, dtype=torch.float32, device=device)


def stft_complex(waveforms: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Complex STFT ``(N, F, T)`` = ``(N, 257, 182)`` for 2 s clips of waveforms ``(N, S)`` (or ``(S,)``).

    Hann window of 368 samples (23 ms) zero-padded to n_fft 512, hop 176 (11 ms), centred frames with
    zero padding (the reference's constant padding), so frame ``t`` is centred on sample ``t * 176``.
    """
    x = torch.as_tensor(waveforms, dtype=torch.float32)
    squeeze = x.dim() == 1
    if squeeze:
        x = x[None]
    if x.dim() != 2:
        raise ValueError(f"Expected waveforms of shape (N, S) or (S,), got {tuple(x.shape)}.")
    spec = torch.stft(
        x, N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH, window=_window(x.device),
        center=True, pad_mode="constant", return_complex=True,
    )
    return spec[0] if squeeze else spec


def istft(spec: torch.Tensor, length: int = NUM_SAMPLES) -> torch.Tensor:
    """Inverse of :func:`stft_complex`: complex ``(N, F, T)`` (or ``(F, T)``) -> waveforms ``(N, length)``.

    Overlap-add with window-square normalisation, so ``istft(stft_complex(x)) == x`` up to float error.
    """
    if not torch.is_complex(spec):
        raise ValueError("istft expects a complex spectrogram; build one with magnitude * exp(1j * phase).")
    return torch.istft(
        spec, N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH, window=_window(spec.device),
        center=True, length=length,
    )


def spectrogram(waveforms: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Model input: ``log1p(|STFT|)`` ``(N, 1, 257, 182)`` float32 of waveforms ``(N, S)`` (``(1, 257, 182)``
    for one waveform ``(S,)``).

    PIQ's "log power" feature, which the reference computes as log1p of the magnitude (method-notes §9).
    """
    return torch.log1p(stft_complex(waveforms).abs()).unsqueeze(-3)


def magnitude_to_waveform(log_magnitude: torch.Tensor, phase_source: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Audio of a (masked) log1p-magnitude ``(N, 1, F, T)`` or ``(N, F, T)`` with the phase of
    ``phase_source`` waveforms ``(N, S)`` -> ``(N, S)``: expm1, input phase, ISTFT (PIQ, method-notes §3.6)."""
    mag = torch.expm1(log_magnitude.float())
    if mag.dim() == 4:
        mag = mag[:, 0]
    phase = torch.angle(stft_complex(phase_source))
    if phase.shape != mag.shape:
        raise ValueError(f"Magnitude {tuple(mag.shape)} and phase source STFT {tuple(phase.shape)} differ in shape.")
    return istft(torch.polar(mag, phase), length=torch.as_tensor(phase_source).shape[-1])


def event_frames(onsets: np.ndarray, durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last STFT frame whose analysis window overlaps each event.

    ``onsets`` and ``durations`` in seconds ``(N,)``; returns int arrays ``(N,)``. A window centred on
    sample ``t * hop`` spans ``[t * hop - win/2, t * hop + win/2)``, so frames outside this range see
    none of the event.
    """
    start = np.rint(np.asarray(onsets) * SAMPLE_RATE)
    stop = start + np.rint(np.asarray(durations) * SAMPLE_RATE)
    half = WIN_LENGTH / 2
    first = np.floor((start - half) / HOP_LENGTH).astype(np.int64) + 1
    last = np.ceil((stop + half) / HOP_LENGTH).astype(np.int64)
    return np.clip(first, 0, NUM_FRAMES), np.clip(last, 0, NUM_FRAMES)


def _power(spec: torch.Tensor) -> torch.Tensor:
    # Squared magnitude without the square root of abs() (2x faster; compares the same way).
    return spec.real.square() + spec.imag.square()


def ideal_binary_mask(target: torch.Tensor | np.ndarray, interference: torch.Tensor | np.ndarray) -> torch.Tensor:
    """``|STFT(target)| > |STFT(interference)|`` ``(N, F, T)`` bool for waveforms ``(N, S)``: the ideal
    binary mask with a 0 dB local criterion (bins where the target dominates)."""
    target = torch.as_tensor(target, dtype=torch.float32)
    interference = torch.as_tensor(interference, dtype=torch.float32)
    if target.dim() != 2 or target.shape != interference.shape:
        raise ValueError(
            f"Expected two (N, S) waveform batches of one shape, got {tuple(target.shape)} and {tuple(interference.shape)}."
        )
    power = _power(stft_complex(torch.cat([target, interference])))
    return power[: target.shape[0]] > power[target.shape[0] :]


def waveforms_to_input(waveforms: np.ndarray) -> torch.Tensor:
    """Float32 waveforms ``(B, S)`` -> model input ``(B, 1, 257, 182)`` (log1p magnitude STFT)."""
    return spectrogram(torch.from_numpy(np.ascontiguousarray(waveforms, dtype=np.float32)))
