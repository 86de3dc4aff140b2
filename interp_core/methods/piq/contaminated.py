"""Contaminated inputs for the PIQ view (PIQ Sec. 3.3, 3.5): two inputs mixed with a weight, a digit on a
texture, overlapping shapes, two sounds at once, each with the ground-truth mask of every source.

Built from the data package's generators (:func:`~interp_core.data.digits.overlay_digits`, the
``digits-on-texture`` and ``shapes-multi`` datasets, :func:`~interp_core.data.sounds.sound_components`
and :func:`~interp_core.data.sounds.ideal_binary_mask`), so a mixture here is the same function of its
sources as in those datasets.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from interp_core.data import load_split


@dataclass
class Contaminated:
    """A contaminated input: ``x`` the model input ``(C, H, W)`` (or spectrogram ``(1, F, T)``), its
    sources' classes ``labels`` and ground-truth masks ``masks`` ``(K, H, W)`` bool (source ``k``'s
    pixels or time-frequency bins), a one-line ``description``; audio also has its ``waveform`` ``(S,)``."""

    x: torch.Tensor
    labels: tuple[int, ...]
    masks: np.ndarray
    description: str
    waveform: np.ndarray | None = field(default=None, repr=False)


def from_sample(x: torch.Tensor, label: int | None, source: str, waveform: np.ndarray | None = None) -> Contaminated:
    """A clean input (a gallery sample or an upload) as a :class:`Contaminated` one: one source, no masks."""
    return Contaminated(x.float().contiguous(), () if label is None else (label,), np.zeros((0, *x.shape[-2:]), dtype=bool),
                        source, waveform=waveform)


def _check_weight(weight: float) -> float:
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"The mixing weight must lie in [0, 1], got {weight}.")
    return float(weight)


def mix_images(dataset: str, index_a: int, index_b: int, weight: float = 0.5) -> Contaminated:
    """Test images ``index_a`` and ``index_b`` of ``dataset`` as ``weight a + (1 - weight) b`` (PIQ's v1
    is 0.5/0.5, v2 0.7/0.3; :func:`~interp_core.data.digits.overlay_digits`). Masks: each image's object
    mask where the dataset has them (digits: the ink)."""
    from interp_core.data.digits import overlay_digits

    weight = _check_weight(weight)
    test = load_split(dataset, "test")
    a, b = test.inputs([index_a, index_b])
    x = overlay_digits(a, b, (weight, 1 - weight)).clamp(0, 1)
    masks = test.extras.get("masks")
    source_masks = np.stack([masks[index_a], masks[index_b]]) if masks is not None else np.zeros((2, *x.shape[-2:]), dtype=bool)
    names = test.info.class_names
    return Contaminated(x, (int(test.labels[index_a]), int(test.labels[index_b])), source_masks.astype(bool),
                        f"{weight:.2f} × {names[test.labels[index_a]]} (#{index_a}) + {1 - weight:.2f} × {names[test.labels[index_b]]} (#{index_b})")


def digit_on_texture(index: int) -> Contaminated:
    """Test image ``index`` of ``digits-on-texture``: a digit over a textured background (Case 3)."""
    test = load_split("digits-on-texture", "test")
    background = test.info.background_names[int(test.extras["backgrounds"][index])]
    return Contaminated(test.inputs([index])[0], (int(test.labels[index]),), test.extras["masks"][index][None].astype(bool),
                        f"digit {test.info.class_names[test.labels[index]]} on {background} (#{index})")


def overlapping_shapes(index: int) -> Contaminated:
    """Test scene ``index`` of ``shapes-multi``: 2-3 overlapping objects, each with its visible mask."""
    test = load_split("shapes-multi", "test")
    labels = test.extras["object_labels"][index]
    present = labels >= 0
    names = test.info.class_names
    return Contaminated(test.inputs([index])[0], tuple(int(c) for c in labels[present]), test.extras["object_masks"][index][present],
                        " + ".join(names[c] for c in labels[present]) + f" (#{index})")


def mix_sounds(index_a: int, index_b: int, weight: float = 0.5) -> Contaminated:
    """Test clips ``index_a`` and ``index_b`` of ``sounds`` as ``weight a + (1 - weight) b``. Masks: the
    ideal binary mask (0 dB) of each clip's clean event against everything else in the mixture."""
    from interp_core.data.sounds import ideal_binary_mask, sound_components, waveforms_to_input

    weight = _check_weight(weight)
    test = load_split("sounds", "test")
    parts = sound_components("test", [index_a, index_b])
    gains = np.array([weight, 1 - weight], dtype=np.float32)[:, None]
    mixture = (gains[0] * test.data[index_a] + gains[1] * test.data[index_b]).astype(np.float32)
    events = (gains * parts["events"]).astype(np.float32)
    masks = ideal_binary_mask(events, mixture[None] - events).numpy()
    names = test.info.class_names
    return Contaminated(waveforms_to_input(mixture[None])[0], (int(test.labels[index_a]), int(test.labels[index_b])), masks,
                        f"{weight:.2f} × {names[test.labels[index_a]]} (#{index_a}) + {1 - weight:.2f} × {names[test.labels[index_b]]} (#{index_b})",
                        waveform=mixture)
