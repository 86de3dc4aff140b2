"""The Q-SENN view's galleries (interp_core.methods.qsenn.views): a feature's most activating training images
are computed once from the training split, then read from the result cache (or the shipped copy) without it."""
from __future__ import annotations

import numpy as np
import pytest

from interp_core.store.catalog import ready_models

pytestmark = pytest.mark.skipif("qsenn-shapes" not in ready_models(), reason="needs the shipped qsenn-shapes checkpoint")


@pytest.fixture()
def empty_cache(tmp_path, monkeypatch):
    """qsenn-shapes and its training split loaded from the usual cache, then an empty result cache and no
    shipped results (the training features excepted: computing them is not what is tested here)."""
    from interp_core.data import load_split
    from interp_core.methods.qsenn import naming
    from interp_core.store import shipped_results
    from interp_core.store.models import load_model

    loaded = load_model("qsenn-shapes", train_if_missing=False, show_bar=False)
    train = load_split("shapes", "train")
    features, named = naming.training_features(loaded), naming.feature_naming(loaded)
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    monkeypatch.setattr(shipped_results, "SHIPPED_RESULTS", tmp_path / "shipped")
    monkeypatch.setattr(naming, "training_features", lambda model: features)
    monkeypatch.setattr("interp_core.methods.qsenn.views.training_features", lambda model: features)
    return loaded, train, features, named


def test_a_gallery_is_computed_once_then_read_without_the_training_split(empty_cache, monkeypatch):
    from interp_core.methods.qsenn import views

    loaded, train, features, naming = empty_cache
    c = 3
    j = loaded.model.class_features(c)[0]
    gallery = views.feature_gallery(loaded, c, j)
    pool = np.flatnonzero(train.labels == c)
    assert gallery["indices"].tolist() == pool[np.argsort(-features[pool, j], kind="stable")[:5]].tolist()
    assert gallery["images"].shape == (5, 64, 64, 3) and gallery["images"].dtype == np.uint8
    # The class view's gallery of the same feature ranks every training image, not only the class's.
    assert views.class_features(loaded, naming, c)[0].indices == np.argsort(-features[:, j], kind="stable")[:5].tolist()
    assert np.array_equal(views.training_labels(loaded), train.labels)

    monkeypatch.setattr("interp_core.data.load_split", lambda *a, **k: pytest.fail("the training split was loaded"))
    assert views.class_features(loaded, naming, c)[0].indices == np.argsort(-features[:, j], kind="stable")[:5].tolist()
    cell = views.feature_on_class(loaded, naming, c, j)
    view = cell["view"]
    assert view.indices == gallery["indices"].tolist()
    # Shown enlarged by whole pixels (64 -> 128 for the default 96-pixel display), the cached pictures exactly.
    assert all(np.array_equal(shown[::2, ::2], cached) for shown, cached in zip(view.images, gallery["images"]))
    # The class statistics come from the cached training labels.
    assert cell["class_mean"] == pytest.approx(float(features[train.labels == c, j].mean()))
    assert cell["other_mean"] == pytest.approx(float(features[train.labels != c, j].mean()))


def test_every_class_of_the_shipped_weights_is_shown_without_the_training_split(tmp_path, monkeypatch):
    """A class change on the shipped qsenn-shapes reads every feature's gallery from the shipped results (the
    warm-up's next step ships them all): in an empty cache, no class's features generate the training split."""
    from interp_core.evaluation.models import loaded as load
    from interp_core.methods.qsenn import views

    loaded = load("qsenn-shapes")
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    monkeypatch.setattr("interp_core.data.load_split", lambda *a, **k: pytest.fail("the training split was loaded"))
    naming = views.naming_for(loaded, views.DEFAULT_CLIP)
    shown = [views.class_features(loaded, naming, c) for c in range(loaded.info.num_classes)]
    assert [[f.feature for f in features] for features in shown] == [list(loaded.model.class_features(c)) for c in range(len(shown))]
    assert all(len(f.indices) == 5 and len(f.images) == 5 for features in shown for f in features)
    assert not any(tmp_path.rglob("gallery-*.npz"))  # read from the shipped copies, nothing computed


def test_a_gallery_strip_holds_its_images_left_to_right_with_their_caption():
    import numpy as np

    from interp_core.methods.qsenn.figures import gallery_caption, gallery_strip

    images = [np.full((6, 5, 3), 40 * k, dtype=np.uint8) for k in range(5)]
    picture = gallery_strip(images, pad=4)
    assert picture.shape == (6 + 8, 5 * (5 + 4) + 4, 3)
    for k in range(5):
        assert (picture[4:10, 4 + k * 9: 4 + k * 9 + 5] == 40 * k).all()
    assert gallery_caption([7, 3]) == "training images #7 · #3 (left to right)"
