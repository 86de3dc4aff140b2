"""The embedded ``sounds`` dataset: determinism, shapes, ground-truth masks, STFT round trip, mixer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.data import Split, dataset_info
from interp_core.data.sounds import (
    ATTRIBUTE_GROUPS,
    ATTRIBUTE_NAMES,
    CLASS_NAMES,
    HOP_LENGTH,
    NUM_SAMPLES,
    SAMPLE_RATE,
    _labels,
    _synthesize,
    event_frames,
    istft,
    load_sounds,
    magnitude_to_waveform,
    mix_sounds,
    sample_mixtures,
    sound_components,
    sounds_info,
    spectrogram,
    stft_complex,
)

N = 60  # 6 clips per class: fast to generate, every class represented


@pytest.fixture(scope="module")
def small() -> Split:
    return load_sounds("train", num_samples=N)


def test_same_seed_gives_identical_arrays_in_fresh_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path / "a"))
    first = load_sounds("test", seed=3, num_samples=20)
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path / "b"))
    second = load_sounds("test", seed=3, num_samples=20)
    other_seed = load_sounds("test", seed=4, num_samples=20)
    assert np.array_equal(first.data, second.data)
    assert np.array_equal(first.labels, second.labels)
    for key in ("masks", "onsets", "durations", "levels", "snrs", "pitches", "unit_counts", "attributes"):
        assert np.array_equal(first.extras[key], second.extras[key], equal_nan=key == "pitches"), key
    assert not np.allclose(first.data, other_seed.data)


def test_shapes_dtypes_and_balance(small):
    assert small.data.shape == (N, NUM_SAMPLES) and small.data.dtype == np.float32
    assert small.labels.dtype == np.int64
    assert np.bincount(small.labels, minlength=10).tolist() == [N // 10] * 10
    assert small.extras["masks"].shape == (N, 257, 182) and small.extras["masks"].dtype == bool
    assert np.abs(small.data).max() <= 1.0
    onsets, durations = small.extras["onsets"], small.extras["durations"]
    assert np.all(onsets >= 0) and np.all(onsets + durations <= NUM_SAMPLES / SAMPLE_RATE + 1e-9)
    assert np.all(durations >= 0.1)


def test_info_describes_the_audio_input():
    info = sounds_info()
    assert info == dataset_info("sounds")
    assert info.kind == "audio" and info.sample_rate == 16000 and info.num_classes == len(CLASS_NAMES) == 10
    assert info.input_shape == (1, 257, 182)


def test_masks_non_empty_and_inside_event_span(small):
    masks = small.extras["masks"]
    first, stop = event_frames(small.extras["onsets"], small.extras["durations"])
    frames = np.arange(masks.shape[2])
    for i in range(len(small)):
        active = masks[i].any(axis=0)
        assert active.any(), f"clip {i} ({CLASS_NAMES[small.labels[i]]}) has an empty mask"
        outside = (frames < first[i]) | (frames >= stop[i])
        assert not active[outside].any(), f"clip {i}: mask outside frames {first[i]}..{stop[i]}"
    # Every event starts with sound, so its mask starts within a few frames of the onset.
    first_active = masks.any(axis=1).argmax(axis=1)
    onset_frame = np.rint(small.extras["onsets"] * SAMPLE_RATE / HOP_LENGTH)
    assert np.mean(np.abs(first_active - onset_frame) <= 3) >= 0.9


def test_components_rebuild_data_masks_and_levels(small):
    index = np.arange(0, N, 7)
    parts = sound_components("train", index, num_samples=N)
    events, noises = parts["events"], parts["noises"]
    assert np.array_equal(events + noises, small.data[index])
    # The mask is the 0 dB ideal binary mask of the event against the background.
    mag_e, mag_n = stft_complex(events).abs(), stft_complex(noises).abs()
    agree = (mag_e > mag_n).numpy() == small.extras["masks"][index]
    assert agree.mean() > 0.9999
    start = np.rint(small.extras["onsets"][index] * SAMPLE_RATE).astype(int)
    stop = start + np.rint(small.extras["durations"][index] * SAMPLE_RATE).astype(int)
    for k, (a, b) in enumerate(zip(start, stop)):
        assert not events[k, :a].any() and not events[k, b:].any()
        span = events[k, a:b].astype(np.float64)
        snr = 10 * np.log10(np.mean(span**2) / np.mean(noises[k].astype(np.float64) ** 2))
        assert abs(snr - small.extras["snrs"][index[k]]) < 0.01
        assert abs(10 * np.log10(np.mean(span**2)) - small.extras["levels"][index[k]]) < 0.01
    with pytest.raises(IndexError):
        sound_components("train", [N], num_samples=N)


def test_classes_occupy_their_frequency_bands(small):
    bin_hz = SAMPLE_RATE / 512
    freqs = np.arange(257) * bin_hz
    masks = small.extras["masks"]

    def share_below(label: int, hz: float) -> float:
        sel = masks[small.labels == label]
        return float(sel[:, freqs < hz, :].sum() / sel.sum())

    assert share_below(CLASS_NAMES.index("engine hum"), 2100) > 0.95
    assert share_below(CLASS_NAMES.index("whistle"), 1000) < 0.05
    # Clicks are broadband: a good part of their mask lies above 4 kHz.
    assert share_below(CLASS_NAMES.index("click train"), 4000) < 0.7


def test_features_are_log1p_magnitude_of_the_stft(small):
    x = small.inputs([0, 5, 7])
    assert x.shape == (3, 1, 257, 182) and x.dtype == torch.float32
    expected = torch.log1p(stft_complex(small.data[[0, 5, 7]]).abs())
    assert torch.allclose(x[:, 0], expected)
    # A 1 kHz tone peaks in bin 1000 / 31.25 = 32.
    tone = np.sin(2 * np.pi * 1000 * np.arange(NUM_SAMPLES) / SAMPLE_RATE).astype(np.float32)
    single = spectrogram(tone)
    assert single.shape == (1, 257, 182)
    assert int(single[0, :, 91].argmax()) == 32


def test_stft_istft_round_trip():
    x = torch.randn(3, NUM_SAMPLES, generator=torch.Generator().manual_seed(0)) * 0.3
    spec = stft_complex(x)
    assert spec.shape == (3, 257, 182) and torch.is_complex(spec)
    assert (istft(spec) - x).abs().max() < 1e-5
    # PIQ's reconstruction path: log1p magnitude -> expm1 -> input phase -> ISTFT.
    assert (magnitude_to_waveform(spectrogram(x), x) - x).abs().max() < 1e-4
    with pytest.raises(ValueError, match="complex"):
        istft(spec.abs())


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 7.5])
def test_mixer_sets_the_requested_snr(small, snr_db):
    a, b = small.data[0], small.data[1]
    mix = mix_sounds(a, b, snr_db)
    measured = 10 * np.log10(np.sum(a.astype(np.float64) ** 2) / np.sum(mix["scaled_b"].astype(np.float64) ** 2))
    assert abs(measured - snr_db) < 0.1
    assert np.allclose(mix["mixture"], a + mix["scaled_b"], atol=1e-6)
    assert mix["mask_a"].shape == (257, 182)
    assert not (mix["mask_a"] & mix["mask_b"]).any()
    assert mix["mask_a"].any() and mix["mask_b"].any()


def test_mixer_rejects_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        mix_sounds(np.ones(10), np.ones(12))
    with pytest.raises(ValueError, match="silent"):
        mix_sounds(np.ones(10), np.zeros(10))


def test_sample_mixtures_pairs_different_classes_at_the_requested_snr():
    loud_a = sample_mixtures("test", n=6, seed=1, snr_db=10.0)
    clips = load_sounds("test")
    ia, ib, g = loud_a["index_a"], loud_a["index_b"], loud_a["gains_b"]
    assert loud_a["mixtures"].shape == (6, NUM_SAMPLES) and loud_a["masks_a"].shape == (6, 257, 182)
    assert np.all(loud_a["labels_a"] != loud_a["labels_b"])
    assert np.array_equal(loud_a["labels_b"], clips.labels[ib])
    assert np.allclose(loud_a["mixtures"], clips.data[ia] + g[:, None] * clips.data[ib], atol=1e-6)
    power = lambda x: np.sum(x.astype(np.float64) ** 2, axis=1)  # noqa: E731
    snr = 10 * np.log10(power(clips.data[ia]) / power(g[:, None] * clips.data[ib]))
    assert np.all(np.abs(snr - 10.0) < 0.1)
    # The louder clip's event wins more time-frequency bins; swapping the SNR swaps that.
    loud_b = sample_mixtures("test", n=6, seed=1, snr_db=-10.0)
    assert np.array_equal(loud_b["index_a"], ia)
    assert loud_a["masks_a"].sum() > loud_a["masks_b"].sum()
    assert loud_b["masks_a"].sum() < loud_b["masks_b"].sum()
    assert loud_b["masks_a"].sum() < loud_a["masks_a"].sum()


def test_bad_split_is_rejected():
    with pytest.raises(ValueError, match="split"):
        load_sounds("validation")


def test_waveforms_are_those_the_shipped_model_was_trained_on():
    # Recorded from the generator before concepts were added (cnn-sounds is trained on these clips):
    # recording pitch and unit counts must not change a single draw.
    labels = _labels("train", 60, 0)
    parts = _synthesize("train", 0, labels, np.arange(6))
    clips = (parts["events"] + parts["noises"]).astype(np.float64)
    assert labels[:6].tolist() == [2, 7, 4, 2, 3, 0]
    rms = np.sqrt(np.mean(clips**2, axis=1))
    assert np.allclose(rms, [0.074871, 0.117794, 0.086442, 0.061867, 0.094176, 0.249899], atol=2e-6)
    assert np.allclose(clips[:, 16000], [0.0024276, 0.0779588, 0.1190764, -0.0318259, 0.0925966, -0.2983692], atol=1e-6)


def _attribute(name: str) -> int:
    return ATTRIBUTE_NAMES.index(name)


def test_attributes_are_named_groups_with_one_value_each(small):
    info = sounds_info()
    attributes = small.extras["attributes"]
    assert info.attribute_names == ATTRIBUTE_NAMES and attributes.shape == (N, len(ATTRIBUTE_NAMES))
    assert attributes.dtype == np.uint8 and set(np.unique(attributes)) <= {0, 1}
    assert all(name.count("::") == 1 for name in ATTRIBUTE_NAMES)
    start = 0
    clicks = small.labels == CLASS_NAMES.index("click train")
    for group, values in ATTRIBUTE_GROUPS:
        per_sample = attributes[:, start : start + len(values)].sum(axis=1)
        start += len(values)
        if group == "pitch":  # a click train has no pitch
            assert np.all(per_sample[clicks] == 0) and np.all(per_sample[~clicks] == 1)
        else:
            assert np.all(per_sample == 1), group


def test_every_concept_is_shared_by_several_classes(small):
    attributes = small.extras["attributes"]
    present = np.stack([attributes[small.labels == c].any(axis=0) for c in range(len(CLASS_NAMES))])
    classes_per_concept = present.sum(axis=0)
    assert classes_per_concept.min() >= 2, dict(zip(ATTRIBUTE_NAMES, classes_per_concept))
    # Class concepts are constant inside a class; they do not single a class out.
    for name in ("character::tonal", "envelope::impulsive", "motion::sweeping"):
        j = _attribute(name)
        for c in range(len(CLASS_NAMES)):
            assert len(np.unique(attributes[small.labels == c, j])) == 1, (name, CLASS_NAMES[c])
    assert {CLASS_NAMES[c] for c in np.flatnonzero(present[:, _attribute("envelope::impulsive")])} == {
        "knock", "click train", "drip"}


def test_pitch_and_duration_bands_vary_within_classes(small):
    attributes = small.extras["attributes"]

    def classes_varying(group: str) -> int:
        start = 0
        for name, values in ATTRIBUTE_GROUPS:
            if name == group:
                block = attributes[:, start : start + len(values)]
                break
            start += len(values)
        return sum(len(np.unique(block[small.labels == c], axis=0)) > 1 for c in range(len(CLASS_NAMES)))

    assert classes_varying("pitch") >= 4
    assert classes_varying("duration") >= 4
    # Bands follow the recorded parameters: pitch edges at 400 Hz and 1 kHz, long from 1 s on.
    pitches, durations = small.extras["pitches"], small.extras["durations"]
    assert np.array_equal(attributes[:, _attribute("pitch::low")] == 1, pitches < 400)
    assert np.array_equal(attributes[:, _attribute("pitch::high")] == 1, pitches >= 1000)
    assert np.array_equal(attributes[:, _attribute("duration::long")] == 1, durations >= 1.0)


def test_recorded_pitch_and_unit_counts_are_the_generators(small):
    pitches, counts, durations = small.extras["pitches"], small.extras["unit_counts"], small.extras["durations"]

    def of(name: str) -> np.ndarray:
        return small.labels == CLASS_NAMES.index(name)

    assert np.all(np.isnan(pitches[of("click train")])) and not np.isnan(pitches[~of("click train")]).any()
    assert np.all((pitches[of("engine hum")] >= 35) & (pitches[of("engine hum")] <= 110))
    assert np.all((pitches[of("whistle")] >= 1200) & (pitches[of("whistle")] <= 3500))
    # A whistle is a nearly pure tone (glide under 10%): its strongest bin sits at the recorded pitch.
    whistles = np.flatnonzero(of("whistle"))
    events = sound_components("train", whistles, num_samples=N)["events"]
    magnitude = stft_complex(events).abs().numpy()
    first, stop = event_frames(small.extras["onsets"][whistles], durations[whistles])
    bin_hz = SAMPLE_RATE / 512
    for k, i in enumerate(whistles):
        peak_hz = np.median(magnitude[k, :, first[k] + 2 : stop[k] - 2].argmax(axis=0)) * bin_hz
        assert abs(peak_hz / pitches[i] - 1) < 0.12, (peak_hz, pitches[i])
    # Clicks come at 12-50 per second; knocks and drips are 2-5 impacts, barks 1-3 bursts.
    rate = counts[of("click train")] / durations[of("click train")]
    assert np.all((rate > 11) & (rate < 53))
    for name, low, high in (("knock", 2, 5), ("drip", 2, 5), ("bark", 1, 3), ("siren", 1, 1), ("bell", 1, 1)):
        assert np.all((counts[of(name)] >= low) & (counts[of(name)] <= high)), name
    repeated = small.extras["attributes"][:, _attribute("rhythm::repeated")] == 1
    assert np.array_equal(repeated, counts >= 2)
