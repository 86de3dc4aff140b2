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


def sample_facts(split: Split, index: int) -> list[tuple[str, str]]:
    """The ground truth of sample ``index`` as ``(label, text)`` rows: attributes present, background,
    caption, event onset and duration, whatever the dataset annotates."""
    info, extras = split.info, split.extras
    facts = []
    if "attributes" in extras:
        facts.append(("Attributes", ", ".join(n for n, v in zip(info.attribute_names, extras["attributes"][index]) if v)))
    if "backgrounds" in extras and info.background_names:
        facts.append(("Background", info.background_names[int(extras["backgrounds"][index])]))
    if split.captions is not None:
        facts.append(("Caption", split.captions[index]))
    for key, label in (("onsets", "Onset"), ("durations", "Duration")):
        if key in extras:
            facts.append((label, f"{float(extras[key][index]):.2f} s"))
    return facts


def mask_picture(split: Split, index: int) -> np.ndarray | None:
    """The ground-truth mask of sample ``index`` as an RGB picture in the input's orientation (None if none)."""
    masks = split.extras.get("masks")
    if masks is None:
        return None
    mask = np.asarray(masks[index], dtype=np.uint8) * 255
    if split.info.kind == "audio":
        mask = mask[::-1]  # as spectrograms are drawn: low frequencies at the bottom
    return np.repeat(mask[..., None], 3, axis=-1)


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
