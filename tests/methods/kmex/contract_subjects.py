"""A tiny KMEx model of a spectrogram CNN for the explanation contract test (``tests/methods/test_contract.py``
picks this file up; its image KMEx model is built there)."""
from __future__ import annotations

import numpy as np
import torch

from interp_core.data.base import DatasetInfo, Split
from interp_core.methods.kmex.fitting import KMExFitter
from interp_core.models import build_model
from interp_core.store.card import ModelCard


def tiny_spectrograms(n_per_class: int = 8, n_classes: int = 3, shape: tuple[int, int] = (33, 24), seed: int = 0) -> Split:
    """Log-magnitude-like spectrograms ``(1, F, T)``: noise plus one bright frequency band per class."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    data = rng.uniform(0, 0.5, (len(labels), 1, *shape)).astype(np.float32)
    band = shape[0] // n_classes
    for i, y in enumerate(labels):
        start = rng.integers(0, shape[1] // 2)
        data[i, 0, y * band : (y + 1) * band, start : start + shape[1] // 2] += 2.0
    info = DatasetInfo("tiny-sounds", "audio", tuple(f"s{i}" for i in range(n_classes)), (1, *shape), sample_rate=16000)
    return Split(info, data, labels, lambda batch: torch.from_numpy(np.ascontiguousarray(batch)))


def subjects() -> dict:
    torch.manual_seed(0)
    backbone = build_model("audio-cnn", in_channels=1, num_classes=3, widths=(4, 6, 8, 8)).eval()
    split = tiny_spectrograms()
    model = KMExFitter(prototypes_per_class=2, n_init=1, encoder_n_init=1, encoder_images_per_class=6,
                       encoder_pixels_per_image=8).fit(backbone, split).model_.eval()
    card = ModelCard.for_module(model, family="kmex", kind="kmex", modality="audio", num_classes=3, input_shape=split.info.input_shape)
    return {"KMEx audio model": (model, card, split.inputs([4])[0])}
