"""What the Prototypes view shows, computed and drawn here so the page only lays it out.

- :func:`kmex_predictions`: the class predicted by the CNN, KMEx and each encoder variant for one input.
- :func:`explain_sample`: per variant (B4, B234) the explanation map in the prototype palette, the
  gradient-free attribution (Eq. 11 carried up) and a legend of the prototypes in the map with their
  representative training patches framed in the same colours (Fig. 1).
- :func:`kmex_tables`: Table 1 (prototype cosines) and Table 2 (train/test accuracies) as rows.
- :func:`projection_sources`, :func:`projection_figure`, :func:`point_preview`: the interactive Fig. 2
  (plotly), and what a clicked point is (a training or test image, a class column, a prototype).

Images are RGB ``uint8`` ``(H', W', 3)``, enlarged by whole pixels (nearest) so small inputs stay crisp.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from interp_core.data.base import Split
from interp_core.methods.kmex.fitting import class_samples, evaluate_kmex
from interp_core.methods.kmex.training_images import CACHE_KIND, referenced_training_split  # noqa: F401 (re-exported)
from interp_core.methods.kmex.model import KMExModel
from interp_core.methods.kmex.projection import DEFAULT_UMAP, KINDS, Projection, default_classes, select_projection_samples
from interp_core.methods.kmex.listening import upright_box
from interp_core.visualize import (
    class_colors,
    display_scale,
    enlarge,
    heatmap_overlay,
    hex_color,
    image_to_uint8,
    segment_overlay,
    spectrogram_image,
)

#: How Fig. 2 draws each point kind: label, plotly marker symbol, size, opacity.
KIND_STYLES: dict[str, tuple[str, str, int, float]] = {
    "train": ("train embeddings", "circle", 5, 0.75),
    "test": ("test embeddings", "circle-open", 5, 0.35),
    "classifier": ("c_j raw ×", "x", 13, 1.0),
    "classifier_rescaled": ("c_j rescaled to class norm ▲", "triangle-up", 13, 1.0),
    "kmex": ("KMEx prototypes ■", "square", 11, 1.0),
}
VARIANT_TITLES = {"b4": "B4", "b34": "B34", "b234": "B234"}


# ----------------------------------------------------------------------------- predictions


@dataclass(frozen=True)
class ModelPrediction:
    """One model's decision for one input: ``label`` (class index), ``score`` and how to read it in
    ``detail`` (CNN: softmax probability; KMEx: squared distance to the nearest prototype; encoder
    variants: share of the map's locations assigned to the class's prototypes, Eq. 10)."""

    model: str
    label: int
    score: float
    detail: str


@torch.no_grad()
def kmex_predictions(model: KMExModel, x: torch.Tensor, variants: Sequence[str] = ("b4", "b234")) -> list[ModelPrediction]:
    """Predictions of the CNN, KMEx and each encoder variant for one input ``x`` ``(C, H, W)``, from one
    forward pass through the backbone (``model`` in eval mode, as the store hands it out)."""
    device = next(model.parameters()).device
    outputs = model.block_outputs(x.unsqueeze(0).to(device).float())
    z = outputs[-1].mean((2, 3))  # the BlockCNN embedding: global average pool of the last block (Eq. 2)
    probs = model.classifier(z).softmax(1)[0]
    cnn = int(probs.argmax())
    dist = model.kmex.distances(z)[0]
    nearest = int(dist.argmin())
    kmex_label = int(model.kmex.prototype_classes_[nearest])
    out = [
        ModelPrediction("CNN", cnn, float(probs[cnn]), f"p = {float(probs[cnn]):.2f}"),
        ModelPrediction("KMEx", kmex_label, float(dist[nearest]), f"nearest prototype #{nearest} (d² = {float(dist[nearest]):.2f})"),
    ]
    for v in variants:
        result = model.explain_encoder(None, v, outputs=outputs)
        label = int(result.prediction[0])
        # Eq. 10 averages the counts over the class's K/C prototypes; undo that to get a share of locations.
        share = float(result.class_scores[0, label]) * model.prototypes_per_class / result.segments[0].numel()
        out.append(ModelPrediction(VARIANT_TITLES.get(v, v.upper()), label, share, f"{share:.0%} of locations"))
    return out


# ----------------------------------------------------------------------------- maps and legend


def attribution_overlay(x: torch.Tensor, attribution: torch.Tensor | np.ndarray, *, scale: int = 1) -> np.ndarray:
    """Signed attribution ``(H, W)`` (red positive, blue negative) over ``x`` ``(C, H, W)``, enlarged."""
    values = attribution.detach().cpu().numpy() if isinstance(attribution, torch.Tensor) else np.asarray(attribution)
    return enlarge(heatmap_overlay(image_to_uint8(x), values), scale)


def patch_in_context(image: torch.Tensor, box: Sequence[int], color: Sequence[float], *, scale: int = 1, frame: int = 3) -> np.ndarray:
    """A representative patch shown in its training image ``(C, H, W)``: outside ``box`` ``(y0, x0, y1,
    x1)`` dimmed, the box outlined and the whole tile framed in the prototype's ``color``."""
    picture = image_to_uint8(image).astype(np.float32)
    y0, x0, y1, x1 = (int(v) for v in box)
    inside = np.zeros(picture.shape[:2], dtype=bool)
    inside[y0:y1, x0:x1] = True
    picture[~inside] *= 0.4
    picture = enlarge(picture, scale)
    rgb = np.asarray(color[:3], dtype=np.float32) * 255
    t = max(2, scale)
    Y0, X0, Y1, X1 = y0 * scale, x0 * scale, y1 * scale, x1 * scale
    for rows, cols in ((slice(Y0, Y0 + t), slice(X0, X1)), (slice(Y1 - t, Y1), slice(X0, X1)),
                       (slice(Y0, Y1), slice(X0, X0 + t)), (slice(Y0, Y1), slice(X1 - t, X1))):
        picture[rows, cols] = rgb
    framed = np.empty((picture.shape[0] + 2 * frame, picture.shape[1] + 2 * frame, 3), dtype=np.float32)
    framed[:] = rgb
    framed[frame : frame + picture.shape[0], frame : frame + picture.shape[1]] = picture
    return (np.clip(framed, 0, 255) + 0.5).astype(np.uint8)


@dataclass
class LegendEntry:
    """One prototype of an explanation map: its index, class, share of the map, palette colour
    (``"#rrggbb"``) and its representative patch drawn by :func:`patch_in_context`."""

    prototype: int
    label: int
    area: float
    color: str
    image: np.ndarray


def prototype_legend(model: KMExModel, variant: str, prototypes: Sequence[dict[str, Any]], train: Split | None = None, *, top: int = 6, scale: int = 1) -> list[LegendEntry]:
    """Legend of the ``top`` largest prototypes of an explanation map.

    ``prototypes``: the explainer's ``extras["prototypes"]`` (``index``, ``class``, ``area``, ``color``),
    largest first. ``train``: the model's training split (default: loaded by its dataset).
    """
    shown = list(prototypes)[:top]
    patches = {p.prototype: p for p in model.representative_patches(variant, sorted({int(p["class"]) for p in shown}), train)}
    if train is None:
        from interp_core.data import load_split

        train = load_split(model.dataset, "train")
    entries = []
    for p in shown:
        patch = patches[int(p["index"])]
        image, box = train.inputs([patch.image_index])[0], patch.box
        if train.info.kind == "audio":  # the spectrogram upright, low frequencies at the bottom
            image, box = spectrogram_image(image), upright_box(box, image.shape[-2])
        entries.append(LegendEntry(patch.prototype, patch.label, float(p["area"]), hex_color(patch.color),
                                   patch_in_context(image, box, patch.color, scale=scale)))
    return entries


@dataclass
class VariantView:
    """One encoder variant's explanation of one input for class ``target``: ``segments`` (the
    explanation map) and ``attribution`` pictures, ``legend`` of its largest prototypes, ``prediction``
    (Eq. 10), the raw ``attribution_map`` ``(H, W)`` and ``segment_map`` ``(H, W)`` (prototype indices into
    ``palette`` ``(K, 3)``: what a spectrogram's axes are drawn with)."""

    variant: str
    target: int
    prediction: int
    segments: np.ndarray
    attribution: np.ndarray
    legend: list[LegendEntry]
    attribution_map: np.ndarray = field(repr=False, default=None)
    segment_map: np.ndarray = field(repr=False, default=None)
    palette: np.ndarray = field(repr=False, default=None)

    @property
    def title(self) -> str:
        return VARIANT_TITLES.get(self.variant, self.variant.upper())


def explain_sample(loaded, x: torch.Tensor, target: int, train: Split | None = None, *, variants: Sequence[str] = ("b4", "b234"), top: int = 6, display: int = 256) -> list[VariantView]:
    """Explain ``x`` ``(C, H, W)`` for class ``target`` with the registered explainers ``kmex-<variant>`` on
    the loaded KMEx model ``loaded`` (a :class:`~interp_core.store.models.TrainedModel`).

    Every location is assigned to its nearest prototype of any class (Eq. 9); the attribution is Eq. 11
    for ``target`` carried up the explanation maps. Pictures are about ``display`` pixels wide.
    """
    from interp_core.methods.base import get_explainer

    model: KMExModel = loaded.model
    scale = display_scale(x.shape[-1], display)
    views = []
    for v in variants:
        explanation = get_explainer(f"kmex-{v}", loaded).explain(x, [target])[0]
        extras = explanation.extras
        views.append(VariantView(
            v, target, int(extras["prediction"]),
            segment_overlay(x, explanation.segments, explanation.palette, scale=scale),
            attribution_overlay(x, explanation.attribution, scale=scale),
            prototype_legend(model, v, extras["prototypes"], train, top=top, scale=max(1, scale // 2)),
            explanation.attribution.numpy(), explanation.segments, explanation.palette,
        ))
    return views


# ----------------------------------------------------------------------------- tables 1 and 2


@dataclass
class KMExTables:
    """Table 1 rows (``prototypes``, ``class``, ``out``: average cosines on the test embeddings) and
    Table 2 rows (``model``, ``train``, ``test``: accuracies in [0, 1]), with the number of training and
    test images they were measured on and the raw :func:`evaluate_kmex` metrics."""

    cosines: list[dict[str, Any]]
    accuracies: list[dict[str, Any]]
    n_train: int
    n_test: int
    metrics: dict[str, float]
    #: Where the numbers come from: "computed now", "computed on this machine on DATE" (the disk cache) or
    #: "shipped with these weights, computed on DATE" (``ship-results``).
    origin: str = "computed now"


def kmex_tables(model: KMExModel, train: Split, test: Split, *, train_sample: int | None = 2000, seed: int = 0, variants: Sequence[str] = ("b4", "b234")) -> KMExTables:
    """Tables 1 and 2 of the paper for a fitted model, via :func:`evaluate_kmex`.

    ``train_sample``: measure train accuracy (and fit the K/C=1 KMEx of Table 1) on a seeded sample of
    about this many training images, the same number from every class (None: the whole training set).
    The test split is always used whole.
    """
    if train_sample is not None and train_sample < len(train):
        per_class = -(-train_sample // train.info.num_classes)
        train = train.subset(np.concatenate(class_samples(train.labels, train.info.num_classes, per_class, seed)))
    m = evaluate_kmex(model, train, test, variants=variants)
    k = model.prototypes_per_class
    cosines = [
        {"prototypes": "CNN classifier columns c_j", "class": m["cos_class_cnn"], "out": m["cos_out_cnn"]},
        {"prototypes": "KMEx (K/C=1)", "class": m["cos_class_kmex1"], "out": m["cos_out_kmex1"]},
        {"prototypes": f"KMEx (K/C={k})", "class": m["cos_class_kmex"], "out": m["cos_out_kmex"]},
    ]
    accuracies = [{"model": "CNN", "train": m["cnn_train_accuracy"], "test": m["cnn_accuracy"]},
                  {"model": f"KMEx (K/C={k})", "train": m["kmex_train_accuracy"], "test": m["kmex_accuracy"]}]
    accuracies += [{"model": VARIANT_TITLES.get(v, v.upper()), "train": m[f"{v}_train_accuracy"], "test": m[f"{v}_accuracy"]} for v in variants]
    return KMExTables(cosines, accuracies, len(train), len(test), m)


# ----------------------------------------------------------------------------- Fig. 2


def projection_sources(projection: Projection, train_labels: np.ndarray, test_labels: np.ndarray, prototype_classes: torch.Tensor | np.ndarray, *, train_per_class: int = DEFAULT_UMAP["train_per_class"], seed: int = DEFAULT_UMAP["seed"]) -> np.ndarray:
    """What each projected point is, ``(n,)`` int64 aligned with ``projection.points``: the train or test
    split index for embeddings, the class for ``c_j`` points, the prototype index for KMEx points.

    Re-derives the seeded sample that :func:`~interp_core.methods.kmex.projection.compute_projection`
    embedded, so ``train_per_class`` and ``seed`` must be the projection's.
    """
    classes = [int(c) for c in projection.classes]
    train_idx, test_idx = select_projection_samples(np.asarray(train_labels), np.asarray(test_labels), classes, train_per_class, seed)
    prototype_classes = np.asarray(torch.as_tensor(prototype_classes).cpu())
    by_kind = {
        "train": train_idx, "test": test_idx, "classifier": np.asarray(classes), "classifier_rescaled": np.asarray(classes),
        "kmex": np.flatnonzero(np.isin(prototype_classes, classes)),
    }
    sources = np.empty(len(projection.kinds), dtype=np.int64)
    for kind, values in by_kind.items():
        rows = np.flatnonzero(projection.kinds == KINDS.index(kind))
        if len(rows) != len(values):
            raise ValueError(f"The projection has {len(rows)} {kind} points but its sample has {len(values)}: "
                             "were train_per_class and seed the projection's?")
        sources[rows] = values
    return sources


#: Below this share of the embeddings' extent, the c_j points are drawn in a zoomed inset as well.
CLUSTERED_SHARE = 0.03


def projection_figure(projection: Projection, sources: np.ndarray, class_names: Sequence[str], kinds: Sequence[str] = KINDS, *, height: int = 560):
    """Fig. 2 as a plotly figure: one trace per (kind, class), coloured by class (:func:`class_colors`)
    and marked by kind (train dots, test open dots at lower opacity, ``c_j`` crosses, rescaled ``c_j``
    triangles, KMEx squares). Each point's ``customdata`` is ``[kind index, source]`` (see
    :func:`projection_sources`).

    UMAP puts the classifier columns ``c_j`` far from the embeddings' manifold; when they all fall within
    :data:`CLUSTERED_SHARE` of the embeddings' extent (so that they overlap at the default zoom), they are
    drawn in an inset zoomed on them, and their spot in the main plot is labelled."""
    import plotly.graph_objects as go

    colors = class_colors(class_names)
    fig = go.Figure()
    shown_classes: set[int] = set()
    column_kinds = [k for k in ("classifier", "classifier_rescaled") if k in kinds]
    column_rows = np.flatnonzero(np.isin(projection.kinds, [KINDS.index(k) for k in column_kinds]))
    embedded = np.flatnonzero(np.isin(projection.kinds, [KINDS.index(k) for k in ("train", "test", "kmex")]))
    inset = False
    if len(column_rows) > 1 and len(embedded) > 1:
        extent = np.ptp(projection.points[embedded], axis=0).max()
        spread = np.ptp(projection.points[column_rows], axis=0).max()
        inset = extent > 0 and spread < CLUSTERED_SHARE * extent
    for kind in kinds:
        label, symbol, size, opacity = KIND_STYLES[kind]
        k = KINDS.index(kind)
        for c in projection.classes.tolist():
            rows = np.flatnonzero((projection.kinds == k) & (projection.labels == c))
            if len(rows) == 0:
                continue
            in_inset = inset and kind in column_kinds
            fig.add_trace(go.Scatter(
                x=projection.points[rows, 0], y=projection.points[rows, 1], mode="markers",
                name=class_names[c], legendgroup=f"class-{c}", showlegend=c not in shown_classes,
                marker=dict(symbol=symbol, size=size, color=colors[c], opacity=opacity,
                            line=dict(width=1.5 if kind != "train" else 0, color="black" if kind in ("kmex", "classifier_rescaled") else colors[c])),
                # plain lists: numpy arrays reach the browser as typed arrays, which come back as dicts
                customdata=np.stack([np.full(len(rows), k), sources[rows]], 1).tolist(),
                hovertemplate=f"{class_names[c]}<br>{label} #%{{customdata[1]}}<extra></extra>",
                **({"xaxis": "x2", "yaxis": "y2"} if in_inset else {}),
            ))
            shown_classes.add(c)
    for kind in kinds:  # a key to the marker symbols, drawn in grey
        label, symbol, size, _ = KIND_STYLES[kind]
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=label, legendgroup="kinds",
                                 legendgrouptitle_text="markers", marker=dict(symbol=symbol, size=size, color="grey")))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), legend=dict(itemsizing="constant"),
                      xaxis=dict(title="UMAP 1", showticklabels=False), yaxis=dict(title="UMAP 2", showticklabels=False))
    if inset:
        centre = projection.points[column_rows].mean(0)
        fig.add_annotation(x=float(centre[0]), y=float(centre[1]), text=f"all {len(column_rows)} c_j (zoomed in the inset)",
                           showarrow=True, arrowhead=2, ax=-60, ay=-40, font=dict(size=11))
        fig.add_trace(go.Scatter(x=[float(centre[0])], y=[float(centre[1])], mode="markers", hoverinfo="skip", showlegend=False,
                                 marker=dict(symbol="circle-open", size=18, color="black")))
        fig.update_layout(
            xaxis2=dict(domain=[0.70, 0.98], anchor="y2", showticklabels=False, title=dict(text="c_j, zoomed", font=dict(size=10)),
                        showline=True, mirror=True, linecolor="grey"),
            yaxis2=dict(domain=[0.62, 0.98], anchor="x2", showticklabels=False, showline=True, mirror=True, linecolor="grey"))
    return fig


def clicked_point(selection_points: Sequence[dict[str, Any]]) -> tuple[str, int] | None:
    """``(kind, source)`` of the first clicked Fig. 2 point in a plotly selection (Streamlit's
    ``event.selection.points``), or None when no drawn point is selected (e.g. only the marker key)."""
    for point in selection_points:
        data = point.get("customdata")
        if isinstance(data, dict):  # a typed array serialised by the browser: {"0": kind, "1": source}
            data = [data[key] for key in sorted(data, key=int)]
        if data is not None and len(data) >= 2:
            return KINDS[int(data[0])], int(data[1])
    return None


def point_preview(model: KMExModel, kind: str, source: int, train: Split, test: Split, *, display: int = 192) -> tuple[np.ndarray | None, str]:
    """What a clicked Fig. 2 point shows: ``(RGB uint8 image or None, caption)``. Embeddings show their
    image (a clip's spectrogram, low frequencies at the bottom), KMEx prototypes their nearest training
    image of their class, ``c_j`` points no image (:func:`~interp_core.methods.kmex.listening.point_sound`
    plays a clip's sound).
    ``kind`` and ``source`` come from the point's ``customdata`` (see :func:`projection_figure`)."""
    names = train.info.class_names
    audio = train.info.kind == "audio"
    what, a_what = ("clip", "a clip") if audio else ("image", "an image")
    if kind in ("train", "test"):
        split = train if kind == "train" else test
        image, caption = split.inputs([source])[0], f"{kind} {what} #{source} · true class {names[int(split.labels[source])]}"
    elif kind == "kmex":
        index = int(model.buffer("prototype_images")[source])
        image = train.inputs([index])[0]
        caption = (f"KMEx prototype #{source} of {names[source // model.prototypes_per_class]}: its nearest training {what} "
                   f"#{index} (the prototype itself is a centroid, not {a_what})")
    elif kind in ("classifier", "classifier_rescaled"):
        return None, f"c_j of class {names[source]}: a column of the CNN's classifier, not {a_what}."
    else:
        raise ValueError(f"Unknown point kind {kind!r}; expected one of {', '.join(KINDS)}.")
    picture = spectrogram_image(image) if audio else image_to_uint8(image)
    return enlarge(picture, display_scale(picture.shape[1], display)), caption


def kmex_recipes() -> list[str]:
    """Every KMEx recipe with a checkpoint on disk, in registry order."""
    from interp_core.store.catalog import ready_models

    return ready_models(kind="kmex")


# ----------------------------------------------------------------------------- by loaded model (the page's cached calls)


def _split(loaded, split: str) -> Split:
    from interp_core.data import load_split

    return load_split(loaded.recipe.dataset, split)


def loaded_projection(loaded, classes: tuple[int, ...]) -> tuple[Projection, np.ndarray]:
    """Fig. 2's projection of ``classes`` and where each of its points comes from (:func:`projection_sources`)."""
    from interp_core.methods.kmex import kmex_projection

    projection = kmex_projection(loaded.model, classes)
    prototype_classes = loaded.model.buffer("prototype_classes")
    return projection, projection_sources(projection, referenced_training_split(loaded).labels, _split(loaded, "test").labels,
                                          prototype_classes)


def loaded_predictions(loaded, x: torch.Tensor) -> list[ModelPrediction]:
    """:func:`kmex_predictions` of the loaded KMEx model."""
    return kmex_predictions(loaded.model, x)


def loaded_explanations(loaded, x: torch.Tensor, target: int) -> list[VariantView]:
    """:func:`explain_sample` with the model's training split (for the prototypes' patches)."""
    return explain_sample(loaded, x, target, referenced_training_split(loaded))


def loaded_tables(loaded, train_sample: int | None) -> KMExTables:
    """:func:`kmex_tables` of the loaded model on its own splits, cached on disk (and shipped for the default model
    and sample)."""
    import dataclasses
    import json

    from interp_core.store.results import result_dir
    from interp_core.store.shipped_results import shipped_or_cached_json

    import datetime

    from interp_core.store.shipped_results import shipped_twin

    computed = []

    def compute() -> dict[str, Any]:
        computed.append(True)
        tables = kmex_tables(loaded.model, _split(loaded, "train"), _split(loaded, "test"), train_sample=train_sample)
        found = json.loads(json.dumps(dataclasses.asdict(tables), default=float))  # numpy numbers as JSON numbers
        return {**found, "origin": datetime.date.today().isoformat()}

    path = result_dir(CACHE_KIND, loaded) / f"tables-{train_sample or 'all'}.json"
    shipped = not path.exists() and (twin := shipped_twin(path)) is not None and twin.exists()
    found = shipped_or_cached_json(path, compute)
    day = found.get("origin", "an earlier day")
    origin = ("computed now" if computed else f"shipped with these weights, computed on {day}" if shipped
              else f"computed on this machine on {day}")
    # JSON files keep their keys sorted: the tables' columns in the order kmex_tables writes them
    return KMExTables(cosines=[{k: row[k] for k in ("prototypes", "class", "out")} for row in found["cosines"]],
                      accuracies=[{k: row[k] for k in ("model", "train", "test")} for row in found["accuracies"]],
                      n_train=found["n_train"], n_test=found["n_test"], metrics=found["metrics"], origin=origin)


def loaded_point_preview(loaded, kind: str, source: int) -> tuple[np.ndarray | None, str]:
    """:func:`point_preview` on the model's own splits."""
    return point_preview(loaded.model, kind, source, _split(loaded, "train"), _split(loaded, "test"))


#: Training images behind Table 2's train column unless the user asks for all (the view's default).
TABLES_TRAIN_SAMPLE = 2000
#: How Tables 1 and 2 show their numbers.
TABLE1_FORMATS = {"class": "%.2f", "out": "%.2f"}
TABLE2_FORMATS = {"train": "percent", "test": "percent"}


def projection_classes(model: KMExModel) -> list[int]:
    """The classes Fig. 2 opens with (a view preference, not part of the model)."""
    return default_classes(model.n_classes)


def warm_up(context) -> None:
    """The Prototypes view's default selection, warmed at server start (:mod:`interp_core.evaluation.warmup`):
    the first ready KMEx model's Fig. 2 of its default classes, its predictions and B4/B234 explanations of
    the first test sample it gets right with their maps drawn as the page draws them, and Tables 1 and 2 on the
    default training sample."""
    from interp_core.visualize import map_base

    names = kmex_recipes()
    if not names:
        return
    name = names[0]
    loaded = context.model(name)
    projection, sources = context.result(loaded_projection, name, tuple(sorted(projection_classes(loaded.model))))
    context.chart(projection_figure(projection, sources, loaded.info.class_names, list(KINDS)))
    x = context.sample(loaded.recipe.dataset, name).x
    predictions = context.result(loaded_predictions, name, x)
    audio = loaded.info.kind == "audio"
    base = map_base(x, audio)
    for view in context.result(loaded_explanations, name, x, int(predictions[0].label)):
        for spec in explanation_maps(view, base, audio):
            context.picture(spec)
    context.result(loaded_tables, name, TABLES_TRAIN_SAMPLE)


def explanation_maps(view, base, audio: bool) -> tuple[tuple, tuple]:
    """The two maps the view draws of one explanation (:data:`interp_core.visualize.MapSpec`): its explanation map
    (each location in its prototype's colour; over the spectrogram for a sound) and its Eq. 11 attribution."""
    from interp_core.visualize import input_map, signed_map

    segments = (("segments", None, {"segments": view.segment_map, "palette": view.palette, "base": base, "audio": True, "width": 2.4})
                if audio else input_map(view.segments, False, width=2.4))
    return segments, signed_map(view.attribution_map, base, audio, "attribution", width=2.4)
