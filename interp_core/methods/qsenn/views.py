"""What the Q-SENN view shows, computed here so the page only lays it out (and ``align`` prints the same).

- :class:`ClipChoice` and :func:`feature_naming`: every feature named through CLIP (Q-SENN Eqs. 11-13) and
  by its best ground-truth attribute (Eq. 9), checked against each other (Eqs. 14-16, Table 6, Fig. 6).
- :func:`class_features`: one class's features (Fig. 1): sign, names with their alignment values, the most
  activating training images with colour-coded feature-map overlays.
- :func:`matrix_figure` / :func:`clicked_cell` / :func:`feature_on_class`: the whole ternary matrix
  (classes x features, features sorted by how many classes use them) and what a clicked cell shows.
- :func:`explain_local`, :func:`contribution_figure`, :func:`difference_figure`: one input, its predicted
  class and a second class: each feature's activation x weight and its map over the input.
- :func:`qsenn_tables` and :func:`certainty_figure`: Tables 1/4 (dense, glm-saga5, SLDD, Q-SENN) and Table 6
  with Fig. 6.

Everything slow is cached on disk under the model's recipe hash and weights fingerprint (and the CLIP
model's), as :mod:`interp_core.evaluation` caches pointing-game runs: retrained weights never reuse old
results. Images are RGB ``uint8`` ``(H', W', 3)``, enlarged by whole pixels.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from interp_core.methods.clip.alignment import FeatureNaming, naming_from_matrices

CACHE_VERSION = 1
#: The rows of Tables 1/4: label and the prefix of their keys in ``eval qsenn-<dataset>``.
TABLE_ROWS = (("Dense", "dense_"), ("glm-saga5", "glm_saga5_"), ("SLDD", "sldd_"), ("Q-SENN", ""))
#: The columns of Tables 1/4 (metric key, label).
TABLE_COLUMNS = (("accuracy", "accuracy"), ("n_features", "total features"), ("nonzero_per_class", "features / class"),
                 ("diversity_at_5", "diversity@5"), ("dependence", "dependence γ"), ("alignment_r", "alignment r"),
                 ("binary_features", "binary features"))


# ----------------------------------------------------------------------------- caches


def _key(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def model_cache_dir(loaded) -> Path:
    """The disk cache of one loaded model's view results (its recipe hash and weights fingerprint)."""
    from interp_core.paths import cache_subdir
    from interp_core.store.recipes import recipe_hash

    folder = cache_subdir("qsenn_views") / f"{loaded.name}-{recipe_hash(loaded.recipe)}-{loaded.card.fingerprint}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == CACHE_VERSION else None


def _write_json(path: Path, payload: dict) -> None:
    _write_atomic(path, lambda tmp: tmp.write_text(json.dumps({"version": CACHE_VERSION, **payload})))


def training_features(loaded) -> np.ndarray:
    """Raw pooled features ``(N, n_f)`` of the model on its training split (the F_train of Eqs. 9 and 12),
    cached on disk."""
    from interp_core.data import load_split
    from interp_core.methods.qsenn.metrics import extract_features

    path = model_cache_dir(loaded) / "train_features.npy"
    if path.exists():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            pass
    features = extract_features(loaded.model, load_split(loaded.recipe.dataset, "train"), loaded.device).numpy()
    _write_atomic(path, lambda tmp: np.save(tmp.open("wb"), features, allow_pickle=False))
    return features


# ----------------------------------------------------------------------------- naming (Eqs. 9-16)


@dataclass(frozen=True)
class ClipChoice:
    """Which CLIP-like model names the features: the recipe ``recipe`` (default ``clip-shapes``), or a
    pretrained open_clip architecture ``model`` with a local ``weights`` file or a ``tag`` whose weights
    are in the local cache (nothing downloads)."""

    recipe: str = "clip-shapes"
    model: str | None = None
    weights: str | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        if (self.weights or self.tag) and not self.model:
            raise ValueError("Pretrained CLIP weights need their open_clip architecture: name it with --clip-model "
                             "(e.g. ViT-B-32).")
        if self.model and not (self.weights or self.tag):
            raise ValueError(f"Give the weights of {self.model}: a local file (--clip-weights PATH) or a pretrained tag "
                             f"that is in the local cache (--clip-pretrained TAG, e.g. openai).")

    @property
    def label(self) -> str:
        if not self.model:
            return self.recipe
        return f"{self.model} ({self.weights or self.tag})"

    def load(self, device: torch.device | str | None = None):
        """``(ClipEncoder, identity)``; the identity keys the caches (weights fingerprint, or the file's
        path, size and modification time). Fails fast when pretrained weights are not on this machine."""
        if self.model:
            from interp_core.methods.clip.pretrained import load_pretrained_clip

            clip = load_pretrained_clip(self.model, self.weights, tag=self.tag, device=device or "cpu")
            stat = Path(clip.weights_path).stat()
            return clip, f"{self.model}|{self.tag}|{clip.weights_path}|{stat.st_size}|{stat.st_mtime_ns}"
        from interp_core.store.models import load_model

        loaded = load_model(self.recipe, device, train_if_missing=False, show_bar=False)
        return loaded.model, f"{self.recipe}|{loaded.card.fingerprint}"


def concept_prompts_for(dataset: str) -> dict[str, list[str]]:
    """The concept prompts of a dataset's attributes, in its attribute order (the shapes datasets)."""
    from interp_core.data import dataset_info
    from interp_core.data.captions import concept_prompts

    prompts = concept_prompts()
    names = tuple(dataset_info(dataset).attribute_names)
    if names != tuple(prompts):
        raise ValueError(f"Dataset {dataset!r} has no concept prompts for a CLIP model (only the shapes datasets do).")
    return prompts


def feature_naming(loaded, clip: ClipChoice | None = None, *, encoder=None) -> FeatureNaming:
    """Every feature of the loaded Q-SENN family model named through CLIP (A_clip, Eqs. 11-13) and by the
    dataset's attributes (A_gt, Eq. 9), with Table 6's validation and Fig. 6's bins. Cached on disk per model
    weights and CLIP identity. ``encoder``: an already loaded ``(ClipEncoder, identity)`` of ``clip``."""
    from interp_core.data import load_split
    from interp_core.methods.clip.alignment import ClipFeatureAlignment
    from interp_core.methods.qsenn.metrics import alignment_matrix

    clip = clip or ClipChoice()
    dataset = loaded.recipe.dataset
    prompts = concept_prompts_for(dataset)
    model, identity = encoder or clip.load(loaded.device)
    path = model_cache_dir(loaded) / f"naming-{_key(identity)}.json"
    cached = _read_json(path)
    if cached is None:
        train = load_split(dataset, "train")
        features = training_features(loaded)
        images = model.embed_split(train).numpy()
        concepts = model.prompt_embeddings(prompts).cpu().numpy()
        a_clip = ClipFeatureAlignment().fit(features, images, concepts).alignment_
        a_gt = alignment_matrix(features, train.extras["attributes"])
        cached = {"clip": identity, "concepts": list(prompts), "a_clip": a_clip.tolist(),
                  "a_gt": np.where(np.isnan(a_gt), None, a_gt).tolist()}
        _write_json(path, cached)
    a_gt = np.array([[np.nan if v is None else v for v in row] for row in cached["a_gt"]], dtype=np.float64)
    return naming_from_matrices(np.asarray(cached["a_clip"]), a_gt, cached["concepts"])


def attribute_strength(loaded, naming: FeatureNaming) -> np.ndarray:
    """Per feature ``(n_f,)``: its best A_gt value divided by mean(F - min F) (Eq. 10's per-feature term),
    so the attribute alignments of different features compare."""
    features = training_features(loaded)
    scale = (features - features.min(0)).mean(0)
    return np.where(scale > 0, naming.attribute_value / np.where(scale > 0, scale, 1.0), 0.0)


def align_report(loaded, clip: ClipChoice | None = None, *, encoder=None) -> dict[str, Any]:
    """What ``python -m interp_core align`` prints: Table 6's numbers (the CLIP naming's ``pos_full``,
    ``pos_pred``, ``pos_pred_rel``, the random and optimal static baselines'), Fig. 6's bins, and each
    feature's best CLIP label and best attribute label with their values."""
    clip = clip or ClipChoice()
    naming = feature_naming(loaded, clip, encoder=encoder)
    strength = attribute_strength(loaded, naming)
    weight = loaded.model.decision_weight.detach().cpu()
    features = naming.features()
    for row in features:
        row["attribute_r"] = float(strength[row["feature"]])
        row["classes"] = int((weight[:, row["feature"]] != 0).sum())
    return {"recipe": loaded.name, "fingerprint": loaded.card.fingerprint, "clip": clip.label, **naming.summary(),
            "certainty_bins": [{k: b[k] for k in ("bin", "low", "high", "mean", "median", "features")} for b in naming.bins],
            "features": features}


# ----------------------------------------------------------------------------- pictures


def display_scale(size: int, target: int = 128) -> int:
    """Whole-pixel enlargement that brings an image side of ``size`` pixels close to ``target``."""
    return max(1, round(target / max(1, size)))


def _enlarge(image: np.ndarray, scale: int) -> np.ndarray:
    return image if scale == 1 else np.repeat(np.repeat(image, scale, 0), scale, 1)


def feature_colors(n: int) -> list[str]:
    """One distinct colour per feature (``"#rrggbb"``), the same everywhere in the view."""
    from plotly.colors import convert_colors_to_same_type, qualitative

    palette, _ = convert_colors_to_same_type(qualitative.Bold + qualitative.Vivid + qualitative.Dark24, colortype="tuple")
    return ["#" + "".join(f"{round(float(v) * 255):02x}" for v in palette[i % len(palette)]) for i in range(n)]


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float32)


def upsample_maps(maps: torch.Tensor | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Feature maps ``(..., h, w)`` bilinearly upsampled to ``size`` ``(H, W)``."""
    t = torch.as_tensor(np.asarray(maps), dtype=torch.float32)
    lead = t.shape[:-2]
    up = F.interpolate(t.reshape(-1, 1, *t.shape[-2:]), size=size, mode="bilinear", align_corners=False)
    return up.reshape(*lead, *size).numpy()


def feature_overlay(image: torch.Tensor | np.ndarray, feature_map: np.ndarray, color: str, *, vmax: float,
                    scale: int = 1, strength: float = 0.8) -> np.ndarray:
    """Fig. 1's colour-coded overlay: the feature's colour laid over ``image`` (``(C, H, W)`` input or RGB
    uint8) with opacity ∝ its map ``(H, W)`` (already at input size) divided by ``vmax``; the rest dimmed."""
    from interp_core.visualize import image_to_uint8

    base = image_to_uint8(image).astype(np.float32)
    alpha = np.clip(np.asarray(feature_map, dtype=np.float32) / (vmax if vmax > 0 else 1.0), 0, 1)[..., None] * strength
    out = base * (1 - alpha) * 0.85 + _rgb(color) * alpha
    return _enlarge((np.clip(out, 0, 255) + 0.5).astype(np.uint8), scale)


@torch.no_grad()
def _maps_of(loaded, split, indices: Sequence[int], feature: int) -> np.ndarray:
    x = split.inputs(list(indices)).to(loaded.device)
    maps = loaded.model.feature_maps(x)[:, feature].cpu()
    return upsample_maps(maps, tuple(x.shape[-2:]))


# ----------------------------------------------------------------------------- global: one class


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


def feature_view(loaded, naming: FeatureNaming, c: int | None, feature: int, *, top: int = 5, display: int = 96,
                 within_class: bool = False) -> FeatureView:
    """Feature ``feature`` (for class ``c``; None: no class) with its ``top`` most activating training images
    (of class ``c`` only when ``within_class``), each with the colour-coded map; the overlays share one
    scale (the largest map value among them), so weaker activations look weaker."""
    from interp_core.data import load_split

    train = load_split(loaded.recipe.dataset, "train")
    values = training_features(loaded)[:, feature]
    pool = np.flatnonzero(train.labels == c) if (within_class and c is not None) else np.arange(len(values))
    indices = pool[np.argsort(-values[pool], kind="stable")[:top]].tolist()
    maps = _maps_of(loaded, train, indices, feature)
    color = feature_colors(loaded.model.n_features)[feature]
    scale = display_scale(train.info.input_shape[-1], display)
    images = [feature_overlay(train.inputs([i])[0], m, color, vmax=float(maps.max()), scale=scale) for i, m in zip(indices, maps)]
    weight = loaded.model.decision_weight.detach().cpu()
    w = float(weight[c, feature]) if c is not None else 0.0
    clip_max = float(naming.clip_value.max()) if len(naming.clip_value) else 1.0
    return FeatureView(
        feature, w, "+" if w > 0 else ("−" if w < 0 else "0"), naming.clip_label[feature], float(naming.clip_value[feature]),
        float(np.clip(naming.clip_value[feature] / clip_max, 0, 1)) if clip_max > 0 else 0.0, feature in _weak_features(naming),
        naming.attribute_label[feature], float(naming.attribute_value[feature]), float(attribute_strength(loaded, naming)[feature]),
        int((weight[:, feature] != 0).sum()), color, images, indices)


def class_features(loaded, naming: FeatureNaming, c: int, *, top: int = 5, display: int = 96) -> list[FeatureView]:
    """Fig. 1's global explanation of class ``c``: each feature with a non-zero weight (largest |W| first)
    shown through its most activating training images."""
    return [feature_view(loaded, naming, c, j, top=top, display=display) for j in loaded.model.class_features(c)]


def feature_on_class(loaded, naming: FeatureNaming, c: int, feature: int, *, top: int = 5, display: int = 96) -> dict[str, Any]:
    """What a clicked matrix cell shows: the feature's weight for the class, its most activating training
    images *of that class*, and its mean activation on the class's training images against all others."""
    from interp_core.data import load_split

    view = feature_view(loaded, naming, c, feature, top=top, display=display, within_class=True)
    labels = load_split(loaded.recipe.dataset, "train").labels
    values = training_features(loaded)[:, feature]
    return {"view": view, "class_mean": float(values[labels == c].mean()), "other_mean": float(values[labels != c].mean())}


# ----------------------------------------------------------------------------- global: the matrix


def feature_order(weight: torch.Tensor | np.ndarray) -> list[int]:
    """Features sorted by how many classes use them (most first; ties by index)."""
    used = (np.asarray(torch.as_tensor(weight).detach().cpu()) != 0).sum(0)
    return sorted(range(len(used)), key=lambda j: (-int(used[j]), j))


def feature_title(naming: FeatureNaming | None, j: int) -> str:
    if naming is None:
        return f"f{j}"
    return f"f{j} · {naming.clip_label[j].split('::')[-1]}"


def matrix_figure(loaded, naming: FeatureNaming | None, *, selected: tuple[int, int] | None = None, height: int | None = None):
    """The whole decision layer as a heatmap of squares (classes x features, red +, blue −, grey 0; features
    sorted by how many classes use them). Every cell's ``customdata`` is ``[class, feature, weight]``, so a
    click names its cell (:func:`clicked_cell`)."""
    import plotly.graph_objects as go

    weight = loaded.model.decision_weight.detach().cpu().numpy()
    names = loaded.info.class_names
    order = feature_order(weight)
    C = len(weight)
    height = height or max(420, 16 * C + 120)
    fig = go.Figure()
    styles = (("+", weight > 0, "#d62728"), ("−", weight < 0, "#1f77b4"), ("0", weight == 0, "#e8e8e8"))
    for label, mask, color in styles:
        cells = [(c, j) for c in range(C) for j in order if mask[c, j]]
        if not cells:
            continue
        fig.add_trace(go.Scatter(
            x=[order.index(j) for _, j in cells], y=[c for c, _ in cells], mode="markers", name=f"weight {label}",
            marker=dict(symbol="square", size=max(6, min(22, (height - 120) // C - 2)), color=color,
                        line=dict(width=0.5, color="white")),
            customdata=[[c, j, float(weight[c, j])] for c, j in cells],  # plain lists (see kmex.views.projection_figure)
            hovertemplate="%{text}<extra></extra>",
            text=[f"{names[c]} · {feature_title(naming, j)} · w = {weight[c, j]:+.3f}" for c, j in cells],
        ))
    if selected is not None and selected[1] in order:
        c, j = selected
        fig.add_trace(go.Scatter(x=[order.index(j)], y=[c], mode="markers", name="selected", hoverinfo="skip",
                                 marker=dict(symbol="square-open", size=24, color="black", line=dict(width=3))))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.02, x=0),
        xaxis=dict(tickmode="array", tickvals=list(range(len(order))), ticktext=[feature_title(naming, j) for j in order],
                   tickangle=-60, side="top", showgrid=False, zeroline=False),
        yaxis=dict(tickmode="array", tickvals=list(range(C)), ticktext=list(names), autorange="reversed", showgrid=False,
                   zeroline=False),
        clickmode="event+select", plot_bgcolor="white",
    )
    return fig


def clicked_cell(selection_points: Sequence[dict[str, Any]]) -> tuple[int, int] | None:
    """``(class, feature)`` of the first clicked matrix cell in a plotly selection (Streamlit's
    ``event.selection.points``), or None."""
    for point in selection_points:
        data = point.get("customdata")
        if isinstance(data, dict):  # a typed array serialised by the browser
            data = [data[key] for key in sorted(data, key=int)]
        if data is not None and len(data) >= 2:
            return int(data[0]), int(data[1])
    return None


# ----------------------------------------------------------------------------- local


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
            upright(_enlarge(heatmap_overlay(image_to_uint8(x), e.attribution.numpy()), scale)), e.attribution.numpy()))
    return views


def contribution_figure(view: LocalView, naming: FeatureNaming | None, class_name: str, *, height: int = 300):
    """Each class feature's activation x weight as a horizontal bar (red toward the class, blue away)."""
    import plotly.graph_objects as go

    js = view.class_features
    values = [float(view.contributions[j]) for j in js]
    fig = go.Figure(go.Bar(
        x=values, y=[feature_title(naming, j) for j in js], orientation="h",
        marker_color=["#d62728" if v >= 0 else "#1f77b4" for v in values],
        customdata=[[j, float(view.weights[j]), float(view.activations[j])] for j in js],
        hovertemplate="%{y}: w = %{customdata[1]:+.3f} × z = %{customdata[2]:.2f} → %{x:+.3f}<extra></extra>",
    ))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), yaxis=dict(autorange="reversed"),
                      title=dict(text=f"{class_name}: logit {view.logit:.2f} = Σ {sum(values):+.2f} + bias {view.bias:+.2f}", font=dict(size=13)),
                      xaxis_title="activation × weight")
    return fig


def difference_figure(a: LocalView, b: LocalView, naming: FeatureNaming | None, names: Sequence[str], *, height: int = 320):
    """Why A and not B: per feature used by either class, (W_A - W_B) z, whose sum with b_A - b_B is
    logit_A - logit_B."""
    import plotly.graph_objects as go

    js = sorted(set(a.class_features) | set(b.class_features), key=lambda j: -abs(a.contributions[j] - b.contributions[j]))
    values = [float(a.contributions[j] - b.contributions[j]) for j in js]
    fig = go.Figure(go.Bar(x=values, y=[feature_title(naming, j) for j in js], orientation="h",
                           marker_color=["#d62728" if v >= 0 else "#1f77b4" for v in values]))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), yaxis=dict(autorange="reversed"),
                      title=dict(text=f"logit({names[a.target]}) − logit({names[b.target]}) = {a.logit - b.logit:+.2f} "
                                      f"(bias difference {a.bias - b.bias:+.2f})", font=dict(size=13)),
                      xaxis_title=f"toward {names[a.target]} (+) or {names[b.target]} (−)")
    return fig


# ----------------------------------------------------------------------------- metrics


def has_concept_prompts(dataset: str) -> bool:
    try:
        concept_prompts_for(dataset)
    except ValueError:
        return False
    return True


def qsenn_recipes() -> list[str]:
    """Q-SENN family models with a sparse decision layer and a checkpoint on disk whose features CLIP can
    name (datasets with concept prompts), Q-SENN's first."""
    from interp_core.store.catalog import checkpoint_status
    from interp_core.store.recipes import all_recipes

    ready = [r for r in all_recipes().values()
             if r.kind == "qsenn" and checkpoint_status(r.name) != "missing" and has_concept_prompts(r.dataset)]
    return [r.name for r in sorted(ready, key=lambda r: (getattr(r, "method", "") != "qsenn",))]


def _tables_path(dataset: str) -> Path:
    """Where Tables 1/4 of ``qsenn-<dataset>`` are cached: keyed on the fingerprints of its four models."""
    from interp_core.paths import cache_subdir
    from interp_core.store.catalog import checkpoint_fingerprint
    from interp_core.store.recipes import get_recipe

    name = f"qsenn-{dataset}"
    recipe = get_recipe(name)
    prints = [checkpoint_fingerprint(n) for n in (name, recipe.dense, *recipe.compare)]
    return cache_subdir("qsenn_views") / f"tables-{name}-{_key(prints)}.json"


def tables_cached(dataset: str) -> bool:
    """Whether :func:`qsenn_tables` of ``dataset`` is on disk for today's weights (so showing it is instant)."""
    return _read_json(_tables_path(dataset)) is not None


def qsenn_tables(dataset: str) -> dict[str, Any]:
    """Tables 1/4 for ``dataset``: rows Dense, glm-saga5, SLDD and Q-SENN from ``eval qsenn-<dataset>``
    (computed now, cached on disk under the four models' fingerprints). Returns ``rows`` (one dict per
    model: ``model`` and every :data:`TABLE_COLUMNS` key), ``missing`` recipes, and the raw ``metrics``."""
    from interp_core.store.models import evaluate_recipe

    cached = _read_json(_tables_path(dataset))
    if cached is None:
        metrics = evaluate_recipe(f"qsenn-{dataset}")
        cached = {"metrics": metrics}
        _write_json(_tables_path(dataset), cached)
    metrics = cached["metrics"]
    rows = []
    for label, prefix in TABLE_ROWS:
        if f"{prefix}accuracy" not in metrics:
            continue
        rows.append({"model": label, **{key: metrics.get(prefix + key) for key, _ in TABLE_COLUMNS}})
    return {"dataset": dataset, "rows": rows, "missing": list(metrics.get("missing", [])), "metrics": metrics}


def certainty_figure(naming: FeatureNaming, *, height: int = 320):
    """Fig. 6: box plots of pos_pred_rel in four evenly sized bins of max(a_clip_i)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for b in naming.bins:
        fig.add_trace(go.Box(y=b["pos_pred_rel"], name=f"{b['low']:.3f}–{b['high']:.3f}", boxpoints="all", jitter=0.3,
                             pointpos=0, marker_color="#444", line_color="#2a7", showlegend=False,
                             customdata=b["features"], hovertemplate="feature %{customdata}: %{y:.2f}<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="max(a_clip_i) bin",
                      yaxis=dict(title="pos_pred_rel", range=[-0.05, 1.05]))
    return fig
