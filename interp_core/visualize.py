"""Turn inputs, masks and attribution maps into RGB images (numpy uint8) for pages, previews and reports,
and give every class its colour (:func:`class_colors`), the one palette all views share."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


def display_scale(size: int, target: int) -> int:
    """Whole-pixel enlargement that brings an image side of ``size`` pixels close to ``target`` pixels."""
    return max(1, round(target / max(1, size)))


def enlarge(image: np.ndarray, scale: int) -> np.ndarray:
    """``image`` ``(H, W, ...)`` enlarged ``scale`` times by whole pixels (each pixel repeated, no blur)."""
    return image if scale == 1 else np.repeat(np.repeat(image, scale, 0), scale, 1)


def colormap(values: np.ndarray, name: str = "magma", vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """Map a 2-D array to RGB uint8 ``(H, W, 3)`` with a matplotlib colormap."""
    from matplotlib import colormaps

    values = np.asarray(values, dtype=np.float32)
    lo = float(np.nanmin(values)) if vmin is None else vmin
    hi = float(np.nanmax(values)) if vmax is None else vmax
    scaled = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    return (colormaps[name](np.clip(scaled, 0, 1))[..., :3] * 255).astype(np.uint8)


# ----------------------------------------------------------------------------- class colours


def hex_color(color: Sequence[float]) -> str:
    """``(r, g, b)`` in [0, 1] -> ``"#rrggbb"``."""
    return "#" + "".join(f"{int(round(float(np.clip(c, 0, 1)) * 255)):02x}" for c in color[:3])


#: Hue (degrees) of each colour word a class name may carry ("red plain circle" is drawn red).
COLOUR_HUES = {"red": 0, "orange": 30, "yellow": 52, "green": 125, "cyan": 185, "blue": 222, "purple": 280, "violet": 280,
               "magenta": 305, "pink": 330, "brown": 25}
#: Lightness steps of the classes that share a colour word, dark to light; saturation of named colours.
_LIGHTNESS = (0.30, 0.45, 0.60, 0.37, 0.52, 0.67, 0.24, 0.72)
_SATURATION = 0.85


def _hls_hex(hue: float, lightness: float, saturation: float) -> str:
    import colorsys

    return hex_color(colorsys.hls_to_rgb(hue / 360, lightness, saturation))


def class_colors(class_names: Sequence[str]) -> list[str]:
    """One colour per class (``"#rrggbb"``) that agrees with the class name: a name with a colour word
    ("red plain circle", "green striped square") gets a shade of that colour, the classes that share a word
    getting distinct lightness steps in class order; names without one (digits, sounds) get plotly's
    qualitative palette, leaving out the hues that named colours use where several are in play. The same
    names always give the same colours, so every view that colours classes agrees."""
    from plotly.colors import qualitative

    words = [next((w for w in str(n).lower().replace("-", " ").split() if w in COLOUR_HUES), None) for n in class_names]
    seen: dict[str, int] = {}
    out: list[str | None] = []
    for word in words:
        if word is None:
            out.append(None)
            continue
        step = seen.get(word, 0)
        seen[word] = step + 1
        out.append(_hls_hex(COLOUR_HUES[word], _LIGHTNESS[step % len(_LIGHTNESS)], _SATURATION))
    palette = [c for c in qualitative.Dark24 + qualitative.Light24]
    rest = iter(palette * (1 + len(class_names) // len(palette)))
    return [c if c is not None else next(rest) for c in out]


def image_to_uint8(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(C, H, W)`` float in [0, 1] (C = 1 or 3) -> ``(H, W, 3)`` uint8."""
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if arr.ndim == 3 and arr.shape[0] in (1, 3):
        arr = arr.transpose(1, 2, 0)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)
    return arr


def mask_outline(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = (255, 255, 0)) -> np.ndarray:
    """Draw the 1-pixel boundary of a boolean ``mask`` ``(H, W)`` on an RGB uint8 image."""
    mask = np.asarray(mask, dtype=bool)
    padded = np.pad(mask, 1, mode="edge")
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    out = image.copy()
    out[mask & ~interior] = color
    return out


def heatmap_overlay(image: np.ndarray, attribution: np.ndarray, alpha: float = 0.55, signed: bool = True) -> np.ndarray:
    """Blend an attribution map over an RGB uint8 image: bwr (symmetric, 99.5th percentile) if ``signed``."""
    attribution = np.asarray(attribution, dtype=np.float32)
    if signed:
        limit = float(np.percentile(np.abs(attribution), 99.5)) or 1.0
        heat = colormap(attribution, "bwr", -limit, limit)
    else:
        heat = colormap(attribution, "magma")
    return (image.astype(np.float32) * (1 - alpha) + heat.astype(np.float32) * alpha).astype(np.uint8)


def spectrogram_image(spec: np.ndarray | torch.Tensor, mask: np.ndarray | None = None) -> np.ndarray:
    """Log-magnitude spectrogram ``(F, T)`` or ``(1, F, T)`` -> RGB image with low frequencies at the bottom;
    the optional boolean ``mask`` ``(F, T)`` is outlined in cyan."""
    arr = spec.detach().cpu().numpy() if isinstance(spec, torch.Tensor) else np.asarray(spec)
    arr = arr.reshape(arr.shape[-2], arr.shape[-1])
    rgb = colormap(arr, "magma")
    if mask is not None:
        rgb = mask_outline(rgb, mask, (0, 255, 255))
    return rgb[::-1].copy()


def tile(images: list[np.ndarray], columns: int, pad: int = 2, background: int = 255) -> np.ndarray:
    """Tile equally sized RGB uint8 images into one grid image (row-major)."""
    if not images:
        raise ValueError("Nothing to tile.")
    h, w = images[0].shape[:2]
    rows = -(-len(images) // columns)
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), background, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = img
    return out


def rgba_on_black(rgba: np.ndarray) -> np.ndarray:
    """Composite an RGBA map ``(H, W, 4)`` in [0, 1] on black, as the B-cos paper shows weight maps."""
    rgba = np.asarray(rgba, dtype=np.float32)
    return (np.clip(rgba[..., :3] * rgba[..., 3:4], 0, 1) * 255 + 0.5).astype(np.uint8)


def signed_image(values: np.ndarray | torch.Tensor, percentile: float = 99.5) -> np.ndarray:
    """A signed map ``(H, W)`` -> bwr RGB uint8 ``(H, W, 3)``, symmetric about 0 and clipped at the
    ``percentile``-th percentile of ``|v|`` (as B-cos v2's contribution maps): red positive, blue negative."""
    values = values.detach().float().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, dtype=np.float32)
    limit = float(np.percentile(np.abs(values), percentile)) or 1.0
    return colormap(values, "bwr", -limit, limit)


def segment_overlay(x: torch.Tensor | np.ndarray, segments: np.ndarray, palette: np.ndarray, *, alpha: float = 0.55, scale: int = 1) -> np.ndarray:
    """A segment map: every pixel of ``x`` (``(C, H, W)`` input or RGB uint8 picture) tinted with the
    colour ``palette[segment]`` (``(K, 3)`` in [0, 1]) of its segment in ``segments`` ``(H, W)``, segment
    borders drawn dark. Returns ``(H * scale, W * scale, 3)`` uint8."""
    segments = np.asarray(segments)
    base = image_to_uint8(x).astype(np.float32) / 255
    tint = (1 - alpha) * base + alpha * np.asarray(palette, dtype=np.float32)[segments]
    if scale > 1:
        tint, segments = (np.repeat(np.repeat(a, scale, 0), scale, 1) for a in (tint, segments))
    border = np.zeros(segments.shape, dtype=bool)
    border[:-1] |= segments[:-1] != segments[1:]
    border[:, :-1] |= segments[:, :-1] != segments[:, 1:]
    tint[border] = 0.1
    return (np.clip(tint, 0, 1) * 255 + 0.5).astype(np.uint8)


def input_picture(x: torch.Tensor, modality: str) -> np.ndarray:
    """What an input looks like: the image, or the spectrogram with low frequencies at the bottom."""
    return spectrogram_image(x) if modality == "audio" else image_to_uint8(x)


#: Caption of each explanation panel kind (see ``interp_core.methods.base.PANELS``).
PANEL_TITLES = {
    "heatmap": "attribution (red +, blue −)",
    "signed": "contributions (red +, blue −)",
    "rgba": "coloured map",
    "segments": "segment map",
    "mask": "mask",
}


def explanation_panels(x: torch.Tensor, explanation, modality: str = "image") -> list[tuple[str, np.ndarray]]:
    """How an :class:`~interp_core.methods.base.Explanation` is drawn: ``(title, RGB uint8 picture)`` for
    each of its ``panels``, in order. Audio panels are drawn in the spectrogram's orientation (low
    frequencies at the bottom), whatever the method, so they line up with :func:`input_picture`."""
    audio = modality == "audio"
    base = colormap(np.asarray(x.detach().cpu()).reshape(x.shape[-2], x.shape[-1]), "magma") if audio else image_to_uint8(x)
    attribution = explanation.attribution.detach().float().cpu().numpy()
    out = []
    for panel in explanation.panels:
        if panel == "heatmap":
            picture = heatmap_overlay(base, attribution)
        elif panel == "signed":
            picture = signed_image(attribution)
        elif panel == "rgba" and explanation.rgba is not None:
            picture = rgba_on_black(explanation.rgba)
        elif panel == "segments" and explanation.segments is not None and explanation.palette is not None:
            picture = segment_overlay(base, explanation.segments, explanation.palette)
        elif panel == "mask" and explanation.mask is not None:
            mask = np.clip(np.asarray(explanation.mask, dtype=np.float32), 0, 1)[..., None]
            picture = (base.astype(np.float32) * (0.15 + 0.85 * mask)).astype(np.uint8)
        else:
            continue
        out.append((PANEL_TITLES[panel], picture[::-1].copy() if audio else picture))
    return out


#: One map a view draws, as data: ``(kind, values, options)``, the arguments of the dashboard's ``map_png``
#: (``app.figures.map_png``). A page and the warm-up (``WarmupContext.picture``) build it with the same function
#: below, so that they ask for the same picture.
MapSpec = tuple  # (str, np.ndarray | None, dict)


def map_base(x: torch.Tensor, audio: bool) -> np.ndarray:
    """What the maps of one input ``x`` ``(C, H, W)`` are drawn over: its log-magnitude spectrogram ``(F, T)``
    float32 for a sound, its RGB uint8 picture for an image."""
    return np.asarray(x.detach().cpu(), dtype=np.float32).reshape(x.shape[-2], x.shape[-1]) if audio else image_to_uint8(x)


def as_array(values) -> np.ndarray:
    """A tensor (as float32) or array-like as a numpy array."""
    return values.detach().float().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)


def input_map(base: np.ndarray, audio: bool, **options) -> MapSpec:
    """The input alone (``base``: :func:`map_base`)."""
    return "input", None, {"base": base, "audio": audio, **options}


def weights_map(explanation, audio: bool = False, **options) -> MapSpec:
    """An explanation's colour map (its ``rgba``, e.g. B-cos's W(x))."""
    return "rgba", None, {"rgba": explanation.rgba, "audio": audio, **options}


def signed_map(values, base: np.ndarray | None, audio: bool, scale: str = "attribution", **options) -> MapSpec:
    """Signed ``values`` ``(H, W)`` (a tensor or array) over ``base``, the colour bar labelled by ``scale``."""
    return "signed", as_array(values), {"base": base, "audio": audio, "scale": scale, **options}
