"""What the Q-SENN view shows, computed here so the page only lays it out.

- :func:`class_features`: one class's features (Fig. 1): sign, names with their alignment values, the most
  activating training images with colour-coded feature-map overlays.
- :func:`feature_on_class`: what a clicked cell of the decision layer shows.
- :func:`explain_local`: one input, its predicted class and a second class: each feature's activation x
  weight and its map over the input.
- :func:`qsenn_tables`: Tables 1/4 (dense, glm-saga5, SLDD, Q-SENN).

The naming of features is :mod:`interp_core.methods.qsenn.naming`; the pictures and charts are
:mod:`interp_core.methods.qsenn.figures`. Everything slow is in the one result cache, keyed on the models'
recipe hashes and weights fingerprints: retrained weights never reuse old results.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from interp_core.io import stable_key
from interp_core.methods.clip.alignment import FeatureNaming
from interp_core.methods.qsenn.figures import (  # noqa: F401 (the view's figures, re-exported for the page)
    CLASS_FEATURE_FORMATS,
    TABLE6_FORMATS,
    TABLES14_FORMATS,
    certainty_figure,
    class_features_table,
    clicked_cell,
    contribution_figure,
    difference_figure,
    feature_caption,
    feature_colors,
    feature_order,
    feature_overlay,
    feature_title,
    gallery_caption,
    gallery_strip,
    matrix_figure,
    upsample_maps,
)
from interp_core.methods.qsenn.naming import (  # noqa: F401 (re-exported for the page)
    CACHE_KIND,
    ClipChoice,
    attribute_strength,
    concept_prompts_for,
    feature_naming,
    has_concept_prompts,
    training_features,
    training_labels,
)
from interp_core.store.results import result_dir
from interp_core.store.shipped_results import shipped_or_cached_arrays
from interp_core.visualize import display_scale, enlarge

#: The rows of Tables 1/4: label and the prefix of their keys in ``eval qsenn-<dataset>``.
TABLE_ROWS = (("Dense", "dense_"), ("glm-saga5", "glm_saga5_"), ("SLDD", "sldd_"), ("Q-SENN", ""))
#: The columns of Tables 1/4 (metric key, label).
TABLE_COLUMNS = (("accuracy", "accuracy"), ("n_features", "total features"), ("nonzero_per_class", "features / class"),
                 ("diversity_at_5", "diversity@5"), ("dependence", "dependence γ"), ("alignment_r", "alignment r"),
                 ("binary_features", "binary features"))


@torch.no_grad()
def _maps_of(loaded, split, indices: Sequence[int], feature: int) -> np.ndarray:
    x = split.inputs(list(indices)).to(loaded.device)
    maps = loaded.model.feature_maps(x)[:, feature].cpu()
    return upsample_maps(maps, tuple(x.shape[-2:]))


@dataclass
class FeatureView:
    """One feature of one class as the view shows it: ``weight`` (W_cj), ``sign`` ("+" or "−"), its best
    CLIP label with A_clip value (``clip_value``) and ``clip_strength`` (that value over the largest of any
    feature, clipped to [0, 1]; ``weak`` when it lies in Fig. 6's lowest bin), its best attribute label with A_gt
    value and ``attribute_r`` (Eq. 10's per-feature term), ``n_classes`` using it, ``color``, and its
    ``images`` (most activating training images with the overlay) with their training ``indices``."""

    feature: int
    weight: float
    sign: str
    clip_label: str | None
    clip_value: float | None
    clip_strength: float | None
    weak: bool
    attribute_label: str
    attribute_value: float
    attribute_r: float
    n_classes: int
    color: str
    images: list[np.ndarray] = field(repr=False, default_factory=list)
    indices: list[int] = field(default_factory=list)


def _weak_features(naming: FeatureNaming) -> set[int]:
    return set(naming.bins[0]["features"]) if len(naming.bins) > 1 else set()


def feature_gallery(loaded, c: int | None, feature: int, *, top: int = 5) -> dict[str, np.ndarray]:
    """Feature ``feature``'s ``top`` most activating training images (of class ``c`` only; None: of any
    class) with its colour-coded map laid over them: ``indices`` ``(top,)`` and ``images`` ``(top, H, W, 3)``
    uint8 at input size. The overlays share one scale (the largest map value among them), so weaker
    activations look weaker. Cached on disk, and shipped for the view's default selection
    (:mod:`interp_core.store.shipped_results`): the training split is generated only for a gallery never
    shown before."""
    from interp_core.data import load_split

    color = feature_colors(loaded.model.n_features)[feature]

    def compute() -> dict[str, np.ndarray]:
        train = load_split(loaded.recipe.dataset, "train")
        values = training_features(loaded)[:, feature]
        pool = np.flatnonzero(train.labels == c) if c is not None else np.arange(len(values))
        indices = pool[np.argsort(-values[pool], kind="stable")[:top]].tolist()
        maps = _maps_of(loaded, train, indices, feature)
        images = [feature_overlay(train.inputs([i])[0], m, color, vmax=float(maps.max())) for i, m in zip(indices, maps)]
        return {"indices": np.asarray(indices, dtype=np.int64), "images": np.stack(images)}

    # The colour is part of the key: the pictures are drawn in it.
    key = stable_key({"class": None if c is None else int(c), "feature": int(feature), "top": int(top), "color": color})
    return shipped_or_cached_arrays(result_dir(CACHE_KIND, loaded) / f"gallery-{key}.npz", compute)


def feature_view(loaded, naming: FeatureNaming, c: int | None, feature: int, *, top: int = 5, display: int = 96,
                 within_class: bool = False) -> FeatureView:
    """Feature ``feature`` (for class ``c``; None: no class) with its ``top`` most activating training images
    (of class ``c`` only when ``within_class``), each with the colour-coded map (:func:`feature_gallery`),
    enlarged to about ``display`` pixels."""
    gallery = feature_gallery(loaded, c if within_class else None, feature, top=top)
    scale = display_scale(gallery["images"].shape[2], display)
    weight = loaded.model.decision_weight.detach().cpu()
    w = float(weight[c, feature]) if c is not None else 0.0
    clip_max = float(naming.clip_value.max()) if len(naming.clip_value) else 1.0
    return FeatureView(
        feature, w, "+" if w > 0 else ("−" if w < 0 else "0"), naming.clip_label[feature], float(naming.clip_value[feature]),
        float(np.clip(naming.clip_value[feature] / clip_max, 0, 1)) if clip_max > 0 else 0.0, feature in _weak_features(naming),
        naming.attribute_label[feature], float(naming.attribute_value[feature]), float(attribute_strength(loaded, naming)[feature]),
        int((weight[:, feature] != 0).sum()), feature_colors(loaded.model.n_features)[feature],
        [enlarge(image, scale) for image in gallery["images"]], gallery["indices"].tolist())


def class_features(loaded, naming: FeatureNaming, c: int, *, top: int = 5, display: int = 96) -> list[FeatureView]:
    """Fig. 1's global explanation of class ``c``: each feature with a non-zero weight (largest |W| first)
    shown through its most activating training images."""
    return [feature_view(loaded, naming, c, j, top=top, display=display) for j in loaded.model.class_features(c)]


def feature_on_class(loaded, naming: FeatureNaming, c: int, feature: int, *, top: int = 5, display: int = 96) -> dict[str, Any]:
    """What a clicked matrix cell shows: the feature's weight for the class, its most activating training
    images *of that class*, and its mean activation on the class's training images against all others."""
    view = feature_view(loaded, naming, c, feature, top=top, display=display, within_class=True)
    labels = training_labels(loaded)
    values = training_features(loaded)[:, feature]
    return {"view": view, "class_mean": float(values[labels == c].mean()), "other_mean": float(values[labels != c].mean())}


def named_class_features(loaded, clip: tuple, c: int) -> list[FeatureView]:
    """:func:`class_features` with the features named by ``ClipChoice(*clip)`` (the page's cacheable call)."""
    return class_features(loaded, feature_naming(loaded, ClipChoice(*clip)), c)


def named_feature_on_class(loaded, clip: tuple, c: int, feature: int) -> dict[str, Any]:
    """:func:`feature_on_class` with the features named by ``ClipChoice(*clip)``."""
    return feature_on_class(loaded, feature_naming(loaded, ClipChoice(*clip)), c, feature)


def naming_for(loaded, clip: tuple) -> FeatureNaming:
    """:func:`feature_naming` by ``ClipChoice(*clip)``."""
    return feature_naming(loaded, ClipChoice(*clip))


@dataclass
class LocalView:
    """One input explained for one class: its ``logit`` and ``probability``, per feature ``contributions``
    (W_cj z_j, sum with ``bias`` to the logit), ``activations`` z, ``class_features`` (W_cj != 0, largest
    |contribution| first), each of those features' map over the input (``overlays``) and the whole
    attribution map over the input (``attribution``), with its values ``attribution_map`` ``(H, W)``/``(F, T)``.
    Pictures of sounds are in the spectrogram's orientation (low frequencies at the bottom)."""

    target: int
    logit: float
    probability: float
    contributions: np.ndarray
    activations: np.ndarray
    weights: np.ndarray
    bias: float
    class_features: list[int]
    overlays: dict[int, np.ndarray] = field(repr=False, default_factory=dict)
    attribution: np.ndarray | None = field(repr=False, default=None)
    attribution_map: np.ndarray | None = field(repr=False, default=None)


@torch.no_grad()
def predictions(loaded, x: torch.Tensor) -> np.ndarray:
    """Class probabilities ``(C,)`` of one input ``x`` ``(C, H, W)``."""
    logits = loaded.model(x.unsqueeze(0).to(loaded.device))
    return loaded.card.probabilities(logits)[0].cpu().numpy()


def explain_local(loaded, x: torch.Tensor, classes: Sequence[int], *, display: int = 160) -> list[LocalView]:
    """The ``qsenn`` explainer's explanation of ``x`` for each class in ``classes`` (one pass), with the
    class features' colour-coded maps over the input (one scale for all, so maps compare)."""
    from interp_core.methods.base import get_explainer
    from interp_core.visualize import heatmap_overlay, image_to_uint8

    explanations = get_explainer("qsenn", loaded).explain(x, [int(c) for c in classes])
    probs = predictions(loaded, x)
    maps = upsample_maps(explanations[0].extras["feature_maps"], tuple(x.shape[-2:]))
    colors = feature_colors(loaded.model.n_features)
    scale = display_scale(x.shape[-1], display)
    # A spectrogram's row 0 is its lowest frequency: its pictures are flipped to put it at the bottom, as
    # every other picture of a sound is drawn (interp_core.visualize.spectrogram_image).
    upright = (lambda picture: picture[::-1].copy()) if loaded.card.modality == "audio" else (lambda picture: picture)
    views = []
    for e in explanations:
        used = e.extras["class_features"]
        vmax = float(maps[used].max()) if used else 1.0
        views.append(LocalView(
            e.target, float(e.score) if e.score is not None else float(np.sum(e.contributions) + e.extras["bias"]),
            float(probs[e.target]), np.asarray(e.contributions), np.asarray(e.extras["activations"]), np.asarray(e.extras["weights"]),
            float(e.extras["bias"]), list(used),
            {j: upright(feature_overlay(x, maps[j], colors[j], vmax=vmax, scale=scale)) for j in used},
            upright(enlarge(heatmap_overlay(image_to_uint8(x), e.attribution.numpy()), scale)), e.attribution.numpy()))
    return views


def qsenn_recipes() -> list[str]:
    """Q-SENN family models with a sparse decision layer and a checkpoint on disk whose features CLIP can
    name (datasets with concept prompts), Q-SENN's first."""
    from interp_core.store.catalog import ready_models
    from interp_core.store.recipes import get_recipe

    ready = [get_recipe(n) for n in ready_models(kind="qsenn") if has_concept_prompts(get_recipe(n).dataset)]
    return [r.name for r in sorted(ready, key=lambda r: (getattr(r, "method", "") != "qsenn",))]


def _table_models(dataset: str) -> tuple[str, ...]:
    from interp_core.store.recipes import get_recipe

    name = f"qsenn-{dataset}"
    recipe = get_recipe(name)
    return (name, recipe.dense, *recipe.compare)


def tables_key(dataset: str) -> str:
    """What Tables 1/4 of ``qsenn-<dataset>`` depend on: the recipe hashes and weights fingerprints of its
    four models (a page caches the tables under it)."""
    from interp_core.io import stable_key
    from interp_core.store.catalog import checkpoint_fingerprint
    from interp_core.store.recipes import get_recipe, recipe_hash

    return stable_key([(n, recipe_hash(get_recipe(n)), checkpoint_fingerprint(n)) for n in _table_models(dataset)])


def _tables_path(dataset: str):
    from interp_core.paths import cache_subdir

    return cache_subdir("qsenn_tables") / f"qsenn-{dataset}-{tables_key(dataset)}.json"


def tables_cached(dataset: str) -> bool:
    """Whether :func:`qsenn_tables` of ``dataset`` is on disk for today's weights (so showing it is instant)."""
    from interp_core.store.results import cached_json

    return cached_json(_tables_path(dataset), None) is not None


def qsenn_tables(dataset: str) -> dict[str, Any]:
    """Tables 1/4 for ``dataset``: rows Dense, glm-saga5, SLDD and Q-SENN from ``eval qsenn-<dataset>``
    (computed now, cached under the four models' fingerprints). Returns ``rows`` (one dict per model:
    ``model`` and every :data:`TABLE_COLUMNS` key), ``missing`` recipes, and the raw ``metrics``."""
    from interp_core.store.models import evaluate_recipe
    from interp_core.store.results import cached_json

    metrics = cached_json(_tables_path(dataset), lambda: {"metrics": evaluate_recipe(f"qsenn-{dataset}")})["metrics"]
    rows = []
    for label, prefix in TABLE_ROWS:
        if f"{prefix}accuracy" not in metrics:
            continue
        rows.append({"model": label, **{key: metrics.get(prefix + key) for key, _ in TABLE_COLUMNS}})
    return {"dataset": dataset, "rows": rows, "missing": list(metrics.get("missing", [])), "metrics": metrics}


#: The page's default naming model (``app.clip_widgets.DEFAULT_CLIP``): our ``clip-shapes``.
DEFAULT_CLIP = ("clip-shapes", None, None, None)


def warm_up(context) -> None:
    """The Q-SENN view's default selection, warmed at server start (:mod:`interp_core.evaluation.warmup`): the
    first ready Q-SENN model's features named by ``clip-shapes``, the first class through its features, the
    decision layer's default cell, and the local explanation of the first test sample it gets right (its
    prediction against the runner-up); and once every view's default selection is warm, every feature's gallery
    (another class's features; they ship: :func:`all_feature_galleries`) and the training split, which a clicked
    cell's within-class gallery is drawn from (generated into the disk cache by a background process)."""
    names = qsenn_recipes()
    if not names:
        return
    name = names[0]
    loaded = context.model(name)
    naming = context.result(naming_for, name, DEFAULT_CLIP)
    context.result(named_class_features, name, DEFAULT_CLIP, 0)
    context.chart(matrix_figure(loaded, naming))
    order = feature_order(loaded.model.decision_weight.detach())
    context.result(named_feature_on_class, name, DEFAULT_CLIP, 0, int((loaded.model.class_features(0) or order)[0]))
    x = context.sample(loaded.recipe.dataset, name).x
    ranked = [int(i) for i in context.result(predictions, name, x).argsort()[::-1]]
    a, b = context.result(explain_local, name, x, (ranked[0], ranked[1]))
    names = loaded.info.class_names
    for view in (a, b):  # the charts as the page draws them (pictures 560 pixels wide in its two columns)
        context.chart(contribution_figure(view, naming, names[view.target]), 560)
    context.chart(difference_figure(a, b, naming, names))
    context.chart(certainty_figure(naming))
    dataset = loaded.recipe.dataset
    context.later("drawing every feature's gallery", lambda: all_feature_galleries(loaded))
    context.later(f"preparing the {dataset} train split", lambda: context.background("interp_core.data:load_split", dataset, "train"))


def all_feature_galleries(loaded) -> None:
    """Every feature's gallery over all classes (:func:`feature_gallery`): what another class's features show.
    They ship with the shipped weights (``ship-results`` runs the warm-up's next steps), so a class change needs
    no training split; for other weights they are computed once and cached on disk."""
    for feature in range(loaded.model.n_features):
        feature_gallery(loaded, None, feature)
