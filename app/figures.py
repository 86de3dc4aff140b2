"""Maps drawn with their scales, for the pages, their downloads and their HTML reports.

Every map is one matplotlib figure (no pyplot: safe in Streamlit's threads) saved as PNG bytes: the map
over its input, a colour bar with what its values are (or, for coloured and segment maps, a line that
says how to read the colours), and for sounds the spectrogram's axes in seconds and hertz with low
frequencies at the bottom. Sound maps are drawn from the ``(F, T)`` arrays as they are (row 0 = lowest
frequency, ``origin="lower"``), never from flipped pictures, so every method lines up with the
spectrogram whatever its family.

Colours: signed maps are red (+) / blue (−), symmetric about 0 and clipped at the 99.5th percentile of
|value| (as :func:`interp_core.visualize.signed_image`); the map's opacity follows |value|, so the input
stays readable where the map is near 0 instead of being washed out by a uniform blend.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

#: What the colour bar of each kind of map measures.
SCALE_LABELS = {
    "attribution": "attribution (red +, blue −)",
    "contribution": "contribution to the logit",
    "mask": "mask value",
    "positive": "positive attribution",
    "activation": "contribution to the activation",
}
#: How to read maps that have no numeric scale.
COLOUR_LEGENDS = {
    "rgba": "colour: the input colour the weights align with; brightness: how much that location adds to the logit",
    "segments": "each location in the colour of its nearest prototype (legend beside the map)",
}
#: Percentile of |value| a signed map is clipped at.
CLIP_PERCENTILE = 99.5


@dataclass(frozen=True)
class AudioAxes:
    """Extent of a spectrogram ``(F, T)`` in seconds and hertz (frame times from the STFT hop)."""

    seconds: float
    nyquist_hz: float

    @classmethod
    def for_shape(cls, n_bins: int, n_frames: int) -> "AudioAxes":
        from interp_core.methods.piq.views import spectrogram_axes

        times, freqs = spectrogram_axes(n_bins, n_frames)
        step_t = times[1] - times[0] if len(times) > 1 else 1.0
        step_f = freqs[1] - freqs[0] if len(freqs) > 1 else 1.0
        return cls(float(times[-1] + step_t), float(freqs[-1] + step_f))

    @property
    def extent(self) -> tuple[float, float, float, float]:
        return (0.0, self.seconds, 0.0, self.nyquist_hz)


def signed_limit(values: np.ndarray) -> float:
    """Symmetric colour limit of a signed map: the 99.5th percentile of |value| (1 when the map is 0)."""
    limit = float(np.percentile(np.abs(values), CLIP_PERCENTILE)) if values.size else 0.0
    return limit if limit > 0 else 1.0


def _new_figure(audio: bool, width: float, colourbar: bool):
    from matplotlib.figure import Figure

    height = width * (0.62 if audio else 0.86) + (0.35 if audio else 0.0)
    fig = Figure(figsize=(width + (0.75 if colourbar else 0.0), height), dpi=110)
    ax = fig.add_subplot()
    return fig, ax


def _base_layer(ax, base: np.ndarray | None, audio: bool, axes: AudioAxes | None) -> None:
    if base is None:
        return
    if audio:
        ax.imshow(base, cmap="gray", origin="lower", aspect="auto", extent=axes.extent, interpolation="nearest")
    else:
        grey = base.astype(np.float32).mean(axis=-1, keepdims=True) if base.ndim == 3 else base[..., None].astype(np.float32)
        # The input in muted colours under the map: a third of its colour, two thirds grey.
        ax.imshow((base.astype(np.float32) / 3 + grey * 2 / 3).astype(np.uint8) if base.ndim == 3 else base, cmap="gray",
                  interpolation="nearest")


def _finish(fig, ax, audio: bool, title: str) -> bytes:
    if audio:
        ax.set_xlabel("time (s)", fontsize=8)
        ax.set_ylabel("frequency (Hz)", fontsize=8)
        ax.tick_params(labelsize=7)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout(pad=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def map_png(
    kind: str,
    values: np.ndarray | None = None,
    *,
    base: np.ndarray | None = None,
    audio: bool = False,
    scale: str = "attribution",
    title: str = "",
    rgba: np.ndarray | None = None,
    segments: np.ndarray | None = None,
    palette: np.ndarray | None = None,
    cells: int | None = None,
    mark_cell: int | None = None,
    width: float = 2.6,
) -> bytes:
    """One map as PNG bytes.

    ``kind``: ``"signed"`` (``values`` ``(H, W)``/``(F, T)``, red + / blue −, colour bar labelled
    ``SCALE_LABELS[scale]``), ``"positive"`` (only the positive part, as the pointing game scores it,
    colour bar from 0), ``"mask"`` (``values`` in [0, 1], red), ``"rgba"`` (``rgba`` ``(H, W, 4)`` on
    black), ``"segments"`` (``segments`` ``(H, W)`` indices into ``palette`` ``(K, 3)`` in [0, 1]) or
    ``"input"`` (``base`` alone). ``base``: the input under the map, RGB uint8 ``(H, W, 3)`` for images,
    the log-magnitude spectrogram ``(F, T)`` for sounds (``audio=True``: time/frequency axes, low
    frequencies at the bottom). ``cells``/``mark_cell``: draw a ``cells`` × ``cells`` grid and frame cell
    ``mark_cell`` (row-major), as the pointing game's target.
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    numeric = kind in ("signed", "positive", "mask")
    fig, ax = _new_figure(audio, width, numeric)
    shape = None
    if values is not None:
        values = np.asarray(values, dtype=np.float32)
        shape = values.shape
    elif base is not None:
        shape = base.shape[:2]
    elif rgba is not None:  # the coloured weight map alone (B-cos on a spectrogram)
        shape = np.asarray(rgba).shape[:2]
    axes = AudioAxes.for_shape(*shape[:2]) if audio and shape is not None else None
    imshow = dict(origin="lower", aspect="auto", extent=axes.extent) if audio else {}

    if kind == "rgba":
        shown = np.clip(np.asarray(rgba, dtype=np.float32)[..., :3] * np.asarray(rgba, dtype=np.float32)[..., 3:4], 0, 1)
        ax.imshow(shown, interpolation="nearest", **imshow)
    elif kind == "segments":
        _base_layer(ax, base, audio, axes)
        colours = np.asarray(palette, dtype=np.float32)[np.asarray(segments)]
        ax.imshow(np.concatenate([colours, np.full((*colours.shape[:2], 1), 0.6, np.float32)], -1), interpolation="nearest", **imshow)
    elif kind == "input":
        _base_layer(ax, base, audio, axes)
    else:
        _base_layer(ax, base, audio, axes)
        if kind == "signed":
            limit = signed_limit(values)
            norm, cmap = Normalize(-limit, limit), colormaps["bwr"]
            strength = np.clip(np.abs(values) / limit, 0, 1)
        elif kind == "positive":
            positive = np.clip(values, 0, None)
            limit = float(np.percentile(positive, CLIP_PERCENTILE)) or float(positive.max()) or 1.0
            norm, cmap = Normalize(0, limit), colormaps["inferno"]
            strength = np.clip(positive / limit, 0, 1)
        elif kind == "mask":
            norm, cmap = Normalize(0, 1), colormaps["Reds"]
            strength = np.clip(values, 0, 1)
        else:
            raise ValueError(f"Unknown map kind {kind!r}.")
        rgba_map = cmap(norm(values))
        # Opaque where the map is strong, see-through where it is near 0 (fully opaque without a base).
        rgba_map[..., 3] = 0.25 + 0.75 * strength if base is not None else 1.0
        ax.imshow(rgba_map, interpolation="nearest", **imshow)
        bar = fig.colorbar(ScalarMappable(norm, cmap), ax=ax, fraction=0.06, pad=0.03)
        bar.set_label(SCALE_LABELS.get(scale, scale), fontsize=7)
        bar.ax.tick_params(labelsize=6)
    if cells and shape is not None:
        from matplotlib.patches import Rectangle

        h, w = shape[0] / cells, shape[1] / cells
        for k in range(1, cells):
            ax.axhline(k * h - 0.5, color="white", lw=0.6, alpha=0.7)
            ax.axvline(k * w - 0.5, color="white", lw=0.6, alpha=0.7)
        if mark_cell is not None:
            r, c = divmod(int(mark_cell), cells)
            ax.add_patch(Rectangle((c * w - 0.5, r * h - 0.5), w, h, fill=False, edgecolor="lime", lw=2.2))
    return _finish(fig, ax, audio, title)


def probability_text(p: float) -> str:
    """A probability for people: ``"97.3%"``, ``"0.42%"``, ``"<0.01%"``, ``"100%"`` only when it is 1."""
    p = float(p)
    if not np.isfinite(p):
        return "n/a"
    if p >= 1.0:
        return "100%"
    if p < 1e-4:
        return "<0.01%"
    if p < 0.01:
        return f"{p * 100:.2f}%"
    if p > 0.999:
        return ">99.9%"
    return f"{p * 100:.1f}%"
