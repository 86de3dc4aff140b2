"""Turn inputs, masks and attribution maps into RGB images (numpy uint8) for pages, previews and reports."""
from __future__ import annotations

import numpy as np
import torch


def colormap(values: np.ndarray, name: str = "magma", vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """Map a 2-D array to RGB uint8 ``(H, W, 3)`` with a matplotlib colormap."""
    from matplotlib import colormaps

    values = np.asarray(values, dtype=np.float32)
    lo = float(np.nanmin(values)) if vmin is None else vmin
    hi = float(np.nanmax(values)) if vmax is None else vmax
    scaled = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    return (colormaps[name](np.clip(scaled, 0, 1))[..., :3] * 255).astype(np.uint8)


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


def explanation_image(x: torch.Tensor, explanation, kind: str = "image") -> np.ndarray:
    """How an :class:`~interp_core.methods.base.Explanation` is shown: its own RGBA rendering on black when
    the method provides one (B-cos weight maps), else the attribution as a heat map over the input."""
    rgba = explanation.extras.get("rgba") if explanation.extras else None
    if rgba is not None:
        return rgba_on_black(rgba)
    attribution = explanation.attribution.detach().cpu().numpy()
    if kind == "audio":
        return colormap(attribution[::-1], "bwr", -(np.abs(attribution).max() or 1), np.abs(attribution).max() or 1)
    return heatmap_overlay(image_to_uint8(x), attribution)
