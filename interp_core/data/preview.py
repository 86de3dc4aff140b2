"""Preview images of embedded datasets: samples with their ground truth (mask outline, label)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from interp_core.data import load_split
from interp_core.data.base import Split
from interp_core.visualize import image_to_uint8, mask_outline, spectrogram_image, tile


def sample_image(split: Split, index: int, with_mask: bool = True) -> np.ndarray:
    """RGB uint8 picture of sample ``index``: the image (or spectrogram) with its mask outlined."""
    x = split.inputs([index])[0]
    mask = split.extras.get("masks")
    mask = mask[index] if (with_mask and mask is not None) else None
    if split.info.kind == "audio":
        return spectrogram_image(x, mask)
    image = image_to_uint8(x)
    return mask_outline(image, mask) if mask is not None else image


def write_preview(dataset: str, out: str | Path, *, split: str = "train", count: int = 16, seed: int = 0) -> Path:
    """Write a PNG grid of ``count`` random samples of ``dataset`` with labels and mask outlines."""
    from PIL import Image, ImageDraw

    if count < 1:
        raise ValueError("count must be at least 1.")
    data = load_split(dataset, split)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(data), size=min(count, len(data)), replace=False)
    tiles = []
    scale = max(1, 128 // max(data.inputs([0]).shape[-2:]))
    for i in picks:
        img = Image.fromarray(sample_image(data, int(i)))
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
        canvas = Image.new("RGB", (img.width, img.height + 14), "white")
        canvas.paste(img, (0, 14))
        ImageDraw.Draw(canvas).text((2, 1), data.info.class_names[int(data.labels[i])][:28], fill=(0, 0, 0))
        tiles.append(np.asarray(canvas))
    grid = tile(tiles, columns=min(4 if data.info.kind == "audio" else 8, len(tiles)))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(out)
    return out
