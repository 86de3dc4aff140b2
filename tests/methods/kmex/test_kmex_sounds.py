"""KMEx on sounds (the shipped ``kmex-sounds``): time-frequency maps, prototypes you can listen to, the maps on
the events' ground-truth masks against Grad-CAM, and Compare."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from interp_core.data.time_frequency import HOP_LENGTH, N_FFT, NUM_SAMPLES, SAMPLE_RATE, stft_complex
from interp_core.methods.kmex import listening, views


@pytest.fixture(scope="module")
def shipped():
    from interp_core.data import load_split
    from interp_core.store import load_model

    loaded = load_model("kmex-sounds", train_if_missing=False)
    return loaded, load_split("sounds", "train"), load_split("sounds", "test")


def _decode(wav: bytes) -> np.ndarray:
    import soundfile

    data, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
    assert rate == SAMPLE_RATE
    return data


def test_encoder_maps_are_time_frequency_maps_piecewise_constant_on_the_segments(shipped):
    from interp_core.methods.base import get_explainer

    loaded, _, test = shipped
    assert loaded.card.modality == "audio" and loaded.model.prototypes_per_class == 10
    x, label = test.inputs([3])[0], int(test.labels[3])
    for method in ("kmex-b4", "kmex-b234"):
        e = get_explainer(method, loaded).explain(x, [label])[0]
        assert e.attribution.shape == (257, 182) and e.segments.shape == (257, 182)
        values = e.attribution.numpy()
        for k in np.unique(e.segments):  # one value per prototype segment of the map (Eq. 11 averaged per segment)
            assert np.ptp(values[e.segments == k]) < 1e-5 * (1 + np.abs(values).max())


def test_class_prototypes_play_their_nearest_training_clips(shipped):
    loaded, train, _ = shipped
    model, label = loaded.model, 4
    entries = listening.prototype_clips(model, train, label)
    assert [p.prototype for p in entries] == list(range(40, 50))
    assert sum(p.cluster_size for p in entries) == int((train.labels == label).sum())  # the class's clips, each in one cluster
    for p in entries:
        assert p.clips[0] == int(model.buffer("prototype_images")[p.prototype])  # the nearest clip the fit recorded
        assert all(train.labels[i] == label for i in p.clips) and p.distances == sorted(p.distances)
        for index, wav in zip(p.clips, p.wavs):
            np.testing.assert_allclose(_decode(wav), np.clip(train.data[index], -1, 1), atol=1.5 / 32768)


@pytest.mark.parametrize("variant", ["b4", "b234"])
def test_a_patch_plays_its_clip_only_inside_the_patch_cells(shipped, variant):
    loaded, train, _ = shipped
    patches = listening.patch_sounds(loaded.model, train, variant, 7)
    boxes = loaded.model.buffer(f"{variant}_patch_boxes")[70:80].tolist()
    assert [list(p.box) for p in patches] == boxes
    for p in patches:
        f0, t0, f1, t1 = p.box
        wave = _decode(p.wav)
        assert wave.shape == (NUM_SAMPLES,) and np.abs(wave).max() > 0
        # frames outside t0:t1 are zero, so are the samples their windows alone cover
        start, stop = t0 * HOP_LENGTH - N_FFT // 2, (t1 - 1) * HOP_LENGTH + N_FFT // 2
        assert not wave[: max(0, start)].any() and not wave[stop + 1 :].any()
        power = stft_complex(torch.from_numpy(wave)).abs().pow(2).numpy()
        assert power[max(0, f0 - 3) : f1 + 3].sum() > 0.999 * power.sum()  # nothing outside the band but window leakage
        # the clip's own STFT inside the box: the patch audio is the PIQ rendering of a binary box mask
        expected = listening.sound_inside(train.inputs([p.clip])[0], train.data[p.clip], p.box)
        np.testing.assert_allclose(wave, np.clip(expected, -1, 1), atol=1.5 / 32768)
        assert p.crop.shape[0] % (f1 - f0) == 0 and p.crop.shape[1] % (t1 - t0) == 0
        (s0, s1), (h0, h1) = p.seconds, p.hertz
        assert (s0, s1, h0, h1) == pytest.approx((t0 * HOP_LENGTH / SAMPLE_RATE, t1 * HOP_LENGTH / SAMPLE_RATE, f0 * 31.25, f1 * 31.25))


def test_a_clicked_point_plays_its_clip(shipped):
    loaded, train, test = shipped
    model = loaded.model
    np.testing.assert_allclose(_decode(listening.point_sound(model, "test", 5, train, test)), test.data[5], atol=1.5 / 32768)
    nearest = int(model.buffer("prototype_images")[12])
    np.testing.assert_allclose(_decode(listening.point_sound(model, "kmex", 12, train, test)), train.data[nearest], atol=1.5 / 32768)
    assert listening.point_sound(model, "classifier", 1, train, test) is None
    picture, caption = views.point_preview(model, "kmex", 12, train, test)
    assert picture.ndim == 3 and "nearest training clip" in caption and "not a clip" in caption


def test_explain_sample_gives_upright_legends_and_raw_maps(shipped):
    loaded, train, test = shipped
    x = test.inputs([0])[0]
    for view in views.explain_sample(loaded, x, int(test.labels[0]), train):
        assert view.segment_map.shape == (257, 182) and view.palette.shape == (100, 3)
        assert view.attribution_map.shape == (257, 182)
        entry = view.legend[0]
        patch = loaded.model.representative_patches(view.variant, [entry.label], train)[entry.prototype % 10]
        f0, t0, f1, t1 = patch.box
        # the box is framed in the prototype's colour in the upright picture: row 0 is the highest frequency
        colour = np.array([int(entry.color[i : i + 2], 16) for i in (1, 3, 5)])
        assert (entry.image[3 + 257 - f1, 3 + t0] == colour).all()


def test_mask_overlaps_score_every_method_for_the_true_class(shipped):
    from interp_core.methods.base import get_explainer
    from interp_core.methods.kmex import mask_overlap_metrics
    from interp_core.metrics.mask_overlap import mask_overlap_scores
    from interp_core.store import load_model

    loaded, _, test = shipped
    subset = test.subset(np.arange(40))
    metrics = mask_overlap_metrics(loaded.recipe, loaded.model, subset, batch_size=16)
    x, y = subset.inputs(np.arange(40)), torch.from_numpy(subset.labels)
    gradcam = get_explainer("gradcam", load_model("cnn-sounds", train_if_missing=False)).attribute(x, y)
    direct = mask_overlap_scores(gradcam, subset.extras["masks"])
    assert metrics["gradcam_mask_iou"] == pytest.approx(float(np.mean(direct["iou"])))
    assert metrics["mask_n"] == 40 and metrics["truth_mask_area"] == pytest.approx(float(np.mean(direct["area"])))
    for method in ("b4", "b234", "gradcam"):  # every map puts far more than chance on the event
        assert metrics[f"{method}_mask_mass"] > 1.5 * metrics["truth_mask_area"]
        assert metrics[f"{method}_mask_pointing"] > 2 * metrics["truth_mask_area"]


def test_kmex_joins_compare_on_sounds(shipped):
    from interp_core.evaluation.sample_comparison import compare_sample

    result = compare_sample(["kmex-sounds"], index=2)
    rows = {r["method"]: r for r in result["entries"]}
    assert set(rows) == {"kmex-b4", "kmex-b234"}
    assert all(r["error"] is None and r["map_shape"] == [257, 182] for r in rows.values())


def test_shipped_metrics_meet_the_acceptance(shipped):
    """What ``eval kmex-sounds`` measured at training time (rerun by the slow test below)."""
    metrics = shipped[0].meta["test_metrics"]
    assert abs(metrics["kmex_accuracy"] - metrics["cnn_accuracy"]) <= 0.01
    assert metrics["cos_class_kmex"] > metrics["cos_class_cnn"] and {"b4_accuracy", "b234_accuracy"} <= set(metrics)


@pytest.mark.slow
def test_eval_recomputes_the_acceptance_figures(shipped):
    from interp_core.store.models import evaluate_recipe

    metrics = evaluate_recipe("kmex-sounds")
    stored = shipped[0].meta["test_metrics"]
    assert {k: pytest.approx(v, abs=1e-6) for k, v in stored.items()} == {k: metrics[k] for k in stored}
