"""KMEx post-hoc prototypes: k-means, prototypes, encoder maps, attribution, metrics, storage, explainers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_core.methods.kmex import (
    ClassifierSEM,
    EncoderKMEx,
    KMEx,
    KMExModel,
    StaleKMExError,
    classifier_attribution,
    combine_blocks,
    prototype_cosines,
    prototype_palette,
    propagate_attribution,
    segment_average,
)
from interp_core.methods.kmex import projection as projection_module
from interp_core.methods.kmex.fitting import KMExFitter
from interp_core.methods.kmex.kmeans import kmeans
from interp_core.models import build_model
from interp_core.store.card import ModelCard
from tiny_data import tiny_split


def kmex_card(model) -> ModelCard:
    return ModelCard.for_module(model, family="kmex", kind="kmex", num_classes=model.n_classes)


def blobs(n_per_class: int = 60, n_classes: int = 3, per_class: int = 2, dim: int = 4, seed: int = 0):
    """Well-separated blobs: ``per_class`` tight clusters for each class, far apart."""
    gen = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_classes * per_class, dim, generator=gen) * 20
    x, y = [], []
    for c in range(n_classes):
        for m in range(per_class):
            x.append(centers[c * per_class + m] + 0.1 * torch.randn(n_per_class // per_class, dim, generator=gen))
            y.append(torch.full((n_per_class // per_class,), c))
    return torch.cat(x), torch.cat(y), centers


@pytest.fixture(scope="module")
def tiny_fit():
    torch.manual_seed(0)
    cnn = build_model("cnn", in_channels=3, num_classes=3, widths=(4, 6, 8, 10)).eval()
    split = tiny_split()
    fitter = KMExFitter(prototypes_per_class=2, n_init=2, encoder_n_init=1, encoder_images_per_class=6, encoder_pixels_per_image=8)
    fitter.fit(cnn, split)
    return cnn, split, fitter.model_, fitter.stats_


# ----------------------------------------------------------------------------- k-means and KMEx


def test_sklearn_and_torch_kmeans_agree_on_separated_blobs():
    x, _, centers = blobs(n_per_class=90, n_classes=1, per_class=3)
    a = kmeans(x, 3, backend="sklearn", n_init=4, seed=1).centers
    b = kmeans(x, 3, backend="torch", n_init=4, seed=1).centers
    order = lambda c: c[torch.argsort(c[:, 0])]  # noqa: E731
    torch.testing.assert_close(order(a), order(b), atol=1e-4, rtol=0)
    torch.testing.assert_close(order(a), order(centers[:3]), atol=0.1, rtol=0)


def test_torch_kmeans_reseeds_empty_clusters_and_keeps_k_centers():
    # Two distinct values for four clusters: duplicates must not leave NaN centers.
    x = torch.tensor([[0.0, 0.0]] * 5 + [[5.0, 5.0]] * 5 + [[1.0, 1.0], [6.0, 6.0]])
    fit = kmeans(x, 4, backend="torch", n_init=3, seed=0)
    assert fit.centers.shape == (4, 2) and torch.isfinite(fit.centers).all()
    assert fit.inertia < 1.01  # the 4 clusters can isolate both stragglers


def test_kmeans_rejects_bad_requests():
    with pytest.raises(ValueError, match="at least 3 rows"):
        kmeans(torch.zeros(2, 3), 3)
    with pytest.raises(ValueError, match="backend"):
        kmeans(torch.zeros(5, 3), 2, backend="faiss")
    x, y, _ = blobs()
    with pytest.raises(ValueError, match="class 3 has 0 samples"):
        KMEx(2).fit(x, y, n_classes=4)


@pytest.mark.parametrize("backend", ["sklearn", "torch"])
def test_each_class_is_clustered_from_its_own_ground_truth_only(backend):
    x, y, _ = blobs()
    ref = KMEx(2, n_init=3, backend=backend).fit(x, y)
    moved = x.clone()
    moved[y == 2] += 100.0  # changing another class's samples must not move class 0/1 prototypes
    other = KMEx(2, n_init=3, backend=backend).fit(moved, y)
    torch.testing.assert_close(ref.prototypes_[:4], other.prototypes_[:4])
    assert not torch.allclose(ref.prototypes_[4:], other.prototypes_[4:])
    # ... and they are exactly the k-means of the class rows alone, with the class's seed.
    alone = kmeans(x[y == 1], 2, backend=backend, n_init=3, seed=1).centers
    torch.testing.assert_close(ref.prototypes_[2:4], alone)
    assert ref.prototype_classes_.tolist() == [0, 0, 1, 1, 2, 2]
    assert ref.cluster_sizes_.tolist() == [30] * 6


def test_prototypes_are_raw_centroids_not_data_points():
    x, y, _ = blobs()
    est = KMEx(2, n_init=3).fit(x, y)
    for c in range(3):
        rows = x[y == c]
        own = est.prototypes_[2 * c : 2 * c + 2]
        assign = torch.cdist(rows, own).argmin(1)
        for m in range(2):
            torch.testing.assert_close(own[m], rows[assign == m].mean(0), atol=1e-4, rtol=0)
            assert torch.cdist(own[m : m + 1], rows).min() > 1e-3  # not snapped to a sample


def test_nearest_prototype_prediction_matches_brute_force():
    x, y, _ = blobs(seed=3)
    est = KMEx(2, n_init=2).fit(x, y)
    queries = torch.randn(50, 4) * 25
    expected = []
    for q in queries.numpy():
        d = [float(((q - p) ** 2).sum()) for p in est.prototypes_.numpy()]
        expected.append(int(est.prototype_classes_[int(np.argmin(d))]))
    assert est.predict(queries).tolist() == expected
    assert est.predict_scores(queries).argmax(1).tolist() == expected
    sim = est.similarity(queries[:1] * 0 + est.prototypes_[3])
    assert sim[0, 3] == pytest.approx(1.0) and sim.argmax().item() == 3  # exp(-||h - p||^2)


def test_theorem_1_classifier_columns_reproduce_logits():
    torch.manual_seed(0)
    cnn = build_model("cnn", in_channels=3, num_classes=5, widths=(4, 6, 8, 10)).eval()
    x = torch.rand(3, 3, 32, 32)
    h = cnn.block_outputs(x)[-1].flatten(2).transpose(1, 2)
    sem = ClassifierSEM().fit(cnn.classifier)
    torch.testing.assert_close(sem.predict_scores(h), cnn(x), atol=1e-5, rtol=1e-5)


def test_cosine_metric_on_a_2d_toy():
    prototypes = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    classes = torch.tensor([0, 1])
    z = torch.tensor([[3.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]])
    y = torch.tensor([0, 0, 1, 1])
    inside, outside = prototype_cosines(prototypes, classes, z, y)
    s = 1 / np.sqrt(2)
    # class: p0 vs {(3,0), (1,1)} = (1 + s) / 2, p1 vs {(0,1), (-1,0)} = (1 + 0) / 2
    assert inside == pytest.approx(((1 + s) / 2 + 0.5) / 2)
    # out: p0 vs {(0,1), (-1,0)} = (0 - 1) / 2, p1 vs {(3,0), (1,1)} = (0 + s) / 2
    assert outside == pytest.approx((-0.5 + s / 2) / 2)


# ----------------------------------------------------------------------------- encoder (Sec. 3.3)


def test_combine_blocks_upsamples_normalises_and_scales_each_block():
    outputs = [torch.rand(2, 4, 8, 8), torch.rand(2, 6, 4, 4), torch.rand(2, 10, 2, 2)]
    h = combine_blocks(outputs, 2)
    assert h.shape == (2, 16, 4, 4)
    torch.testing.assert_close(h[:, :6].norm(dim=1), torch.full((2, 4, 4), 1 / 6))
    torch.testing.assert_close(h[:, 6:].norm(dim=1), torch.full((2, 4, 4), 1 / 10))
    assert combine_blocks(outputs, 3, "none").norm(dim=1).allclose(torch.ones(2, 2, 2))
    with pytest.raises(ValueError, match="block_scale"):
        combine_blocks(outputs, 2, "max")


def test_encoder_segments_and_eq10_prediction():
    protos = torch.tensor([[0.0, 0.0], [0.0, 10.0], [10.0, 0.0], [10.0, 10.0]])  # classes 0, 0, 1, 1
    est = EncoderKMEx.from_prototypes(4, protos, n_classes=2)
    # 3 locations near class-1 prototypes, 1 near a class-0 prototype.
    feats = torch.tensor([[[9.0, 0.5], [9.0, 9.0]], [[1.0, 9.0], [9.0, 9.0]]]).permute(2, 0, 1).unsqueeze(0)  # (1, D, H, W)
    segments = est.segment(feats)
    assert segments.tolist() == [[[2, 3], [1, 3]]]
    assert est.class_scores(segments).tolist() == [[0.5, 1.5]]  # Eq. 10: mean count per class window
    assert est.predict(feats).tolist() == [1]
    assert est.segment(feats, torch.tensor([0])).tolist() == [[[0, 1], [1, 1]]]


def test_eq11_attribution_scores_one_at_the_prototype_and_averages_to_the_logit():
    torch.manual_seed(1)
    cnn = build_model("cnn", in_channels=3, num_classes=4, widths=(4, 6, 8, 10)).eval()
    x = torch.rand(2, 3, 32, 32)
    h = cnn.block_outputs(x)[-1]
    target = torch.tensor([1, 3])
    att = classifier_attribution(h, cnn.classifier.weight, target)
    w = cnn.classifier.weight[target]
    logits = cnn(x).gather(1, target.view(-1, 1)).squeeze(1)
    # mean_r att * ||c_j||^2 + b_j is the logit (CAM identity).
    torch.testing.assert_close(att.mean((1, 2)) * w.pow(2).sum(1) + cnn.classifier.bias[target], logits, atol=1e-5, rtol=1e-5)
    at_prototype = classifier_attribution(w[0].view(1, -1, 1, 1), cnn.classifier.weight, target[:1])
    assert at_prototype.item() == pytest.approx(1.0)


def test_segment_average_preserves_segment_means():
    gen = torch.Generator().manual_seed(0)
    values = torch.randn(2, 6, 6, generator=gen)
    segments = torch.randint(0, 4, (2, 6, 6), generator=gen)
    out = segment_average(values, segments)
    for n in range(2):
        for s in segments[n].unique():
            mask = segments[n] == s
            assert torch.allclose(out[n][mask], values[n][mask].mean().expand(int(mask.sum())))
    torch.testing.assert_close(out.sum((1, 2)), values.sum((1, 2)))


def test_propagation_is_piecewise_constant_on_the_finest_segments():
    gen = torch.Generator().manual_seed(2)
    att = torch.randn(1, 2, 2, generator=gen)
    coarse = torch.tensor([[[0, 0], [1, 1]]])
    fine = torch.randint(0, 5, (1, 4, 4), generator=gen)
    out = propagate_attribution(att, [coarse, fine])
    step1 = segment_average(att, coarse)
    up = torch.nn.functional.interpolate(step1.unsqueeze(1), size=(4, 4), mode="bilinear", align_corners=False).squeeze(1)
    for s in fine.unique():
        mask = fine[0] == s
        assert torch.allclose(out[0][mask], up[0][mask].mean().expand(int(mask.sum())))


def test_palette_is_fixed_and_distinct():
    a, b = prototype_palette(24, 5), prototype_palette(24, 5)
    assert a.shape == (120, 3) and np.array_equal(a, b) and a.min() >= 0 and a.max() <= 1
    for c in range(24):
        block = a[c * 5 : c * 5 + 5]
        assert len({tuple(np.round(row, 3)) for row in block}) == 5


# ----------------------------------------------------------------------------- fitted model


def test_fit_model_layout_and_nearest_images(tiny_fit):
    cnn, split, model, _ = tiny_fit
    assert model.variants == ("b4", "b34", "b234")
    assert model.buffer("prototypes").shape == (6, 10)
    assert model.buffer("b234_prototypes").shape == (6, 6 + 8 + 10)
    images = model.buffer("prototype_images")
    assert (torch.from_numpy(split.labels)[images] == model.buffer("prototype_classes")).all()
    for v in model.variants:
        labels = torch.from_numpy(split.labels)[model.buffer(f"{v}_patch_images")]
        assert (labels == torch.arange(3).repeat_interleave(2)).all()  # patches come from the prototype's class
        boxes = model.buffer(f"{v}_patch_boxes")
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all() and boxes.max() <= 16


def test_encoder_maps_have_input_resolution_and_follow_eq9(tiny_fit):
    from interp_core.methods.kmex.explainers import KMExB234

    cnn, split, model, _ = tiny_fit
    x = split.inputs(np.arange(4))
    target = torch.tensor([0, 1, 2, 0])
    explainer = KMExB234(model, kmex_card(model))
    out = explainer.compute(x, target, details=True)
    maps, extras = out.maps, out.rows
    torch.testing.assert_close(maps, explainer.attribute(x, target))  # the same maps without details
    assert maps.shape == (4, 16, 16)
    outputs = cnn.block_outputs(x)
    est = model.encoder("b234")
    rows = est.features(outputs).flatten(2).transpose(1, 2)
    brute = torch.cdist(rows, est.prototypes_).argmin(-1).view(4, 4, 4)  # block 2 is 4x4 for a 16x16 input
    for i, extra in enumerate(extras):
        assert extra["segments"].shape == (16, 16)
        assert np.array_equal(extra["segments"][::4, ::4], brute[i].numpy())  # nearest upsampling of Eq. 9
        seg = torch.from_numpy(extra["segments"])
        for s in seg.unique():
            assert maps[i][seg == s].unique().numel() == 1  # one attribution per segment
        assert extra["palette"].shape == (6, 3)
        assert sum(p["area"] for p in extra["prototypes"]) == pytest.approx(1.0)
    restricted = KMExB234(model, kmex_card(model), scope="target")
    for i, extra in enumerate(restricted.compute(x, target, details=True).rows):
        assert set(np.unique(extra["segments"]) // 2) == {int(target[i])}


def test_state_round_trips_through_safetensors_and_refuses_other_backbones(tiny_fit, tmp_path):
    from interp_core.store.checkpoint import load_checkpoint, save_checkpoint

    cnn, split, model, _ = tiny_fit
    save_checkpoint(tmp_path / "kmex", model.state_dict(), {})
    state, _ = load_checkpoint(tmp_path / "kmex")
    fresh = KMExModel(cnn, 3, 2, model.variants, dataset="tiny")
    fresh.load_state_dict(state)
    x = split.inputs(np.arange(6))
    torch.testing.assert_close(fresh(x), model(x))
    other = build_model("cnn", in_channels=3, num_classes=3, widths=(4, 6, 8, 10))
    with pytest.raises(StaleKMExError, match="other backbone weights"):
        KMExModel(other, 3, 2, model.variants).load_state_dict(state)


def test_projection_inputs_follow_fig2():
    gen = torch.Generator().manual_seed(0)
    train_z, test_z = torch.rand(12, 3, generator=gen) + 1, torch.rand(4, 3, generator=gen)
    train_y, test_y = np.array([0, 1, 2] * 4), np.array([0, 1, 0, 1])
    weight = torch.randn(3, 3, generator=gen)
    protos, proto_classes = torch.randn(6, 3, generator=gen), torch.arange(3).repeat_interleave(2)
    points, labels, kinds = projection_module.projection_inputs([0, 1], train_z[train_y < 2], train_y[train_y < 2], test_z, test_y, weight, protos, proto_classes)
    counts = {k: int((kinds == i).sum()) for i, k in enumerate(projection_module.KINDS)}
    assert counts == {"train": 8, "test": 4, "classifier": 2, "classifier_rescaled": 2, "kmex": 4}
    assert labels[kinds == 4].tolist() == [0, 0, 1, 1]
    rescaled = points[kinds == 3]
    for row, c in zip(rescaled, (0, 1)):
        assert np.linalg.norm(row) == pytest.approx(float(train_z[train_y == c].norm(dim=1).mean()), rel=1e-5)
        cos = row @ weight[c].numpy() / (np.linalg.norm(row) * weight[c].norm().item())
        assert cos == pytest.approx(1.0, abs=1e-5)  # same direction as c_j


def test_projection_cache_returns_identical_arrays_without_recomputing(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    monkeypatch.setattr(projection_module, "_MEMORY", {})
    calls = []

    def compute():
        calls.append(1)
        return {"points": np.random.default_rng(len(calls)).random((5, 2)).astype(np.float32)}

    first = projection_module._cached("abc", compute)["points"]
    projection_module._MEMORY.clear()  # force the disk copy, as in a new process
    second = projection_module._cached("abc", compute)["points"]
    assert len(calls) == 1 and np.array_equal(first, second)


@pytest.mark.slow
def test_umap_2d_cache_hit_is_identical_and_not_refitted(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    points, _, _ = blobs(n_per_class=40, n_classes=3)
    first = projection_module.umap_2d(points.numpy(), n_neighbors=10)
    projection_module._MEMORY.clear()

    def refit(*args, **kwargs):
        raise AssertionError("the cached projection was computed again")

    monkeypatch.setattr("umap.UMAP", refit)
    second = projection_module.umap_2d(points.numpy(), n_neighbors=10)
    assert first.shape == (120, 2) and np.array_equal(first, second)


# ----------------------------------------------------------------------------- store and registry


@pytest.fixture
def tiny_recipes(tmp_path, monkeypatch):
    from interp_core.methods.kmex.recipes import KMExRecipe
    from interp_core.methods.standard.recipes import ClassifierRecipe
    from interp_core.store import models as store_models
    from interp_core.store.recipes import RECIPES, get_recipe, register_recipe

    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    get_recipe("kmex-shapes")  # load the providers before adding test recipes
    backbone = register_recipe(ClassifierRecipe(
        name="test-kmex-cnn", dataset="digits", family="standard", arch="cnn", arch_kwargs={"widths": (4, 8, 8, 12), "first_stride": 1},
        epochs=1, batch_size=64, lr=5e-3,
    ))
    kmex = register_recipe(KMExRecipe(
        name="test-kmex-digits", dataset="digits", family="kmex", backbone="test-kmex-cnn", n_init=2, encoder_n_init=1,
        encoder_images_per_class=8, encoder_pixels_per_image=16,
    ))
    yield backbone, kmex
    for name in ("test-kmex-cnn", "test-kmex-digits"):
        RECIPES.unregister(name)
    for key in [k for k in store_models._LOADED if k[0].startswith("test-kmex")]:
        store_models._LOADED.pop(key)


def test_recipe_fits_caches_and_evaluates_through_the_store(tiny_recipes):
    from interp_core.methods import get_explainer
    from interp_core.store import evaluate_recipe, load_model
    from interp_core.store import models as store_models

    loaded = load_model("test-kmex-digits", "cpu", show_bar=False)
    assert loaded.source == "trained" and isinstance(loaded.model, KMExModel)
    assert set(loaded.model.state_dict()) == set(loaded.model.kmex_state.state_dict())  # no backbone copy
    metrics = evaluate_recipe("test-kmex-digits", "cpu")
    for key in ("cnn_accuracy", "kmex_accuracy", "b4_accuracy", "b234_accuracy", "cos_class_cnn", "cos_out_cnn", "cos_class_kmex", "cos_out_kmex"):
        assert 0 <= abs(metrics[key]) <= 1, key
    assert metrics["cos_class_kmex"] > metrics["cos_out_kmex"]

    for key in [k for k in store_models._LOADED if k[0] == "test-kmex-digits"]:
        store_models._LOADED.pop(key)  # forget the in-memory model, as a new process would
    again = load_model("test-kmex-digits", "cpu", train_if_missing=False)
    assert again.source == "cache"
    torch.testing.assert_close(again.model.buffer("b234_prototypes"), loaded.model.buffer("b234_prototypes"))

    explanation = get_explainer("kmex-b4", again).explain(torch.rand(1, 28, 28), [3])[0]
    assert explanation.attribution.shape == (28, 28) and explanation.segments.shape == (28, 28)
    assert explanation.panels == ("heatmap", "segments") and explanation.palette.shape == (50, 3)
    patches = again.model.representative_patches("b234", classes=[3])
    assert [p.label for p in patches] == [3] * 5 and all(p.patch.shape[-1] == 1 for p in patches)


def test_kmex_explainers_explain_only_kmex_models_and_never_guess_a_fitted_state(tiny_recipes):
    """A plain CNN (even the exact backbone of a KMEx recipe) is not a KMEx model: the explainers refuse it
    from its card, so Compare never pairs them with a classifier, let alone one of another dataset."""
    from interp_core.methods import UnsupportedModelError, get_explainer
    from interp_core.methods.kmex.explainers import KMExB4
    from interp_core.store import load_model

    backbone = load_model("test-kmex-cnn", "cpu", show_bar=False)
    assert not KMExB4.supports(backbone.card)
    with pytest.raises(UnsupportedModelError):
        get_explainer("kmex-b4", backbone)
    fitted = load_model("test-kmex-digits", "cpu", show_bar=False)
    assert KMExB4.supports(fitted.card) and fitted.card.family == "kmex" and fitted.card.dataset == "digits"
    audio = ModelCard("x", "kmex", "kmex", "sounds", "audio", "softmax", ("a", "b"), (1, 8, 8), "0")
    assert KMExB4.supports(audio)  # a KMEx model of a spectrogram CNN: prototypes over time-frequency cells
    assert not KMExB4.supports(ModelCard("y", "standard", "classifier", "sounds", "audio", "softmax", ("a", "b"), (1, 8, 8), "0"))
