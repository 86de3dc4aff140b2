"""``sounds-mix``: mixtures that sum to their sources, louder-source labels, event-region SNR, masks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.data import Split, dataset_info
from interp_core.data.sound_mixtures import SNR_RANGE_DB, load_sounds_mix, mixture_sources, sounds_mix_info
from interp_core.data.sounds import (
    CLASS_NAMES,
    NUM_SAMPLES,
    SAMPLE_RATE,
    event_frames,
    ideal_binary_mask,
    spectrogram,
)

N = 20


@pytest.fixture(scope="module")
def mix() -> Split:
    return load_sounds_mix("train", num_samples=N)


@pytest.fixture(scope="module")
def sources() -> dict[str, np.ndarray]:
    return mixture_sources("train", np.arange(N), num_samples=N)


def _spans(mix: Split) -> tuple[np.ndarray, np.ndarray]:
    start = np.rint(mix.extras["source_onsets"] * SAMPLE_RATE).astype(np.int64)
    return start, start + np.rint(mix.extras["source_durations"] * SAMPLE_RATE).astype(np.int64)


def test_mixtures_are_the_sum_of_their_sources(mix, sources):
    events, backgrounds = sources["events"], sources["backgrounds"]
    assert events.shape == (N, 2, NUM_SAMPLES) and backgrounds.shape == (N, NUM_SAMPLES)
    assert np.array_equal(events[:, 0] + events[:, 1] + backgrounds, mix.data)
    assert mix.data.dtype == np.float32 and np.abs(mix.data).max() <= 0.95 + 1e-6
    # Each event is silent outside its span and the two spans overlap by at least half the shorter one.
    start, stop = _spans(mix)
    for i in range(N):
        for k in range(2):
            assert not events[i, k, : start[i, k]].any() and not events[i, k, stop[i, k] :].any()
            assert np.abs(events[i, k, start[i, k] : stop[i, k]]).max() > 0
        overlap = min(stop[i]) - max(start[i])
        assert overlap >= min(stop[i] - start[i]) // 2
    with pytest.raises(IndexError):
        mixture_sources("train", [N], num_samples=N)


def test_snr_is_measured_on_the_event_regions(mix, sources):
    start, stop = _spans(mix)
    events = sources["events"].astype(np.float64)
    power = np.array([[np.mean(events[i, k, start[i, k] : stop[i, k]] ** 2) for k in range(2)] for i in range(N)])
    measured = 10 * np.log10(power[:, 0] / power[:, 1])
    assert np.allclose(measured, mix.extras["snrs"], atol=1e-6)
    assert np.allclose(mix.extras["snrs"], mix.extras["target_snrs"], atol=0.01)
    low, high = SNR_RANGE_DB
    assert np.all((mix.extras["target_snrs"] >= low) & (mix.extras["target_snrs"] <= high))
    assert (mix.extras["snrs"] > 0).any() and (mix.extras["snrs"] < 0).any()
    # Not the whole-clip SNR: a short event against a long one differs by their length ratio.
    whole = 10 * np.log10(np.sum(events[:, 0] ** 2, axis=1) / np.sum(events[:, 1] ** 2, axis=1))
    lengths = (stop - start).astype(np.float64)
    assert np.allclose(whole, measured + 10 * np.log10(lengths[:, 0] / lengths[:, 1]), atol=1e-6)


def test_labels_name_the_louder_of_two_different_classes(mix):
    source_labels = mix.extras["source_labels"]
    assert source_labels.shape == (N, 2) and np.all(source_labels[:, 0] != source_labels[:, 1])
    louder = np.where(mix.extras["snrs"] >= 0, source_labels[:, 0], source_labels[:, 1])
    assert np.array_equal(mix.labels, louder)
    # The first N mixtures use N different ordered class pairs (90 pairs, balanced over the split).
    assert len({tuple(pair) for pair in source_labels.tolist()}) == N


def test_source_masks_are_ideal_binary_masks_against_the_rest(mix, sources):
    masks = mix.extras["source_masks"]
    assert masks.shape == (N, 2, 257, 182) and masks.dtype == bool
    events, backgrounds = sources["events"], sources["backgrounds"]
    expected_a = ideal_binary_mask(events[:, 0], events[:, 1] + backgrounds).numpy()
    expected_b = ideal_binary_mask(events[:, 1], events[:, 0] + backgrounds).numpy()
    assert np.array_equal(masks[:, 0], expected_a) and np.array_equal(masks[:, 1], expected_b)
    louder = (mix.extras["snrs"] < 0).astype(int)
    assert np.array_equal(mix.extras["masks"], masks[np.arange(N), louder])
    # Masks lie inside their event's frames; both sources rarely win the same bin (destructive sums).
    first, stop = event_frames(mix.extras["source_onsets"], mix.extras["source_durations"])
    frames = np.arange(masks.shape[-1])
    for i in range(N):
        for k in range(2):
            active = masks[i, k].any(axis=0)
            assert active.any() and not active[(frames < first[i, k]) | (frames >= stop[i, k])].any()
    assert (masks[:, 0] & masks[:, 1]).sum() < 0.01 * masks.sum()


def test_cache_round_trip_and_seeds(tmp_path, monkeypatch, mix):
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    built = load_sounds_mix("train", num_samples=N)
    loaded = load_sounds_mix("train", num_samples=N)  # from the bit-packed cache
    assert np.array_equal(built.data, mix.data) and np.array_equal(loaded.data, mix.data)
    for key in ("source_masks", "masks", "source_labels", "snrs"):
        assert np.array_equal(built.extras[key], loaded.extras[key]), key
    other = load_sounds_mix("train", num_samples=N, seed=1)
    assert not np.allclose(other.data, mix.data)


def test_info_and_inputs_are_those_of_sounds(mix):
    info = sounds_mix_info()
    assert info == dataset_info("sounds-mix")
    assert info.kind == "audio" and info.sample_rate == 16000 and info.class_names == CLASS_NAMES
    assert info.input_shape == (1, 257, 182)
    x = mix.inputs([0, 3])
    assert x.shape == (2, 1, 257, 182) and torch.allclose(x, spectrogram(mix.data[[0, 3]]))
    with pytest.raises(ValueError, match="split"):
        load_sounds_mix("validation")
