"""Plotly figures drawn as static pictures, for a view's first render.

Plotly's browser code is 4.7 MB: the first chart a browser tab draws costs it about a second on a 2-core
machine (measured with ``bench views``), before the chart's own drawing. A view therefore shows its charts
as PNG pictures drawn here with matplotlib from the same plotly figure (one figure, two renderers), and the
sidebar's "Interactive charts" switch draws them with plotly instead (hover, zoom, clicks on points).

:func:`figure_png` covers the traces and layout the library's figures use: cartesian ``scatter`` (markers,
lines, gaps, ``fill="toself"``, open marker symbols), ``bar`` (both orientations), ``box`` (with its
points), ``scatterpolar`` in ``polar`` subplots, axis domains (insets, small multiples), titles, tick
texts, reversed and top axes, paper and data annotations and the legend. A figure with any other trace
returns None, and the caller draws it with plotly: nothing is drawn wrong, at worst interactively.
"""
from __future__ import annotations

import base64
import io
import json
import math
from typing import Any

import numpy as np

#: Plotly marker symbols (without "-open") as matplotlib markers.
MARKERS = {"circle": "o", "square": "s", "diamond": "D", "cross": "P", "x": "X", "x-thin": "x", "cross-thin": "+",
           "triangle-up": "^", "triangle-down": "v", "triangle-left": "<", "triangle-right": ">", "star": "*",
           "pentagon": "p", "hexagon": "h", "circle-dot": "o"}
DASHES = {"dash": (0, (5, 3)), "dot": (0, (1, 2)), "dashdot": (0, (5, 2, 1, 2)), "solid": "-"}
#: Plotly's own default trace colours, in order.
COLORWAY = ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"]
SUPPORTED = {"scatter", "bar", "box", "scatterpolar"}
PX = 1 / 100  # inches per pixel at the 100 dpi the pictures are drawn at
FONT = 8.5


def _array(value: Any) -> list | None:
    """A trace's data as a list (plotly writes numpy arrays as ``{"dtype", "bdata", "shape"}``)."""
    if value is None:
        return None
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            array = array.reshape([int(s) for s in str(value["shape"]).split(",")])
        return array.tolist()
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _numbers(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _color(value: Any, default: str = "#636efa") -> Any:
    """A plotly colour (``#hex``, ``rgb(...)``, ``rgba(...)``, a CSS name) as a matplotlib colour."""
    if value is None:
        return default
    if isinstance(value, str) and value.startswith("rgb"):
        parts = [float(p) for p in value[value.index("(") + 1:value.index(")")].split(",")]
        return tuple([p / 255 for p in parts[:3]] + ([parts[3]] if len(parts) > 3 else []))
    return value


def _colors(value: Any, n: int, default: str) -> list:
    if isinstance(value, (list, tuple)) or (isinstance(value, dict) and "bdata" in value):
        return [_color(v, default) for v in _array(value)]
    return [_color(value, default)] * n


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("text")
    return "" if value is None else str(value).replace("<br>", "\n").replace("<b>", "").replace("</b>", "")


class _Legend:
    def __init__(self) -> None:
        self.handles: list = []
        self.labels: list[str] = []

    def add(self, trace: dict, handle, legend_shown: set) -> None:
        name = trace.get("name")
        if trace.get("showlegend") is False or not name or (name, trace.get("legendgroup")) in legend_shown:
            return
        legend_shown.add((name, trace.get("legendgroup")))
        self.handles.append(handle)
        self.labels.append(str(name))


def _marker_style(trace: dict, n: int, default_color: str) -> dict:
    marker = trace.get("marker") or {}
    symbol = str(marker.get("symbol", "circle"))
    hollow = symbol.endswith("-open")
    symbol = symbol.removesuffix("-open")
    size = float(marker.get("size", 6)) if not isinstance(marker.get("size"), (list, dict)) else 6.0
    colors = _colors(marker.get("color", (trace.get("line") or {}).get("color")), n, default_color)
    line = marker.get("line") or {}
    edge_width = float(line.get("width", 0) or 0)
    edge = _color(line.get("color"), "black") if edge_width else "none"
    return {"marker": MARKERS.get(symbol, "o"), "s": (size * 0.75) ** 2,
            "c": "none" if hollow else colors, "edgecolors": colors if hollow else edge,
            "linewidths": max(1.0, edge_width * 0.75) if hollow else edge_width * 0.75,
            "alpha": marker.get("opacity", trace.get("opacity"))}


def _cartesian(ax, trace: dict, index: int, legend: _Legend, shown: set) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    kind = trace.get("type", "scatter")
    default = COLORWAY[index % len(COLORWAY)]
    if kind == "scatter":
        x, y = _array(trace.get("x")), _array(trace.get("y"))
        if x is None or y is None:
            return
        mode = trace.get("mode", "lines+markers" if len(x) < 20 else "lines")
        line = trace.get("line") or {}
        line_color = _color(line.get("color"), default)
        handle = None
        if "lines" in mode:
            xs = _numbers(x) if all(isinstance(v, (int, float)) or v is None for v in x) else x
            ax.plot(xs, _numbers(y), color=line_color, lw=float(line.get("width", 2)) * 0.75,
                    linestyle=DASHES.get(line.get("dash", "solid"), "-"), alpha=trace.get("opacity"))
            handle = Line2D([], [], color=line_color, lw=1.5, linestyle=DASHES.get(line.get("dash", "solid"), "-"))
        if trace.get("fill") == "toself":
            ax.fill(_numbers(x), _numbers(y), color=_color((trace.get("fillcolor")), line_color), alpha=0.25, lw=0)
        if "markers" in mode:
            points = [(a, b) for a, b in zip(x, y) if a is not None and b is not None]
            style = _marker_style(trace, len(x), default)
            if points:
                keep = [i for i, (a, b) in enumerate(zip(x, y)) if a is not None and b is not None]
                if isinstance(style["c"], list):
                    style["c"] = [style["c"][i] for i in keep]
                if isinstance(style["edgecolors"], list):
                    style["edgecolors"] = [style["edgecolors"][i] for i in keep]
                ax.scatter([p[0] for p in points], [p[1] for p in points], zorder=3, **style)
            face = style["c"][0] if isinstance(style["c"], list) and style["c"] else style["c"]
            edge = style["edgecolors"][0] if isinstance(style["edgecolors"], list) and style["edgecolors"] else style["edgecolors"]
            handle = Line2D([], [], ls="none", marker=style["marker"], markersize=7, markerfacecolor=face,
                            markeredgecolor=edge if edge != "none" else face)
        if handle is not None:
            legend.add(trace, handle, shown)
    elif kind == "bar":
        horizontal = trace.get("orientation") == "h"
        values, categories = (_array(trace.get("x")), _array(trace.get("y"))) if horizontal else (_array(trace.get("y")), _array(trace.get("x")))
        if values is None:
            return
        categories = categories if categories is not None else list(range(len(values)))
        colors = _colors((trace.get("marker") or {}).get("color"), len(values), default)
        positions = np.arange(len(values))
        draw = ax.barh if horizontal else ax.bar
        draw(positions, _numbers(values), color=colors, **({"height": 0.7} if horizontal else {"width": 0.7}))
        (ax.set_yticks if horizontal else ax.set_xticks)(positions, [str(c) for c in categories])
        ax.axvline(0, color="#888", lw=0.6) if horizontal else ax.axhline(0, color="#888", lw=0.6)
        legend.add(trace, Patch(color=colors[0] if colors else default), shown)
    elif kind == "box":
        values = _numbers(_array(trace.get("y")) or [])
        values = values[~np.isnan(values)]
        names = getattr(ax, "_box_names", [])  # one box per trace, left to right
        position = len(names)
        color = _color(trace.get("line", {}).get("color") or (trace.get("marker") or {}).get("color"), default)
        if len(values):
            ax.boxplot([values], positions=[position], widths=0.5, showfliers=False, patch_artist=True,
                       boxprops=dict(facecolor="none", edgecolor=color), medianprops=dict(color=color),
                       whiskerprops=dict(color=color), capprops=dict(color=color))
            if trace.get("boxpoints") == "all":
                jitter = np.random.default_rng(position).uniform(-1, 1, len(values)) * 0.3 * float(trace.get("jitter", 0.3))
                ax.scatter(position + jitter, values, s=9, color=_color((trace.get("marker") or {}).get("color"), "#444"), zorder=3)
        ax._box_names = [*names, str(trace.get("name", position))]
        ax.set_xticks(range(len(ax._box_names)), ax._box_names)


def _polar(ax, trace: dict, index: int, legend: _Legend, shown: set, categories: list[str]) -> None:
    from matplotlib.lines import Line2D

    theta, r = _array(trace.get("theta")) or [], _numbers(_array(trace.get("r")) or [])
    if not len(r):
        return
    angles = np.array([2 * math.pi * categories.index(str(t)) / len(categories) if str(t) in categories else np.nan for t in theta])
    line = trace.get("line") or {}
    color = _color(line.get("color"), COLORWAY[index % len(COLORWAY)])
    dash = DASHES.get(line.get("dash", "solid"), "-")
    alpha = trace.get("opacity")
    ax.plot(angles, r, color=color, lw=float(line.get("width", 2)) * 0.75, linestyle=dash, alpha=alpha)
    if "markers" in trace.get("mode", "lines"):
        ax.scatter(angles, r, s=9, color=color, alpha=alpha, zorder=3)
    if trace.get("fill") == "toself":
        ok = ~np.isnan(r) & ~np.isnan(angles)
        if ok.sum() > 2:
            ax.fill(angles[ok], r[ok], color=color, alpha=0.25, lw=0)
    legend.add(trace, Line2D([], [], color=color, lw=1.5, linestyle=dash, alpha=alpha), shown)


def _style_axis(ax, which: str, spec: dict) -> None:
    axis = ax.xaxis if which == "x" else ax.yaxis
    title = _text(spec.get("title"))
    if title:
        (ax.set_xlabel if which == "x" else ax.set_ylabel)(title, fontsize=FONT)
    if spec.get("tickvals") is not None:
        values = _array(spec["tickvals"])
        labels = [str(t) for t in _array(spec.get("ticktext")) or values]
        axis.set_ticks(values, labels)
    top = spec.get("side") == "top" and which == "x"
    if top:
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
    angle = spec.get("tickangle")
    if angle not in (None, "auto"):
        ax.tick_params(axis=which, labelrotation=-float(angle))
        if which == "x":
            for label in axis.get_ticklabels(which="major"):
                label.set_ha("left" if top else "right")
                label.set_rotation_mode("anchor")
    if spec.get("showticklabels") is False:
        axis.set_ticklabels([])
        axis.set_ticks([])
    rng = spec.get("range")
    if rng is not None and all(v is not None for v in rng):
        (ax.set_xlim if which == "x" else ax.set_ylim)(float(rng[0]), float(rng[1]))
    if spec.get("autorange") == "reversed":
        ax.invert_xaxis() if which == "x" else ax.invert_yaxis()
    if spec.get("visible") is False:
        axis.set_visible(False)
    ax.tick_params(axis=which, labelsize=FONT)


def _wrap(label: str, width: int = 12) -> str:
    """A long label on two lines at its middle space (angular labels of small polar charts)."""
    if len(label) <= width or " " not in label:
        return label
    middle = min((i for i, ch in enumerate(label) if ch == " "), key=lambda i: abs(i - len(label) / 2))
    return label[:middle] + "\n" + label[middle + 1:]


def _rect(domain_x, domain_y) -> list[float]:
    """An axes rectangle ``[left, bottom, width, height]`` (figure fractions) for plotly domains; labels outside it
    are kept by saving with a tight bounding box."""
    x0, x1 = domain_x or (0, 1)
    y0, y1 = domain_y or (0, 1)
    return [x0, y0, max(0.01, x1 - x0), max(0.01, y1 - y0)]


def draw(figure: dict, width: int = 900) -> bytes | None:
    """The plotly figure ``figure`` (its JSON as a dict) as PNG bytes ``width`` pixels wide and its layout's
    height high (before the margins that labels need are added), or None when it has a trace this module
    does not draw."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data, layout = figure.get("data", []), figure.get("layout", {})
    if not data or any(trace.get("type", "scatter") not in SUPPORTED for trace in data):
        return None
    if any(trace.get("type") == "box" and trace.get("x") is not None for trace in data):
        return None  # grouped boxes (one box per x category in one trace): plotly's
    height = float(layout.get("height") or 450)
    width = float(layout.get("width") or width)
    fig = Figure(figsize=(width * PX, height * PX), dpi=100)
    legend, shown = _Legend(), set()
    axes: dict[str, Any] = {}

    def cartesian(ref_x: str, ref_y: str):
        key = f"{ref_x}/{ref_y}"
        if key not in axes:
            x_spec = layout.get("xaxis" + ref_x[1:], {}) or {}
            y_spec = layout.get("yaxis" + ref_y[1:], {}) or {}
            ax = fig.add_axes(_rect(x_spec.get("domain"), y_spec.get("domain")))
            ax.set_facecolor(layout.get("plot_bgcolor") or "#f4f6fa")
            ax.grid(True, color="white" if (layout.get("plot_bgcolor") or "#f4f6fa") != "white" else "#eee", lw=0.8)
            ax.set_axisbelow(True)
            for side in ax.spines.values():
                side.set_visible(bool(x_spec.get("showline")) or bool(y_spec.get("showline")))
                side.set_color(_color(x_spec.get("linecolor"), "grey"))
            axes[key] = (ax, x_spec, y_spec)
        return axes[key][0]

    polars: dict[str, Any] = {}

    def polar(ref: str, trace: dict):
        if ref not in polars:
            spec = layout.get(ref, {}) or {}
            domain = spec.get("domain") or {}
            x0, y0, w, h = _rect(domain.get("x"), domain.get("y"))
            # room inside the domain for the angular labels, which plotly keeps inside it too
            ax = fig.add_axes([x0 + 0.15 * w, y0 + 0.15 * h, 0.7 * w, 0.7 * h], projection="polar")
            angular = spec.get("angularaxis") or {}
            categories = [str(c) for c in _array(angular.get("categoryarray")) or []]
            if not categories:
                categories = list(dict.fromkeys(str(t) for t in _array(trace.get("theta")) or []))
            ax.set_theta_offset(math.radians(float(angular.get("rotation", 0))))
            ax.set_theta_direction(-1 if angular.get("direction") == "clockwise" else 1)
            ax.set_xticks([2 * math.pi * i / len(categories) for i in range(len(categories))],
                          [_wrap(c) for c in categories], fontsize=FONT - 1.5)
            radial = spec.get("radialaxis") or {}
            if radial.get("range"):
                ax.set_ylim(*[float(v) for v in radial["range"]])
            if radial.get("tickvals") is not None:
                ax.set_yticks(_array(radial["tickvals"]))
            ax.tick_params(axis="y", labelsize=FONT - 2.5)
            ax.grid(True, color="#ccc", lw=0.6)
            polars[ref] = (ax, categories)
        return polars[ref]

    for index, trace in enumerate(data):
        if trace.get("visible") is False:
            continue
        if trace.get("type") == "scatterpolar":
            ax, categories = polar(trace.get("subplot", "polar"), trace)
            _polar(ax, trace, index, legend, shown, categories)
        else:
            _cartesian(cartesian(trace.get("xaxis", "x"), trace.get("yaxis", "y")), trace, index, legend, shown)
    for ax, x_spec, y_spec in axes.values():
        _style_axis(ax, "x", x_spec)
        _style_axis(ax, "y", y_spec)
    by_ref = {key.split("/")[0]: ax for key, (ax, _, _) in axes.items()}
    for note in layout.get("annotations", []) or []:
        text = _text(note.get("text"))
        if not text:
            continue
        font = float((note.get("font") or {}).get("size", 12)) * 0.75
        if note.get("xref") == "paper" and note.get("yref") == "paper":
            fig.text(float(note.get("x", 0.5)), float(note.get("y", 0.5)) + float(note.get("yshift", 0)) / height, text,
                     ha={"left": "left", "right": "right"}.get(note.get("xanchor"), "center"),
                     va={"top": "top", "middle": "center"}.get(note.get("yanchor"), "bottom"), fontsize=font)
        elif note.get("xref", "x") in by_ref:
            ax = by_ref[note.get("xref", "x")]
            arrow = note.get("showarrow", True)
            ax.annotate(text, (float(note["x"]), float(note["y"])),
                        xytext=(float(note.get("ax", -10)) * 0.75, -float(note.get("ay", -30)) * 0.75) if arrow else (0, 0),
                        textcoords="offset points", fontsize=font, ha="center",
                        arrowprops=dict(arrowstyle="->", lw=0.8) if arrow else None)
    title = _text(layout.get("title"))
    if title:
        target = next(iter(axes.values()))[0] if len(axes) == 1 and not polars else None
        (target.set_title(title, fontsize=FONT + 1.5, loc="left") if target is not None
         else fig.suptitle(title, fontsize=FONT + 1.5))
    show_legend = layout.get("showlegend", len(data) > 1 or any(t.get("showlegend") for t in data))
    if legend.handles and show_legend:
        spec = layout.get("legend") or {}
        title_text = _text(spec.get("title"))
        if spec.get("orientation") == "h":  # above everything drawn so far (plotly's place for it)
            top = fig.get_tightbbox(FigureCanvasAgg(fig).get_renderer()).y1 / fig.get_figheight()
            right = spec.get("xanchor") == "right"
            fig.legend(legend.handles, legend.labels, loc="lower right" if right else "lower left",
                       bbox_to_anchor=(1.0 if right else 0.0, top), ncols=min(6, len(legend.handles)), borderaxespad=0.2,
                       fontsize=FONT, frameon=False, title=title_text or None, title_fontsize=FONT)
        else:
            fig.legend(legend.handles, legend.labels, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=FONT,
                       frameon=False, title=title_text or None, title_fontsize=FONT)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.1, facecolor="white")
    return buffer.getvalue()


def figure_png(figure_json: str, width: int = 900) -> bytes | None:
    """:func:`draw` from the figure's JSON (``fig.to_json()``: the key a cache can hash)."""
    return draw(json.loads(figure_json), width)
