"""The embedded ``sounds-mix`` dataset: two overlapping sound events of different classes in one 2 s clip,
the audio counterpart of PIQ's contaminated inputs (PIQ §3.3, §3.5: a classifier trained on clean
sounds, interpreted on mixtures).

Mixture ``i`` draws everything from its own generator seeded by ``(seed, split, i)``: an ordered pair of
different classes ``(a, b)`` (the 90 pairs are balanced over the split), a mixing SNR uniform in
``SNR_RANGE_DB``, and two clips from the ``sounds`` generator (:func:`~interp_core.data.sounds.synthesize_clip`).
With ``e_a``, ``n_a`` the first clip's event and background and ``e_b`` the second clip's event, moved so
that the events overlap by at least half of the shorter one, the mixture is::

    x = e_a + g * e_b + n_a,    10 log10( mean(e_a^2 over a's span) / mean((g e_b)^2 over b's span) ) = SNR

The SNR is measured on the event regions, not the whole clip, so a short event is not made louder for
the silence around it. When the peak of ``x`` exceeds 0.95 all three parts are scaled down by one gain,
which keeps the SNR and the masks. ``labels`` is the louder source; ``source_masks`` are the ideal binary
masks (0 dB) of each event against everything else in the mixture (the other event plus background).

Sources are not stored (they would triple the cache): :func:`mixture_sources` re-synthesises them, and
they add up to the stored mixture exactly (the same float32 additions, in the same order).
"""
from __future__ import annotations

import numpy as np

from interp_core.data.base import DatasetInfo, Split, cached_arrays, params_hash
from interp_core.data.sounds import (
    _GENERATOR_VERSION,
    _SPLIT_IDS,
    CLASS_NAMES,
    INPUT_SHAPE,
    NUM_BINS,
    NUM_FRAMES,
    NUM_SAMPLES,
    SAMPLE_RATE,
    ideal_binary_mask,
    snr_gain,
    synthesize_clip,
    waveforms_to_input,
)

NUM_TRAIN, NUM_TEST = 800, 200
SNR_RANGE_DB = (-5.0, 5.0)
PEAK_LIMIT = 0.95
# Separates these generators' seeds from those of the clean ``sounds`` clips.
_STREAM = 2
# Version of the mixing below; the clips themselves follow the ``sounds`` generator's version.
_MIX_VERSION = 1
_PAIRS = np.array([(a, b) for a in range(len(CLASS_NAMES)) for b in range(len(CLASS_NAMES)) if a != b], dtype=np.int64)


def sounds_mix_info() -> DatasetInfo:
    return DatasetInfo(
        name="sounds-mix",
        kind="audio",
        class_names=CLASS_NAMES,
        input_shape=INPUT_SHAPE,
        sample_rate=SAMPLE_RATE,
        description="Two overlapping synthetic sound events of different classes at -5..+5 dB (measured on the "
        "events), labelled by the louder one, with per-source ideal binary masks.",
    )


def _split_size(split: str, num_samples: int | None) -> int:
    if split not in _SPLIT_IDS:
        raise ValueError(f"Unknown split {split!r}; expected 'train' or 'test'.")
    if num_samples is not None and num_samples < 1:
        raise ValueError(f"num_samples must be positive, got {num_samples}.")
    return num_samples or (NUM_TRAIN if split == "train" else NUM_TEST)


def _pairs(split: str, n: int, seed: int) -> np.ndarray:
    """Class pairs ``(n, 2)``: the 90 ordered pairs of different classes repeated and shuffled."""
    order = np.arange(n) % len(_PAIRS)
    np.random.default_rng([seed, _SPLIT_IDS[split], _STREAM, _MIX_VERSION, _GENERATOR_VERSION]).shuffle(order)
    return _PAIRS[order]


def _span_power(wave: np.ndarray, start: int, length: int) -> float:
    return float(np.mean(wave[start : start + length].astype(np.float64) ** 2))


def _synthesize(split: str, seed: int, pairs: np.ndarray, indices: np.ndarray) -> dict[str, np.ndarray]:
    """Sources ``events`` ``(k, 2, S)`` and ``backgrounds`` ``(k, S)`` float32 of mixtures ``indices``, their
    sum ``mixtures`` ``(k, S)`` and per-mixture facts (spans, drawn and measured SNRs)."""
    k = len(indices)
    events = np.zeros((k, 2, NUM_SAMPLES), dtype=np.float32)
    backgrounds = np.empty((k, NUM_SAMPLES), dtype=np.float32)
    onsets = np.empty((k, 2), dtype=np.int64)
    lengths = np.empty((k, 2), dtype=np.int64)
    target_snrs, snrs = np.empty(k), np.empty(k)
    for row, i in enumerate(indices):
        rng = np.random.default_rng([seed, _SPLIT_IDS[split], _STREAM, _MIX_VERSION, _GENERATOR_VERSION, int(i)])
        snr = rng.uniform(*SNR_RANGE_DB)
        first, second = (synthesize_clip(rng, int(label)) for label in pairs[i])
        len_a, len_b = first.event.shape[0], second.event.shape[0]
        # Place b so that the events overlap by at least half of the shorter one.
        overlap = min(len_a, len_b) // 2
        low = max(0, first.onset + overlap - len_b)
        high = min(NUM_SAMPLES - len_b, first.onset + len_a - overlap)
        onset_b = int(rng.integers(low, high + 1))
        gain = snr_gain(np.mean(first.event**2), np.mean(second.event**2), snr)
        parts = np.zeros((3, NUM_SAMPLES))
        parts[0, first.onset : first.onset + len_a] = first.event
        parts[1, onset_b : onset_b + len_b] = gain * second.event
        parts[2] = first.noise
        peak = np.max(np.abs(parts.sum(axis=0)))
        parts *= min(1.0, PEAK_LIMIT / peak)
        events[row] = parts[:2]
        backgrounds[row] = parts[2]
        onsets[row] = first.onset, onset_b
        lengths[row] = len_a, len_b
        target_snrs[row] = snr
        snrs[row] = 10 * np.log10(
            _span_power(events[row, 0], first.onset, len_a) / _span_power(events[row, 1], onset_b, len_b)
        )
    return {
        "events": events,
        "backgrounds": backgrounds,
        "mixtures": events[:, 0] + events[:, 1] + backgrounds,
        "onsets": onsets / SAMPLE_RATE,
        "durations": lengths / SAMPLE_RATE,
        "target_snrs": target_snrs,
        "snrs": snrs,
    }


def _source_masks(events: np.ndarray, backgrounds: np.ndarray) -> np.ndarray:
    """Ideal binary masks ``(k, 2, F, T)`` bool of each event against the other event plus background."""
    rest_a = events[:, 1] + backgrounds
    rest_b = events[:, 0] + backgrounds
    masks = ideal_binary_mask(np.concatenate([events[:, 0], events[:, 1]]), np.concatenate([rest_a, rest_b])).numpy()
    k = events.shape[0]
    return np.stack([masks[:k], masks[k:]], axis=1)


def _generate(split: str, n: int, seed: int) -> dict[str, np.ndarray]:
    pairs = _pairs(split, n, seed)
    waves = np.empty((n, NUM_SAMPLES), dtype=np.float32)
    # Masks are stored bit-packed along time (8x smaller on disk); the loader unpacks them.
    packed = np.empty((n, 2, NUM_BINS, (NUM_FRAMES + 7) // 8), dtype=np.uint8)
    facts: dict[str, list[np.ndarray]] = {key: [] for key in ("onsets", "durations", "target_snrs", "snrs")}
    chunk = 50
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        parts = _synthesize(split, seed, pairs, np.arange(start, stop))
        waves[start:stop] = parts["mixtures"]
        packed[start:stop] = np.packbits(_source_masks(parts["events"], parts["backgrounds"]), axis=-1)
        for key, values in facts.items():
            values.append(parts[key])
    return {"waveforms": waves, "source_labels": pairs, "source_masks_packed": packed,
            **{key: np.concatenate(values) for key, values in facts.items()}}


def load_sounds_mix(split: str = "train", *, seed: int = 0, num_samples: int | None = None) -> Split:
    """Generate (or load from cache) one split of ``sounds-mix``.

    ``data``: float32 mixtures ``(N, 32000)`` (peak at most 0.95); ``labels`` ``(N,)``: the louder source's
    class. ``extras``: ``source_labels`` ``(N, 2)`` (event a, event b; always different classes),
    ``source_masks`` ``(N, 2, 257, 182)`` bool (ideal binary mask of each event against the rest of the
    mixture), ``masks`` ``(N, 257, 182)``: the labelled source's mask, ``snrs`` ``(N,)``: measured SNR of
    event a over event b in dB (mean power over each event's own span; ``labels`` is a's class where it is
    >= 0), ``target_snrs`` ``(N,)`` the SNR drawn, ``source_onsets``/``source_durations`` ``(N, 2)`` in
    seconds.
    ``to_input`` gives the log1p-magnitude spectrograms ``(B, 1, 257, 182)``, as for ``sounds``.
    Defaults: 800 train and 200 test mixtures.
    """
    n = _split_size(split, num_samples)
    params = dict(
        v=_GENERATOR_VERSION, mix=_MIX_VERSION, split=split, n=n, seed=seed, snr=SNR_RANGE_DB, peak=PEAK_LIMIT
    )
    arrays = cached_arrays(f"sounds-mix-{params_hash(params)}", lambda: _generate(split, n, seed))
    source_masks = np.unpackbits(arrays["source_masks_packed"], axis=-1, count=NUM_FRAMES).astype(bool)
    source_labels = arrays["source_labels"]
    louder = (arrays["snrs"] < 0).astype(np.int64)
    rows = np.arange(n)
    return Split(
        info=sounds_mix_info(),
        data=arrays["waveforms"],
        labels=source_labels[rows, louder],
        to_input=waveforms_to_input,
        extras={
            "source_labels": source_labels,
            "source_masks": source_masks,
            "masks": source_masks[rows, louder],
            "snrs": arrays["snrs"],
            "target_snrs": arrays["target_snrs"],
            "source_onsets": arrays["onsets"],
            "source_durations": arrays["durations"],
        },
    )


def mixture_sources(
    split: str, index: np.ndarray | list[int], *, seed: int = 0, num_samples: int | None = None
) -> dict[str, np.ndarray]:
    """The sources of mixtures ``index`` of ``load_sounds_mix(split, seed=seed, num_samples=num_samples)``:
    ``events`` ``(k, 2, 32000)`` (event a, scaled event b) and ``backgrounds`` ``(k, 32000)`` float32, with
    ``events[:, 0] + events[:, 1] + backgrounds`` equal to the mixtures exactly. Re-synthesised on demand.
    """
    n = _split_size(split, num_samples)
    index = np.atleast_1d(np.asarray(index, dtype=np.int64))
    if index.size and (index.min() < 0 or index.max() >= n):
        raise IndexError(f"Mixture indices must lie in [0, {n}) for the {split} split of {n} mixtures.")
    parts = _synthesize(split, seed, _pairs(split, n, seed), index)
    return {"events": parts["events"], "backgrounds": parts["backgrounds"]}
