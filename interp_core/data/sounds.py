"""The embedded ``sounds`` dataset: synthetic 2 s sound events at 16 kHz with exact time-frequency masks.

Each clip holds one event of one of ten classes (siren, chirp, bell, engine hum, knock, click train,
whistle, noise burst, bark, drip) with a random onset, duration, pitch and level over a low-level
coloured background noise. Event and noise are synthesised separately and summed, so the ground truth is
exact: the ideal binary mask ``|STFT(event)| > |STFT(noise)|`` (0 dB local criterion), i.e. the
time-frequency bins in which the event dominates.

Concepts are shared between classes, as bird parts are in CUB: each class has a character (tonal or
noisy), an envelope (sustained, decaying, impulsive) and a pitch motion (sweeping, steady); each clip
adds rhythm (one sound unit or several), a pitch band and a duration band, taken from the generator's own
parameters (recorded as ``pitches`` and ``unit_counts``), never estimated from the audio.

The model input is the log-magnitude STFT ``log1p(|STFT|)`` that PIQ calls "log power" (method-notes
§3.2/§9: the reference takes the magnitude, then log1p). ``stft_complex``/``istft`` let an interpreter
turn a masked magnitude back into audio with the input phase, as PIQ does (method-notes §3.6).

Generation is seeded and deterministic: every clip draws from its own generator seeded by
``(seed, split, index)`` (its label comes from one shuffle of the balanced labels of the split), so any
clip can be re-synthesised alone (:func:`sound_components`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from interp_core.data.base import DatasetInfo, Split, cached_arrays, params_hash

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

CLASS_NAMES = (
    "siren", "chirp", "bell", "engine hum", "knock", "click train", "whistle", "noise burst", "bark", "drip",
)
NUM_TRAIN, NUM_TEST = 1600, 400
# Event level relative to the background, in dB (event RMS over its own span / noise RMS over the clip).
SNR_RANGE_DB = (-6.0, 18.0)
# Peak amplitude of each clip: the reference divides every waveform by its maximum (method-notes §3.2);
# a random peak below 1 keeps the overall level varied as well.
PEAK_RANGE = (0.25, 0.95)
# Spectral tilt exponent of the background noise: 0 = white, 1 = pink, 2 = brown.
NOISE_TILT_RANGE = (0.0, 1.5)
FADE_SECONDS = 0.005
# Seeds every clip's generator: bumping it changes the waveforms (and invalidates models trained on them).
_GENERATOR_VERSION = 1
# Which arrays a cached split holds: bump it when a field is added, not when the waveforms change.
_CACHE_LAYOUT = 2
_SPLIT_IDS = {"train": 0, "test": 1}
_NYQUIST = SAMPLE_RATE / 2

# (character, envelope, motion) of each class, shared between classes as bird parts are in CUB. character:
# energy in partials (tonal) or spread over a band (noisy: noise burst, click train of noise clicks).
# envelope: steady level over the event (sustained), one decay after the attack (decaying), or units
# shorter than ~0.1 s (impulsive). motion: the pitch moves by more than a few per cent (siren FM 15-35%,
# chirp 3-8x up, bark falls to 55-80%, drip rises 1.5-3x) or stays (whistle: under 10% glide and 3% vibrato).
_CLASS_GROUPS = ("character", "envelope", "motion")
_CLASS_CONCEPTS = {
    "siren": ("tonal", "sustained", "sweeping"),
    "chirp": ("tonal", "sustained", "sweeping"),
    "bell": ("tonal", "decaying", "steady"),
    "engine hum": ("tonal", "sustained", "steady"),
    "knock": ("tonal", "impulsive", "steady"),
    "click train": ("noisy", "impulsive", "steady"),
    "whistle": ("tonal", "sustained", "steady"),
    "noise burst": ("noisy", "decaying", "steady"),
    "bark": ("tonal", "decaying", "sweeping"),
    "drip": ("tonal", "impulsive", "sweeping"),
}
# Per-sample concepts from the generator's parameters: rhythm (two or more sound units: fixed by the class
# except for bark's 1-3 bursts), pitch bands (none for the pitchless click train) and duration.
ATTRIBUTE_GROUPS = (
    ("character", ("tonal", "noisy")),
    ("envelope", ("sustained", "decaying", "impulsive")),
    ("motion", ("sweeping", "steady")),
    ("rhythm", ("repeated", "single")),
    ("pitch", ("low", "mid", "high")),
    ("duration", ("short", "long")),
)
ATTRIBUTE_NAMES = tuple(f"{group}::{value}" for group, values in ATTRIBUTE_GROUPS for value in values)
PITCH_BAND_EDGES_HZ = (400.0, 1000.0)
LONG_EVENT_SECONDS = 1.0
# Per-clip facts the generator records beside waveforms and masks.
_CLIP_FACTS = ("onsets", "durations", "levels", "snrs", "pitches", "unit_counts")


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


def _labels(split: str, n: int, seed: int) -> np.ndarray:
    """Balanced, shuffled labels ``(n,)`` of a split."""
    labels = np.arange(n, dtype=np.int64) % len(CLASS_NAMES)
    np.random.default_rng([seed, _SPLIT_IDS[split], _GENERATOR_VERSION]).shuffle(labels)
    return labels


def _synthesize(split: str, seed: int, labels: np.ndarray, indices: np.ndarray) -> dict[str, np.ndarray]:
    """Event and background waveforms (float32 ``(k, S)``) and metadata of the clips ``indices``."""
    k = len(indices)
    events = np.zeros((k, NUM_SAMPLES), dtype=np.float32)
    noises = np.empty((k, NUM_SAMPLES), dtype=np.float32)
    onsets, lengths, snrs, levels, pitches = (np.empty(k) for _ in range(5))
    units = np.empty(k, dtype=np.int64)
    for row, i in enumerate(indices):
        rng = np.random.default_rng([seed, _SPLIT_IDS[split], _GENERATOR_VERSION, int(i)])
        clip = synthesize_clip(rng, int(labels[i]))
        events[row, clip.onset : clip.onset + clip.event.shape[0]] = clip.event
        noises[row] = clip.noise
        onsets[row], lengths[row] = clip.onset, clip.event.shape[0]
        snrs[row], levels[row], pitches[row], units[row] = clip.snr, clip.level, clip.pitch, clip.units
    return {
        "events": events,
        "noises": noises,
        "onsets": onsets / SAMPLE_RATE,
        "durations": lengths / SAMPLE_RATE,
        "snrs": snrs,
        "levels": levels,
        "pitches": pitches,
        "unit_counts": units,
    }


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


def _generate(split: str, n: int, seed: int) -> dict[str, np.ndarray]:
    labels = _labels(split, n, seed)
    waves = np.empty((n, NUM_SAMPLES), dtype=np.float32)
    masks = np.empty((n, NUM_BINS, NUM_FRAMES), dtype=bool)
    meta: dict[str, list[np.ndarray]] = {key: [] for key in _CLIP_FACTS}
    chunk = 100
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        parts = _synthesize(split, seed, labels, np.arange(start, stop))
        np.add(parts["events"], parts["noises"], out=waves[start:stop])
        masks[start:stop] = ideal_binary_mask(parts["events"], parts["noises"]).numpy()
        for key, values in meta.items():
            values.append(parts[key])
    return {"waveforms": waves, "labels": labels, "masks": masks, **{k: np.concatenate(v) for k, v in meta.items()}}


# ---------------------------------------------------------------- public loaders

def waveforms_to_input(waveforms: np.ndarray) -> torch.Tensor:
    """Float32 waveforms ``(B, S)`` -> model input ``(B, 1, 257, 182)`` (log1p magnitude STFT)."""
    return spectrogram(torch.from_numpy(np.ascontiguousarray(waveforms, dtype=np.float32)))


def sounds_info() -> DatasetInfo:
    return DatasetInfo(
        name="sounds",
        kind="audio",
        class_names=CLASS_NAMES,
        input_shape=INPUT_SHAPE,
        attribute_names=ATTRIBUTE_NAMES,
        sample_rate=SAMPLE_RATE,
        description="Synthetic 2 s sound events at 16 kHz over background noise, with ideal binary masks "
        "and concepts shared between classes (character, envelope, motion, rhythm, pitch, duration).",
    )


def sound_attributes(
    labels: np.ndarray, pitches: np.ndarray, unit_counts: np.ndarray, durations: np.ndarray
) -> np.ndarray:
    """Binary concept vectors ``(N, A)`` uint8 in ``ATTRIBUTE_NAMES`` order from the class ``labels``,
    the generator's ``pitches`` (Hz, NaN = none), ``unit_counts`` and ``durations`` (s), all ``(N,)``.

    Pitch bands: low below 400 Hz, mid below 1 kHz, high above; a clip without pitch has no pitch band.
    Duration: long from 1 s on.
    """
    labels = np.asarray(labels, dtype=np.int64)
    pitches = np.asarray(pitches, dtype=np.float64)
    per_class = np.array([_CLASS_CONCEPTS[name] for name in CLASS_NAMES])[labels]
    values = {group: per_class[:, j] for j, group in enumerate(_CLASS_GROUPS)}
    values["rhythm"] = np.where(np.asarray(unit_counts) >= 2, "repeated", "single")
    bands = np.array(dict(ATTRIBUTE_GROUPS)["pitch"])[
        np.searchsorted(PITCH_BAND_EDGES_HZ, np.nan_to_num(pitches), side="right")
    ]
    values["pitch"] = np.where(np.isnan(pitches), "", bands)
    values["duration"] = np.where(np.asarray(durations) >= LONG_EVENT_SECONDS, "long", "short")
    return np.stack(
        [values[group] == value for group, group_values in ATTRIBUTE_GROUPS for value in group_values], axis=1
    ).astype(np.uint8)


def _split_size(split: str, num_samples: int | None) -> int:
    if split not in _SPLIT_IDS:
        raise ValueError(f"Unknown split {split!r}; expected 'train' or 'test'.")
    if num_samples is not None and num_samples < 1:
        raise ValueError(f"num_samples must be positive, got {num_samples}.")
    return num_samples or (NUM_TRAIN if split == "train" else NUM_TEST)


def load_sounds(split: str = "train", *, seed: int = 0, num_samples: int | None = None) -> Split:
    """Generate (or load from cache) one split of ``sounds``.

    ``data``: float32 waveforms ``(N, 32000)``, each with a peak amplitude in [0.25, 0.95]; ``labels``
    ``(N,)`` balanced over the 10 classes; ``extras``: ``masks`` ``(N, 257, 182)`` bool (ideal binary
    mask of the event against the background, 0 dB criterion), ``onsets`` and ``durations`` in seconds,
    ``levels`` (event RMS over its span, dBFS), ``snrs`` (event RMS over its span vs background RMS,
    dB), the generator's ``pitches`` (Hz, NaN for the click train) and ``unit_counts`` (impacts, clicks,
    barks; 1 for continuous sounds), and ``attributes`` ``(N, 14)`` uint8 named by
    ``sounds_info().attribute_names`` (:func:`sound_attributes`). ``to_input`` gives the
    ``(B, 1, 257, 182)`` log1p-magnitude spectrograms. Defaults: 1600 train (160 per class) and 400 test clips.
    """
    n = _split_size(split, num_samples)
    params = dict(
        v=_GENERATOR_VERSION, layout=_CACHE_LAYOUT, split=split, n=n, seed=seed, snr=SNR_RANGE_DB, peak=PEAK_RANGE
    )
    arrays = cached_arrays(f"sounds-{params_hash(params)}", lambda: _generate(split, n, seed))
    extras = {k: arrays[k] for k in ("masks", *_CLIP_FACTS)}
    extras["attributes"] = sound_attributes(
        arrays["labels"], arrays["pitches"], arrays["unit_counts"], arrays["durations"]
    )
    return Split(
        info=sounds_info(),
        data=arrays["waveforms"],
        labels=arrays["labels"],
        to_input=waveforms_to_input,
        extras=extras,
    )


def sound_components(
    split: str, index: np.ndarray | list[int], *, seed: int = 0, num_samples: int | None = None
) -> dict[str, np.ndarray]:
    """The clean ``events`` and background ``noises`` ``(k, 32000)`` float32 of clips ``index`` of the split
    that ``load_sounds(split, seed=seed, num_samples=num_samples)`` returns; ``events + noises`` equals
    its ``data`` exactly. Re-synthesised on demand (each clip has its own seed), so nothing extra is stored.
    Use them for exact references, e.g. the SDR of an interpretation's audio against the true event.
    """
    n = _split_size(split, num_samples)
    index = np.atleast_1d(np.asarray(index, dtype=np.int64))
    if index.size and (index.min() < 0 or index.max() >= n):
        raise IndexError(f"Clip indices must lie in [0, {n}) for the {split} split of {n} clips.")
    parts = _synthesize(split, seed, _labels(split, n, seed), index)
    return {"events": parts["events"], "noises": parts["noises"]}


# ---------------------------------------------------------------- mixtures (PIQ's contaminated inputs)

def snr_gain(power_a: np.ndarray | float, power_b: np.ndarray | float, snr_db: np.ndarray | float) -> np.ndarray:
    """Amplitude gain ``g`` with ``10 log10(power_a / (g^2 power_b)) = snr_db`` (elementwise); the powers
    are whatever the caller measures (whole-signal sums, mean power over an event's span)."""
    power_a = np.asarray(power_a, dtype=np.float64)
    power_b = np.asarray(power_b, dtype=np.float64)
    if np.any(power_a == 0) or np.any(power_b == 0):
        raise ValueError("Cannot set an SNR against a silent waveform.")
    return np.sqrt(power_a / (power_b * 10 ** (np.asarray(snr_db, dtype=np.float64) / 10)))


def _snr_gains(a: np.ndarray, b: np.ndarray, snr_db: float) -> np.ndarray:
    """Gains ``(n,)`` that put each row of ``b`` ``snr_db`` below the same row of ``a`` (whole-signal power)."""
    return snr_gain(np.sum(a.astype(np.float64) ** 2, axis=-1), np.sum(b.astype(np.float64) ** 2, axis=-1), snr_db)


def mix_sounds(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor, snr_db: float = 0.0) -> dict:
    """Overlay waveform ``b`` on ``a`` (both ``(S,)``) so that ``10 log10(sum a^2 / sum (g b)^2) = snr_db``.

    Returns ``mixture`` and ``scaled_b`` ``(S,)`` float32, ``gain_b`` (g), and the ideal binary masks
    (0 dB criterion) ``mask_a`` = ``|STFT(a)| > |STFT(g b)|`` and ``mask_b`` = ``|STFT(g b)| > |STFT(a)|``
    ``(F, T)`` bool. The mixture is not renormalised, so its peak may exceed 1. PIQ's audio mixtures
    overlay two sound events of different classes (PIQ §3.5, App. H).
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"mix_sounds expects two 1-D waveforms of equal length, got {a.shape} and {b.shape}.")
    gain = float(_snr_gains(a, b, snr_db))
    scaled_b = (gain * b.astype(np.float64)).astype(np.float32)
    power_a, power_b = _power(stft_complex(np.stack([a, scaled_b])))
    return {
        "mixture": a + scaled_b,
        "scaled_b": scaled_b,
        "gain_b": gain,
        "mask_a": (power_a > power_b).numpy(),
        "mask_b": (power_b > power_a).numpy(),
    }


def sample_mixtures(split: str = "test", n: int = 16, seed: int = 0, snr_db: float = 0.0) -> dict[str, np.ndarray]:
    """``n`` mixtures of two clips of different classes from the default ``split``; clip b is scaled to
    ``snr_db`` below clip a (whole-clip powers, as in :func:`mix_sounds`).

    Returns ``mixtures`` ``(n, S)`` float32, ``labels_a``/``labels_b``/``index_a``/``index_b``/``gains_b``
    ``(n,)`` and ``masks_a``/``masks_b`` ``(n, F, T)`` bool: the ideal binary masks (0 dB) of each clip's
    clean event against everything else in the mixture (its own background and the whole other clip).
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}.")
    clips = load_sounds(split)
    rng = np.random.default_rng([seed, 104729])
    index_a = rng.integers(0, len(clips), n)
    # b comes from another class: shift a's label by 1..C-1 and pick a clip of that class.
    labels_b = (clips.labels[index_a] + rng.integers(1, len(CLASS_NAMES), n)) % len(CLASS_NAMES)
    index_b = np.array([rng.choice(np.flatnonzero(clips.labels == lab)) for lab in labels_b], dtype=np.int64)
    parts_a, parts_b = sound_components(split, index_a), sound_components(split, index_b)
    gains = _snr_gains(clips.data[index_a], clips.data[index_b], snr_db)
    scaled_b = (gains[:, None] * clips.data[index_b]).astype(np.float32)
    mixtures = clips.data[index_a] + scaled_b
    events_b = (gains[:, None] * parts_b["events"]).astype(np.float32)
    return {
        "mixtures": mixtures,
        "masks_a": ideal_binary_mask(parts_a["events"], mixtures - parts_a["events"]).numpy(),
        "masks_b": ideal_binary_mask(events_b, mixtures - events_b).numpy(),
        "labels_a": clips.labels[index_a],
        "labels_b": labels_b.astype(np.int64),
        "index_a": index_a,
        "index_b": index_b,
        "gains_b": gains.astype(np.float32),
    }
