"""Synthesis of the ``sounds`` events: ten classes of 16 kHz sound events over coloured background noise.

Each synthesiser draws one event (siren, chirp, bell, engine hum, knock, click train, whistle, noise
burst, bark, drip) with a random pitch and rhythm from the generator it is given; :func:`synthesize_clip`
places it with a random onset, duration and level over the background, and returns event and noise
separately, so the dataset's masks are exact.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from interp_core.data.time_frequency import NUM_SAMPLES, SAMPLE_RATE

CLASS_NAMES = (
    "siren", "chirp", "bell", "engine hum", "knock", "click train", "whistle", "noise burst", "bark", "drip",
)
# Event level relative to the background, in dB (event RMS over its own span / noise RMS over the clip).
SNR_RANGE_DB = (-6.0, 18.0)
# Peak amplitude of each clip: the reference divides every waveform by its maximum (method-notes §3.2);
# a random peak below 1 keeps the overall level varied as well.
PEAK_RANGE = (0.25, 0.95)
# Spectral tilt exponent of the background noise: 0 = white, 1 = pink, 2 = brown.
NOISE_TILT_RANGE = (0.0, 1.5)
FADE_SECONDS = 0.005
_NYQUIST = SAMPLE_RATE / 2


# ---------------------------------------------------------------- event synthesis

# What every synthesiser returns: the event's samples, its pitch in Hz (the fundamental or band centre
# halfway along its pitch track; NaN where it has none) and its number of sound units (impacts, clicks,
# barks; 1 for a continuous sound). Pitch and count are the generator's own parameters, not estimates.
_Synthesis = tuple[np.ndarray, float, int]


def _phase(freq: np.ndarray) -> np.ndarray:
    """Running phase of an instantaneous frequency track (Hz per sample), so sweeps stay continuous."""
    return 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE


def _harmonics(phase: np.ndarray, f0: np.ndarray | float, amps: list[float]) -> np.ndarray:
    """Sum of harmonics ``k * phase`` with amplitudes ``amps``; harmonics above Nyquist are dropped."""
    out = np.zeros_like(phase)
    top = np.max(f0)
    for k, a in enumerate(amps, start=1):
        if k * top < 0.95 * _NYQUIST:
            out += a * np.sin(k * phase)
    return out


def _siren(rng: np.random.Generator, t: np.ndarray) -> _Synthesis:
    # Slow, deep sinusoidal frequency modulation (the two-tone wail of a siren).
    fc = rng.uniform(600, 1500)
    depth = rng.uniform(0.15, 0.35)
    rate = rng.uniform(1.2, 3.0)
    freq = fc * (1 + depth * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)))
    return _harmonics(_phase(freq), freq, [1.0, 0.35, 0.15]), fc, 1


def _chirp(rng: np.random.Generator, t: np.ndarray) -> _Synthesis:
    # One exponential upward sweep across several octaves; halfway through it is at sqrt(f0 f1).
    f0 = rng.uniform(250, 900)
    f1 = min(f0 * rng.uniform(3, 8), 7000)
    freq = f0 * (f1 / f0) ** (t / t[-1])
    return _harmonics(_phase(freq), freq, [1.0, 0.2]), np.sqrt(f0 * f1), 1


_BELL_RATIOS = np.array([0.56, 0.92, 1.19, 1.71, 2.0, 2.74, 3.0, 3.76, 4.07])


def _bell(rng: np.random.Generator, t: np.ndarray) -> _Synthesis:
    # Inharmonic partials (Risset's bell ratios), higher partials decaying faster.
    f0 = rng.uniform(350, 1100)
    tau = rng.uniform(0.25, 0.8)
    out = np.zeros_like(t)
    for ratio in _BELL_RATIOS:
        f = f0 * ratio * rng.uniform(0.99, 1.01)
        if f < 0.95 * _NYQUIST:
            decay = tau / (0.5 + 0.5 * ratio)
            out += rng.uniform(0.3, 1.0) * np.exp(-t / decay) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return out, f0, 1


def _engine(rng: np.random.Generator, t: np.ndarray) -> _Synthesis:
    # Low harmonic stack with slow pitch drift and amplitude modulation (the engine's firing rhythm).
    base = rng.uniform(35, 110)
    f0 = base * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t))
    amps = [rng.uniform(0.5, 1.0) / k**0.7 for k in range(1, min(20, int(1800 // f0.max())) + 1)]
    am = 1 + rng.uniform(0.3, 0.7) * np.sin(2 * np.pi * rng.uniform(4, 20) * t)
    return am * _harmonics(_phase(f0), f0, amps), base, 1


def _impacts(t: np.ndarray, times: np.ndarray, render) -> np.ndarray:
    """Sum of short sounds ``render(k, tau)`` started at ``times`` (seconds), ``tau`` = time since start;
    a render may return fewer samples than ``tau`` (it is silent after that)."""
    out = np.zeros_like(t)
    for k, start in enumerate(times):
        i0 = int(start * SAMPLE_RATE)
        sound = render(k, t[i0:] - t[i0])
        out[i0 : i0 + sound.shape[0]] += sound
    return out


def _knock(rng: np.random.Generator, t: np.ndarray) -> _Synthesis:
    # A few low damped resonances, each with a brief broadband contact transient.
    times = _impact_times(rng, t, 0.12)
    f = rng.uniform(150, 500)
    decay = rng.uniform(0.008, 0.025)
    noise = rng.standard_normal(t.shape[0])
    gains = rng.uniform(0.6, 1.0, times.shape[0])

    def render(k: int, tau: np.ndarray) -> np.ndarray:
        body = np.exp(-tau / decay) * np.sin(2 * np.pi * f * rng.uniform(0.95, 1.05) * tau)
        click = 0.5 * np.exp(-tau / 0.002) * noise[: tau.shape[0]]
        return gains[k] * (body + click)

    return _impacts(t, times, render), f, times.shape[0]


def _impact_times(rng: np.random.Generator, t: np.ndarray, tail: float) -> np.ndarray:
    """2-5 evenly-ish spaced start times inside the event, leaving ``tail`` seconds for the last one."""
    count = int(rng.integers(2, 6))
    span = max(t[-1] - tail, 0.0)
    base = np.linspace(0, span, count)
    jitter = rng.uniform(-0.15, 0.15, count) * (span / max(count - 1, 1))
    jitter[0] = 0.0
    return np.clip(base + jitter, 0, span)


def _click_train(rng: np.random.Generator, t: np.ndarray) -> _Synthesis:
    # Periodic ~1 ms broadband clicks (vertical lines in the spectrogram); a 12-50 Hz click rate is
    # heard as a rhythm, not as a pitch, so the train has none (NaN).
    rate = rng.uniform(12, 50)
    period = SAMPLE_RATE / rate
    starts = np.arange(0, t.shape[0] - 16, period * rng.uniform(0.97, 1.03)).astype(np.int64)
    out = np.zeros_like(t)
    click = np.hanning(16) * rng.standard_normal((starts.shape[0], 16))
    idx = starts[:, None] + np.arange(16)[None]
    out[idx] = click
    return out, np.nan, starts.shape[0]


def _whistle(rng: np.random.Generator, t: np.ndarray) -> _Synthesis:
    # A nearly pure high tone with a small fast vibrato and a slight glide.
    f = rng.uniform(1200, 3500)
    glide = rng.uniform(-0.1, 0.1) * t / t[-1]
    freq = f * (1 + glide + rng.uniform(0.01, 0.03) * np.sin(2 * np.pi * rng.uniform(4.5, 7.5) * t))
    return _harmonics(_phase(freq), freq, [1.0, 0.1]), f, 1


def _noise_burst(rng: np.random.Generator, t: np.ndarray) -> _Synthesis:
    # Band-limited noise, Gaussian in log-frequency around a random centre (its pitch).
    n = t.shape[0]
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    centre = np.exp(rng.uniform(np.log(400), np.log(5000)))
    width = rng.uniform(0.4, 1.2)  # octaves (standard deviation)
    gain = np.exp(-0.5 * (np.log2(np.maximum(freqs, 1.0) / centre) / width) ** 2)
    return np.fft.irfft(spec * gain, n) * np.exp(-t / rng.uniform(0.1, 1.0)), centre, 1


def _bark(rng: np.random.Generator, t: np.ndarray) -> _Synthesis:
    # 1-3 short harmonic bursts whose pitch falls from f_start to f_start * fall, with a breathy noise
    # component; the last burst ends with the event.
    length = min(rng.uniform(0.08, 0.16), t[-1])
    gap = rng.uniform(0.08, 0.2)
    count = int(np.clip((t[-1] + gap) // (length + gap), 1, 3))
    times = np.linspace(0, t[-1] - length, count)
    f_start = rng.uniform(350, 700)
    fall = rng.uniform(0.55, 0.8)
    amps = [1.0 / k**0.6 for k in range(1, 12)]
    n = int(length * SAMPLE_RATE)
    noise = rng.standard_normal(n)

    def render(k: int, tau: np.ndarray) -> np.ndarray:
        tau = tau[:n]
        freq = f_start * fall ** (tau / length)
        env = np.minimum(tau / 0.01, 1) * np.exp(-tau / (0.5 * length))
        return env * (_harmonics(_phase(freq), freq, amps) + 0.3 * noise[: tau.shape[0]])

    return _impacts(t, times, render), f_start * np.sqrt(fall), count


def _drip(rng: np.random.Generator, t: np.ndarray) -> _Synthesis:
    # Short sinusoidal blips whose pitch rises quickly from f to f * rise (a droplet's resonance),
    # decaying fast.
    times = _impact_times(rng, t, 0.08)
    f = rng.uniform(500, 1500)
    rise = rng.uniform(1.5, 3.0)
    length = rng.uniform(0.03, 0.07)

    def render(k: int, tau: np.ndarray) -> np.ndarray:
        freq = f * rng.uniform(0.9, 1.1) * rise ** np.minimum(tau / length, 1.0)
        return np.exp(-tau / (0.35 * length)) * np.sin(_phase(freq))

    return _impacts(t, times, render), f * np.sqrt(rise), times.shape[0]


# Synthesiser and event duration range (seconds) per class, in CLASS_NAMES order.
_EVENTS = (
    (_siren, (0.8, 1.8)),
    (_chirp, (0.3, 1.2)),
    (_bell, (0.6, 1.8)),
    (_engine, (0.8, 1.9)),
    (_knock, (0.3, 1.0)),
    (_click_train, (0.4, 1.6)),
    (_whistle, (0.4, 1.6)),
    (_noise_burst, (0.1, 0.8)),
    (_bark, (0.1, 0.8)),
    (_drip, (0.3, 1.2)),
)


def _fade(n: int) -> np.ndarray:
    """Raised-cosine fade-in and fade-out so events start and stop without clicks."""
    k = min(int(FADE_SECONDS * SAMPLE_RATE), n // 2)
    env = np.ones(n)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
    env[:k], env[n - k :] = ramp, ramp[::-1]
    return env


def _background(rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS coloured noise with power spectrum ~ 1 / f^tilt (above 50 Hz)."""
    spec = np.fft.rfft(rng.standard_normal(NUM_SAMPLES))
    freqs = np.maximum(np.fft.rfftfreq(NUM_SAMPLES, 1 / SAMPLE_RATE), 50.0)
    noise = np.fft.irfft(spec * freqs ** (-rng.uniform(*NOISE_TILT_RANGE) / 2), NUM_SAMPLES)
    return noise / np.sqrt(np.mean(noise**2))


class EventClip(NamedTuple):
    """One synthesised clip before it is laid out on the 2 s time line.

    ``event``: the event's own samples ``(L,)`` float64 (it starts at sample ``onset`` of the clip and is
    silent elsewhere); ``noise``: the full-length background ``(32000,)`` float64; ``snr``: event RMS over
    its span vs background RMS (dB); ``level``: event RMS over its span (dBFS); ``pitch``: Hz (NaN for a
    sound without one); ``units``: number of sound units (impacts, clicks, barks; 1 if continuous).
    """

    event: np.ndarray
    noise: np.ndarray
    onset: int
    snr: float
    level: float
    pitch: float
    units: int


def synthesize_clip(rng: np.random.Generator, label: int) -> EventClip:
    """One clip of class ``label`` drawn from ``rng``: the generator behind ``sounds`` (and the sources of
    ``sounds-mix``). The clip's peak is drawn from ``PEAK_RANGE``, with one gain for event and noise."""
    synth, (dmin, dmax) = _EVENTS[label]
    length = int(rng.uniform(dmin, dmax) * SAMPLE_RATE)
    onset = int(rng.integers(0, NUM_SAMPLES - length + 1))
    t = np.arange(length) / SAMPLE_RATE
    samples, pitch, units = synth(rng, t)
    body = samples[:length] * _fade(length)
    noise = _background(rng)
    snr = rng.uniform(*SNR_RANGE_DB)
    body *= 10 ** (snr / 20) / np.sqrt(np.mean(body**2))  # noise has unit RMS
    mixture = noise.copy()
    mixture[onset : onset + length] += body
    # One gain for event and noise keeps the SNR and the mask.
    gain = rng.uniform(*PEAK_RANGE) / np.max(np.abs(mixture))
    body *= gain
    noise *= gain
    return EventClip(body, noise, onset, snr, 10 * np.log10(np.mean(body**2)), float(pitch), int(units))
