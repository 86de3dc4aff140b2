"""Listening to PIQ: an all-ones mask gives the input waveform back, the WAV file is playable, and the
Griffin-Lim fallback rebuilds a consistent magnitude."""
from __future__ import annotations

import io

import numpy as np
import torch

from interp_core.data.sounds import NUM_SAMPLES, SAMPLE_RATE, spectrogram, stft_complex
from interp_core.methods.piq.audio import griffin_lim, interpretation_waveforms, wav_bytes


def _clip(seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(NUM_SAMPLES) / SAMPLE_RATE
    wave = 0.4 * np.sin(2 * np.pi * (300 + 200 * t) * t) + 0.05 * rng.normal(size=NUM_SAMPLES)
    return torch.from_numpy(wave.astype(np.float32))[None]


def test_an_all_ones_mask_returns_the_input_waveform():
    wave = _clip()
    x = spectrogram(wave)
    rebuilt = interpretation_waveforms(x, torch.ones(1, *x.shape[-2:]), wave)
    assert rebuilt.shape == wave.shape
    torch.testing.assert_close(rebuilt, wave, atol=2e-4, rtol=0)


def test_a_zero_mask_is_silence_and_a_half_mask_keeps_that_half_of_the_spectrum():
    wave = _clip(1)
    x = spectrogram(wave)
    assert float(interpretation_waveforms(x, torch.zeros(1, *x.shape[-2:]), wave).abs().max()) < 1e-6
    low = torch.zeros(1, *x.shape[-2:])
    low[:, : x.shape[-2] // 2] = 1.0
    kept = stft_complex(interpretation_waveforms(x, low, wave)).abs()
    assert float(kept[:, x.shape[-2] // 2 + 5 :].sum()) < 0.05 * float(kept.sum())


def test_wav_bytes_are_a_playable_file_of_the_same_length():
    import soundfile

    wave = _clip(2)[0].numpy()
    data, rate = soundfile.read(io.BytesIO(wav_bytes(wave, SAMPLE_RATE)), dtype="float32")
    assert rate == SAMPLE_RATE and data.shape == wave.shape
    np.testing.assert_allclose(data, wave, atol=1 / 2**15 + 1e-6)


def test_griffin_lim_rebuilds_the_magnitude_it_is_given():
    wave = _clip(3)
    magnitude = stft_complex(wave).abs()
    rebuilt = stft_complex(griffin_lim(magnitude, NUM_SAMPLES, n_iter=32)).abs()
    assert float((rebuilt - magnitude).norm() / magnitude.norm()) < 0.25
