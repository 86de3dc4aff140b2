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

The events are synthesised by :mod:`interp_core.data.sound_events`; the model input, the log-magnitude
STFT, and the ideal binary masks come from :mod:`interp_core.data.time_frequency`. This module is the one
the dataset registry names (``load_sounds``, ``sounds_info``): it builds the splits and their concepts,
mixes two clips (PIQ's contaminated inputs), and re-exports the names of both modules, so
``from interp_core.data.sounds import stft_complex`` keeps working.

Generation is seeded and deterministic: every clip draws from its own generator seeded by
``(seed, split, index)`` (its label comes from one shuffle of the balanced labels of the split), so any
clip can be re-synthesised alone (:func:`sound_components`).
"""
from __future__ import annotations

import numpy as np
import torch

from interp_core.data.base import DatasetInfo, Split, cached_arrays, params_hash
from interp_core.data.sound_events import (
    CLASS_NAMES,
    FADE_SECONDS,
    NOISE_TILT_RANGE,
    PEAK_RANGE,
    SNR_RANGE_DB,
    EventClip,
    synthesize_clip,
)
from interp_core.data.time_frequency import (
    CLIP_SECONDS,
    HOP_LENGTH,
    INPUT_SHAPE,
    N_FFT,
    NUM_BINS,
    NUM_FRAMES,
    NUM_SAMPLES,
    SAMPLE_RATE,
    WIN_LENGTH,
    _power,
    event_frames,
    ideal_binary_mask,
    istft,
    magnitude_to_waveform,
    spectrogram,
    stft_complex,
    waveforms_to_input,
)

NUM_TRAIN, NUM_TEST = 1600, 400
# Seeds every clip's generator: bumping it changes the waveforms (and invalidates models trained on them).
_GENERATOR_VERSION = 1
# Which arrays a cached split holds: bump it when a field is added, not when the waveforms change.
_CACHE_LAYOUT = 2
_SPLIT_IDS = {"train": 0, "test": 1}


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


__all__ = [
    "ATTRIBUTE_GROUPS", "ATTRIBUTE_NAMES", "CLASS_NAMES", "CLIP_SECONDS", "EventClip", "FADE_SECONDS", "HOP_LENGTH",
    "INPUT_SHAPE", "LONG_EVENT_SECONDS", "NOISE_TILT_RANGE", "NUM_BINS", "NUM_FRAMES", "NUM_SAMPLES", "NUM_TEST",
    "NUM_TRAIN", "N_FFT", "PEAK_RANGE", "PITCH_BAND_EDGES_HZ", "SAMPLE_RATE", "SNR_RANGE_DB", "WIN_LENGTH",
    "event_frames", "ideal_binary_mask", "istft", "load_sounds", "magnitude_to_waveform", "mix_sounds",
    "sample_mixtures", "snr_gain", "sound_attributes", "sound_components", "sounds_info", "spectrogram",
    "stft_complex", "synthesize_clip", "waveforms_to_input",
]
