"""The Q-SENN view's pictures and charts: colour-coded feature overlays (Fig. 1), the decision layer as a
matrix of squares, contribution bars, why-A-and-not-B bars and Fig. 6. Images are RGB ``uint8``
``(H', W', 3)``, enlarged by whole pixels."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from interp_core.methods.clip.alignment import FeatureNaming
from interp_core.visualize import enlarge


#: How the view's tables show their numbers (column -> format, or (label, format); see app.report.column_config).
CLASS_FEATURE_FORMATS = {"a_clip": "%.4f", "A_gt": "%.3f", "name strength": "progress", "r": "%.2f"}
TABLE6_FORMATS = {"pos_full": ("pos_full ↓", "%.2f"), "pos_pred": ("pos_pred ↓", "%.2f"),
                  "pos_pred_rel": ("pos_pred_rel ↑", "percent")}
TABLES14_FORMATS = {"accuracy": "percent", "diversity_at_5": ("diversity@5", "percent"),
                    "dependence": ("dependence γ", "percent"), "alignment_r": ("alignment r", "%.2f"),
                    "binary_features": ("binary features", "percent"), "nonzero_per_class": ("features / class", "%.1f"),
                    "n_features": ("total features", "%d")}


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
    return enlarge((np.clip(out, 0, 255) + 0.5).astype(np.uint8), scale)


def gallery_strip(images: Sequence[np.ndarray], pad: int = 4) -> np.ndarray:
    """A feature's gallery (RGB uint8 images of one size) as one picture, left to right: the page sends one
    image instead of five, and the browser shows the view sooner."""
    from interp_core.visualize import tile

    return tile(list(images), len(images), pad=pad)


def gallery_caption(indices: Sequence[int]) -> str:
    return "training images " + " · ".join(f"#{int(i)}" for i in indices) + " (left to right)"


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


def contribution_figure(view: Any, naming: FeatureNaming | None, class_name: str, *, height: int = 300):
    """Each class feature's activation x weight of ``view`` (a :class:`~interp_core.methods.qsenn.views.LocalView`)
    as a horizontal bar (red toward the class, blue away)."""
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


def difference_figure(a: Any, b: Any, naming: FeatureNaming | None, names: Sequence[str], *, height: int = 320):
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


def class_features_table(features: Sequence[Any]) -> list[dict[str, Any]]:
    """The class view's table: one row per :class:`~interp_core.methods.qsenn.views.FeatureView`."""
    return [{"feature": f"f{f.feature}", "sign": f.sign, "CLIP label": f.clip_label, "a_clip": f.clip_value,
             "name strength": f.clip_strength, "weak name": f.weak, "attribute label": f.attribute_label,
             "A_gt": f.attribute_value, "r": f.attribute_r, "classes using it": f.n_classes} for f in features]


def feature_caption(f: Any) -> str:
    """The Markdown (with a coloured square) beside one feature's pictures in the class view."""
    label = f"<span style='color:#999'><i>{f.clip_label}</i></span> · weak name" if f.weak else f"**{f.clip_label}**"
    return (f"<span style='color:{f.color}'>■</span> **f{f.feature} ({f.sign}α)**  \n"
            f"CLIP: {label} ({f.clip_value:.4f}, {f.clip_strength:.0%} of the strongest)  \n"
            f"attribute: **{f.attribute_label}** (A_gt {f.attribute_value:.3f}, r {f.attribute_r:.2f})  \n"
            f"used by {f.n_classes} classes")
