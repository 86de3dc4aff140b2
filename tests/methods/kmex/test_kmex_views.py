"""What the Prototypes view shows, computed by ``interp_core.methods.kmex.views`` on a tiny fitted model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from types import SimpleNamespace

from interp_core.methods.kmex import KINDS, Projection, evaluate_kmex, views
from interp_core.methods.kmex.fitting import KMExFitter
from interp_core.store.card import ModelCard
from interp_core.visualize import segment_overlay
from interp_core.methods.kmex import projection as projection_module
from interp_core.models import build_model
from tiny_data import tiny_split


@pytest.fixture(scope="module")
def fitted():
    torch.manual_seed(0)
    cnn = build_model("cnn", in_channels=3, num_classes=3, widths=(4, 6, 8, 10)).eval()
    train, test = tiny_split(12, 0), tiny_split(5, 1)
    fitter = KMExFitter(prototypes_per_class=2, n_init=2, encoder_n_init=1, encoder_images_per_class=6, encoder_pixels_per_image=8)
    return cnn, train, test, fitter.fit(cnn, train).model_


def as_loaded(model):
    """The model with its card, as the store hands it out."""
    return SimpleNamespace(model=model, card=ModelCard.for_module(model, family="kmex", kind="kmex", num_classes=model.n_classes))


def test_predictions_are_each_models_own_decision(fitted):
    cnn, train, test, model = fitted
    for i in range(len(test)):
        x = test.inputs([i])
        shown = {p.model: p for p in views.kmex_predictions(model, x[0])}
        assert list(shown) == ["CNN", "KMEx", "B4", "B234"]
        probs = cnn(x).softmax(1)[0].detach()
        assert shown["CNN"].label == int(probs.argmax()) and shown["CNN"].score == pytest.approx(float(probs.max()), abs=1e-6)
        assert shown["KMEx"].label == int(model(x).argmax())
        for v in ("b4", "b234"):
            result = model.explain_encoder(x, v)
            label = int(result.prediction[0])
            assert shown[v.upper()].label == label
            own = result.segments[0] // model.prototypes_per_class == label  # locations on the predicted class's prototypes
            assert shown[v.upper()].score == pytest.approx(float(own.float().mean()), abs=1e-6)


def test_segment_overlay_tints_by_palette_and_draws_borders():
    x = torch.zeros(3, 4, 4)
    segments = np.zeros((4, 4), dtype=np.int64)
    segments[:, 2:] = 1
    palette = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    out = segment_overlay(x, segments, palette, alpha=1.0, scale=3)
    assert out.shape == (12, 12, 3) and out.dtype == np.uint8
    assert (out[:, :5] == [255, 0, 0]).all() and (out[:, 6:] == [0, 0, 255]).all()
    assert (out[:, 5] == 26).all()  # the border between the two segments, 1 display pixel wide


def test_patch_in_context_frames_in_the_prototype_colour():
    image = torch.full((3, 8, 8), 0.5)
    out = views.patch_in_context(image, (2, 2, 6, 6), (0.0, 1.0, 0.0), scale=4, frame=3)
    assert out.shape == (8 * 4 + 6, 8 * 4 + 6, 3)
    assert (out[0] == [0, 255, 0]).all() and (out[:, -1] == [0, 255, 0]).all()  # frame
    assert (out[3 + 8, 3 + 12] == [0, 255, 0]).all()  # box outline (top edge of the box, inside it)
    assert (out[3 + 14, 3 + 14] == 128).all()  # inside the box: the image untouched
    assert (out[3 + 1, 3 + 1] == 51).all()  # outside the box: dimmed


def test_explain_sample_matches_the_explainers_with_a_consistent_legend(fitted):
    from interp_core.methods import get_explainer

    _, train, test, model = fitted
    x = test.inputs([4])[0]
    result = views.explain_sample(as_loaded(model), x, target=2, train=train, top=3, display=64)
    assert [v.title for v in result] == ["B4", "B234"]
    for view in result:
        explanation = get_explainer(f"kmex-{view.variant}", as_loaded(model)).explain(x, [2])[0]
        assert view.target == 2 and view.prediction == explanation.extras["prediction"]
        np.testing.assert_array_equal(view.attribution_map, explanation.attribution.numpy())
        assert view.segments.shape == view.attribution.shape == (64, 64, 3)  # 16 px enlarged 4x
        biggest = explanation.extras["prototypes"][:3]
        assert [e.prototype for e in view.legend] == [p["index"] for p in biggest]
        for entry in view.legend:
            color = model.palette[entry.prototype]
            assert entry.color == views.hex_color(color) and entry.label == entry.prototype // model.prototypes_per_class
            assert (entry.image[0, 0] == np.round(color * 255)).all()  # framed in the map's colour
            patch = model.representative_patches(view.variant, [entry.label], train)[entry.prototype % model.prototypes_per_class]
            assert train.labels[patch.image_index] == entry.label  # a training patch of the prototype's class
        # the picture is the explainer's own segment map in the model's palette
        np.testing.assert_array_equal(view.segments, segment_overlay(x, explanation.segments, model.palette, scale=4))


def test_tables_hold_evaluate_kmex_numbers_on_a_class_balanced_train_sample(fitted):
    _, train, test, model = fitted
    tables = views.kmex_tables(model, train, test, train_sample=12)
    assert tables.n_train == 12 and tables.n_test == len(test)
    rng = np.random.default_rng(0)  # seeded, 4 images of every class
    index = np.concatenate([np.sort(rng.choice(np.flatnonzero(train.labels == c), 4, replace=False)) for c in range(3)])
    expected = evaluate_kmex(model, train.subset(index), test)
    assert [r["model"] for r in tables.accuracies] == ["CNN", "KMEx (K/C=2)", "B4", "B234"]
    assert [(r["train"], r["test"]) for r in tables.accuracies] == [
        (expected[f"{k}_train_accuracy"], expected[f"{k}_accuracy"]) for k in ("cnn", "kmex", "b4", "b234")]
    assert [r["prototypes"] for r in tables.cosines] == ["CNN classifier columns c_j", "KMEx (K/C=1)", "KMEx (K/C=2)"]
    assert [v for r in tables.cosines for v in (r["class"], r["out"])] == pytest.approx(
        [expected[f"cos_{side}_{k}"] for k in ("cnn", "kmex1", "kmex") for side in ("class", "out")])
    whole = views.kmex_tables(model, train, test, train_sample=None)
    assert whole.n_train == len(train)
    assert whole.accuracies[0]["train"] == pytest.approx(float((model.classifier(model.embed(train.inputs(np.arange(len(train))))).argmax(1).numpy() == train.labels).mean()))


def test_projection_sources_name_the_image_behind_every_point(fitted, monkeypatch):
    """Run the real projection with embeddings that spell each image's index and an identity 'UMAP', so
    every point's coordinates say which image it is."""
    _, train, test, model = fitted
    splits = {"train": train, "test": test}

    def spelled(m, split, index):
        z = torch.zeros(len(index), m.classifier.in_features)
        z[:, 0] = torch.as_tensor(np.asarray(index), dtype=torch.float32)
        z[:, 1] = 0.0 if split is train else 1.0
        return z

    monkeypatch.setattr("interp_core.data.load_split", lambda name, split: splits[split])
    monkeypatch.setattr(projection_module, "embed_split", spelled)
    monkeypatch.setattr(projection_module, "umap_2d", lambda points, **kw: np.asarray(points)[:, :2].copy())
    projection = projection_module.compute_projection(model, "tiny", [0, 2], train_per_class=3, n_neighbors=5, min_dist=0.1, seed=4)
    sources = views.projection_sources(projection, train.labels, test.labels, model.buffer("prototype_classes"), train_per_class=3, seed=4)
    for kind, split_flag in (("train", 0.0), ("test", 1.0)):
        rows = projection.kinds == KINDS.index(kind)
        assert np.array_equal(sources[rows], projection.points[rows, 0].astype(int))
        assert (projection.points[rows, 1] == split_flag).all()
        assert np.array_equal(splits[kind].labels[sources[rows]], projection.labels[rows])
    assert sources[projection.kinds == KINDS.index("kmex")].tolist() == [0, 1, 4, 5]
    assert sources[projection.kinds == KINDS.index("classifier")].tolist() == [0, 2]
    with pytest.raises(ValueError, match="train_per_class and seed"):
        views.projection_sources(projection, train.labels, test.labels, model.buffer("prototype_classes"), train_per_class=2, seed=4)


def test_projection_figure_marks_kinds_and_carries_the_sources():
    classes = np.array([0, 1])
    kinds = np.array([0, 0, 1, 2, 2, 3, 3, 4, 4, 4])
    labels = np.array([0, 1, 1, 0, 1, 0, 1, 0, 1, 1])
    projection = Projection(classes, np.arange(20, dtype=np.float32).reshape(10, 2), labels, kinds)
    sources = np.array([7, 9, 3, 0, 1, 0, 1, 0, 2, 3])
    figure = views.projection_figure(projection, sources, ["zero", "one"])
    data = [t for t in figure.data if t.x[0] is not None]
    assert len(data) == 9  # every (kind, class) pair present; test has no class-0 point
    symbols = {t.marker.symbol for t in data}
    assert symbols == {"circle", "circle-open", "x", "triangle-up", "square"}
    for trace in data:
        for x, (kind, source) in zip(trace.x, trace.customdata):
            row = int(x) // 2
            assert kinds[row] == kind and sources[row] == source
    assert [t.name for t in data if t.showlegend] == ["zero", "one"]  # one legend entry per class
    only = views.projection_figure(projection, sources, ["zero", "one"], ["kmex"])
    assert {t.marker.symbol for t in only.data if t.x[0] is not None} == {"square"}


def test_point_preview_shows_the_clicked_image(fitted):
    _, train, test, model = fitted
    image, caption = views.point_preview(model, "test", 3, train, test, display=32)
    assert image.shape == (32, 32, 3) and (image[::2, ::2] == (test.inputs([3])[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)).all()
    assert "test image #3" in caption and "c0" in caption
    image, caption = views.point_preview(model, "kmex", 5, train, test, display=16)
    nearest = int(model.buffer("prototype_images")[5])
    assert train.labels[nearest] == 2 and f"#{nearest}" in caption
    image, caption = views.point_preview(model, "classifier", 1, train, test)
    assert image is None and "c1" in caption
    with pytest.raises(ValueError, match="Unknown point kind"):
        views.point_preview(model, "ghost", 0, train, test)


def test_clicked_point_reads_plotly_selections_as_lists_or_typed_arrays():
    assert views.clicked_point([]) is None
    assert views.clicked_point([{"x": 1.0, "y": 2.0}]) is None  # the grey marker key carries no customdata
    assert views.clicked_point([{"customdata": [4, 17]}]) == ("kmex", 17)
    assert views.clicked_point([{"customdata": {"1": 250, "0": 1}}]) == ("test", 250)  # a typed array from the browser


def test_the_view_needs_only_the_training_images_its_prototypes_refer_to(tmp_path, monkeypatch):
    """In an empty cache, the legends of B4/B234 and Fig. 2's sources come from the referenced training images and
    every training label (one small file), and equal what the whole training split gives; Tables 1/2 are computed
    once, then read from disk."""
    from interp_core.evaluation.models import loaded as load
    from interp_core.data import load_split
    from interp_core.methods.kmex import views as kv

    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    model = load("kmex-digits")
    train, test = load_split("digits", "train"), load_split("digits", "test")
    light = kv.referenced_training_split(model)
    assert len(light) == len(train) and (light.labels == train.labels).all()
    from interp_core.store.results import read_arrays

    stored = read_arrays(next(tmp_path.rglob("referenced_train.npz")))
    assert 0 < len(stored["indices"]) < len(train) / 2  # a few images, not the split
    x = test.inputs([0])[0]
    target = int(test.labels[0])
    with_light = kv.explain_sample(model, x, target, light)
    with_full = kv.explain_sample(model, x, target, train)
    for a, b in zip(with_light, with_full):
        assert [e.prototype for e in a.legend] == [e.prototype for e in b.legend]
        for e, f in zip(a.legend, b.legend):
            np.testing.assert_array_equal(e.image, f.image)
    with pytest.raises(IndexError, match="not among those"):
        light.inputs([int(np.setdiff1d(np.arange(len(train)), stored["indices"])[0])])

    calls = []
    monkeypatch.setattr(kv, "kmex_tables", lambda *a, **k: calls.append(1) or kv.KMExTables([{"prototypes": "p", "class": 0.5, "out": 0.1}],
                                                                                              [{"model": "CNN", "train": 1.0, "test": 0.9}], 10, 20, {"m": 1.0}))
    first, again = kv.loaded_tables(model, 100), kv.loaded_tables(model, 100)
    assert calls == [1] and first.n_test == again.n_test == 20 and first.cosines == again.cosines
    import datetime

    assert first.origin == "computed now"  # the page says where its numbers come from
    assert again.origin == f"computed on this machine on {datetime.date.today().isoformat()}"
    assert list(again.cosines[0]) == ["prototypes", "class", "out"] and list(again.accuracies[0]) == ["model", "train", "test"]


def test_the_shipped_tables_say_they_were_shipped(tmp_path, monkeypatch):
    """In an empty cache, kmex-shapes' Tables 1/2 of the default sample come from the shipped file, and say so."""
    from interp_core.evaluation.models import loaded as load
    from interp_core.methods.kmex import views as kv

    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    monkeypatch.setattr(kv, "kmex_tables", lambda *a, **k: pytest.fail("computed although shipped"))
    tables = kv.loaded_tables(load("kmex-shapes"), kv.TABLES_TRAIN_SAMPLE)
    assert tables.origin.startswith("shipped with these weights, computed on 20")
    assert [row["model"] for row in tables.accuracies][:2] == ["CNN", "KMEx (K/C=5)"]
