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
    names = info.class_names
    for key, label in (("multi_labels", "Objects"), ("object_labels", "Objects in drawing order"), ("source_labels", "Sources")):
        if key in extras:
            values = np.asarray(extras[key][index])
            classes = np.flatnonzero(values) if key == "multi_labels" else values[values >= 0]
            facts.append((label, ", ".join(names[int(c)] for c in classes)))
    if "weights" in extras:
        facts.append(("Mixing weights", " / ".join(f"{float(w):.2f}" for w in extras["weights"][index])))
    for key, label, unit in (("onsets", "Onset", "s"), ("durations", "Duration", "s"), ("snrs", "SNR", "dB")):
        if key in extras and np.ndim(extras[key][index]) == 0:
            facts.append((label, f"{float(extras[key][index]):.2f} {unit}"))
    return facts


def _mask_rgb(mask: np.ndarray, audio: bool) -> np.ndarray:
    mask = np.asarray(mask, dtype=np.uint8) * 255
    if audio:
        mask = mask[::-1]  # as spectrograms are drawn: low frequencies at the bottom
    return np.repeat(mask[..., None], 3, axis=-1)


def ground_truth_pictures(split: Split, index: int) -> list[tuple[str, np.ndarray]]:
    """Every ground-truth picture of sample ``index``, ``(caption, RGB uint8)``: object mask, part mask, one
    mask per object of a scene, one mask and one image per source of a mixture (audio masks in the
    spectrogram's orientation)."""
    extras, audio, names = split.extras, split.info.kind == "audio", split.info.class_names
    out = []
    if "masks" in extras:
        out.append(("ground-truth mask", _mask_rgb(extras["masks"][index], audio)))
    if "part_masks" in extras and np.any(extras["part_masks"][index]):
        out.append(("part mask", _mask_rgb(extras["part_masks"][index], audio)))
    for key, owner in (("object_masks", "object_labels"), ("source_masks", "source_labels")):
        if key in extras:
            owners = extras.get(owner)
            for k, mask in enumerate(extras[key][index]):
                label = int(owners[index][k]) if owners is not None else k
                if label >= 0 and np.any(mask):
                    out.append((f"mask of {names[label]}", _mask_rgb(mask, audio)))
    sources = extras.get("sources")
    if sources is not None and np.ndim(sources[index]) == 4:  # source images (2, H, W, C)
        for k, image in enumerate(sources[index]):
            out.append((f"source {k + 1}", image_to_uint8(np.asarray(image).transpose(2, 0, 1).astype(np.float32) / 255)))
    return out


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


def warm_up(context) -> None:
    """The Data view's default selection, warmed at server start (:mod:`interp_core.evaluation.warmup`): the
    first dataset's test split (the view and its input widget's gallery open on it)."""
    from interp_core.data import embedded_datasets

    name = next(iter(embedded_datasets()), None)
    if name is not None:
        context.split(name, "test")
