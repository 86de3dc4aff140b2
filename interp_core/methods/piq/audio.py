"""Listening to an interpretation: PIQ's mask on the log1p-magnitude STFT turned back into a waveform.

As the reference (method-notes §3.6): the interpretation is ``mask ⊙ log1p|X|``; ``expm1`` undoes the log,
the **input's** STFT phase is put back and the inverse STFT gives the audio (a common practice of
magnitude-domain source separation, PIQ §3.5). An all-ones mask gives the input back. When only the
spectrogram is known (no waveform, so no phase), the phase is estimated from the input's own magnitude
by Griffin-Lim (:func:`griffin_lim`), and the result says so.
"""
from __future__ import annotations

import io

import numpy as np
import torch

from interp_core.data.sounds import HOP_LENGTH, NUM_BINS, NUM_FRAMES, NUM_SAMPLES, istft, magnitude_to_waveform, stft_complex


def invertible(shape: tuple[int, ...]) -> bool:
    """Whether a spectrogram of ``shape`` ``(..., F, T)`` has the STFT layout of the ``sounds`` front-end."""
    return len(shape) >= 2 and shape[-2] == NUM_BINS


def waveform_length(frames: int) -> int:
    """Samples of the waveform behind ``frames`` centred STFT frames (the 2 s clips: 32000)."""
    return NUM_SAMPLES if frames == NUM_FRAMES else (frames - 1) * HOP_LENGTH


def griffin_lim(magnitude: torch.Tensor, length: int, n_iter: int = 32, momentum: float = 0.99) -> torch.Tensor:
    """Waveforms ``(N, length)`` whose STFT magnitude approaches ``magnitude`` ``(N, F, T)`` (fast
    Griffin-Lim, Perraudin et al. 2013: alternate projections with momentum, from zero phase)."""
    angles = torch.ones_like(magnitude, dtype=torch.complex64)
    previous = torch.zeros_like(angles)
    for _ in range(n_iter):
        rebuilt = stft_complex(istft(magnitude * angles, length))
        step = rebuilt - momentum / (1 + momentum) * previous
        angles = step / step.abs().clamp(min=1e-8)
        previous = rebuilt
    return istft(magnitude * angles, length)


def interpretation_waveforms(spectrograms: torch.Tensor, masks: torch.Tensor, waveforms: torch.Tensor | np.ndarray | None = None) -> torch.Tensor:
    """Audio ``(N, S)`` of interpretations ``masks ⊙ spectrograms``: ``spectrograms`` ``(N, 1, F, T)``
    log1p magnitudes, ``masks`` ``(N, F, T)`` in [0, 1], ``waveforms`` ``(N, S)`` the inputs' audio (their
    STFT phase is used; None: Griffin-Lim phase of the input magnitude)."""
    masked = masks.to(spectrograms).unsqueeze(1) * spectrograms  # X_int = mask ⊙ X_log (reference, mask mode)
    if waveforms is not None:
        return magnitude_to_waveform(masked.cpu(), torch.as_tensor(waveforms, dtype=torch.float32).cpu())
    spec = spectrograms[:, 0].float().cpu()
    phase = torch.angle(stft_complex(griffin_lim(torch.expm1(spec), waveform_length(spec.shape[-1]))))
    return istft(torch.polar(torch.expm1(masked[:, 0].float().cpu()), phase), waveform_length(spec.shape[-1]))


def wav_bytes(waveform: np.ndarray | torch.Tensor, sample_rate: int) -> bytes:
    """A mono 16-bit PCM WAV file of ``waveform`` ``(S,)`` (clipped to [-1, 1])."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(np.asarray(waveform, dtype=np.float32), -1, 1), sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
