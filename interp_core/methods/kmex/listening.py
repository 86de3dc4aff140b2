"""Prototypes you can listen to: what the Prototypes view plays for a KMEx model of sounds.

- :func:`prototype_clips`: every KMEx prototype of a class with its nearest training clips of that class
  (pooled-embedding distance, nearest first: the first is the clip the fit recorded), each as a WAV file.
- :func:`patch_sounds`: every encoder prototype's representative patch (B4, B234) as a time-frequency crop of
  its clip's spectrogram, and as audio: the clip's sound kept only inside the patch's time-frequency cells,
  with the clip's own phase, rendered as PIQ renders its interpretation
  (:func:`interp_core.methods.piq.audio.interpretation_waveforms` with a binary mask: exactly the clip's
  STFT inside the cells, zero outside, inverted).
- :func:`point_sound`: the clip behind a clicked point of Fig. 2.

Pictures are RGB ``uint8`` with low frequencies at the bottom (:func:`~interp_core.visualize.spectrogram_image`).
A patch ``box`` is ``(f0, t0, f1, t1)``: frequency bins ``f0:f1`` and STFT frames ``t0:t1`` of the model input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interp_core.data.base import Split
from interp_core.data.time_frequency import HOP_LENGTH, N_FFT
from interp_core.methods.kmex.model import KMExModel
from interp_core.methods.kmex.prototypes import embed_split
from interp_core.methods.piq.audio import interpretation_waveforms, wav_bytes
from interp_core.visualize import enlarge, hex_color, spectrogram_image


def clip_wav(split: Split, index: int) -> bytes:
    """Clip ``index`` of a sound split as a mono 16-bit WAV file at the split's sample rate."""
    return wav_bytes(split.data[int(index)], split.info.sample_rate)


def upright_box(box, n_bins: int) -> tuple[int, int, int, int]:
    """A box ``(f0, t0, f1, t1)`` on the spectrogram as rows and columns ``(y0, x0, y1, x1)`` of its
    picture, whose row 0 is the highest frequency."""
    f0, t0, f1, t1 = (int(v) for v in box)
    return n_bins - f1, t0, n_bins - f0, t1


def box_mask(shape: tuple[int, int], box) -> torch.Tensor:
    """Binary time-frequency mask ``(F, T)``: 1 on the box's cells, 0 elsewhere."""
    f0, t0, f1, t1 = (int(v) for v in box)
    mask = torch.zeros(shape)
    mask[f0:f1, t0:t1] = 1.0
    return mask


def sound_inside(spectrogram: torch.Tensor, waveform: np.ndarray, box) -> np.ndarray:
    """The clip's sound kept only inside the box's time-frequency cells ``(S,)``: ``spectrogram`` ``(1, F, T)``
    (log1p magnitude, the model input) masked to the box, back to audio with the phase of ``waveform`` ``(S,)``."""
    mask = box_mask(tuple(spectrogram.shape[-2:]), box)
    wave = torch.as_tensor(np.asarray(waveform, dtype=np.float32))
    return interpretation_waveforms(spectrogram.unsqueeze(0).float().cpu(), mask.unsqueeze(0), wave.unsqueeze(0))[0].numpy()


def box_extent(box, sample_rate: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """``((start s, end s), (low Hz, high Hz))`` covered by a box: frame ``t`` is centred on ``t * hop``
    samples and bin ``f`` is ``f * rate / n_fft`` Hz."""
    f0, t0, f1, t1 = (int(v) for v in box)
    return (t0 * HOP_LENGTH / sample_rate, t1 * HOP_LENGTH / sample_rate), (f0 * sample_rate / N_FFT, f1 * sample_rate / N_FFT)


# ----------------------------------------------------------------------------- class prototypes (pooled embedding)


@dataclass
class PrototypeClips:
    """One KMEx prototype of class ``label``: the training clips of its cluster (``cluster_size``), the
    ``clips`` nearest to it (training indices, nearest first) with their squared ``distances`` and ``wavs``,
    and the spectrogram ``picture`` of the nearest."""

    prototype: int
    label: int
    cluster_size: int
    clips: list[int]
    distances: list[float]
    wavs: list[bytes]
    picture: np.ndarray


@torch.no_grad()
def nearest_clips(model: KMExModel, train: Split, label: int, per_prototype: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``(indices (M, n), squared distances (M, n))``: for each of the ``M`` prototypes of class ``label``,
    its ``n = per_prototype`` nearest training clips of that class (the model in eval mode)."""
    own = np.flatnonzero(train.labels == label)
    z = embed_split(model, train, own)
    m = model.prototypes_per_class
    dist = model.kmex.distances(z)[:, label * m : (label + 1) * m].T.cpu()  # (M, n_class)
    values, order = dist.sort(1)
    n = min(per_prototype, len(own))
    return own[order[:, :n].numpy()], values[:, :n].numpy()


def prototype_clips(model: KMExModel, train: Split, label: int, per_prototype: int = 3, *, display: int = 160) -> list[PrototypeClips]:
    """:class:`PrototypeClips` of every prototype of class ``label``; pictures about ``display`` pixels wide."""
    index, dist = nearest_clips(model, train, label, per_prototype)
    sizes = model.buffer("cluster_sizes").cpu()
    m = model.prototypes_per_class
    out = []
    for j in range(m):
        k = label * m + j
        picture = spectrogram_image(train.inputs([int(index[j, 0])])[0])
        out.append(PrototypeClips(k, label, int(sizes[k]), [int(i) for i in index[j]], [float(d) for d in dist[j]],
                                  [clip_wav(train, i) for i in index[j]], enlarge(picture, max(1, display // picture.shape[1]))))
    return out


# ----------------------------------------------------------------------------- encoder prototypes (time-frequency cells)


@dataclass
class PatchSound:
    """The representative patch of encoder prototype ``prototype`` (class ``label``): training clip
    ``clip``, its ``box`` ``(f0, t0, f1, t1)`` spanning ``seconds`` and ``hertz``, the palette ``color`` of the
    explanation map, the time-frequency ``crop`` of the spectrogram and ``wav``, the clip's sound kept only
    inside the box's cells."""

    prototype: int
    label: int
    clip: int
    box: tuple[int, int, int, int]
    seconds: tuple[float, float]
    hertz: tuple[float, float]
    color: str
    crop: np.ndarray
    wav: bytes

    @property
    def caption(self) -> str:
        (start, end), (low, high) = self.seconds, self.hertz
        return f"#{self.prototype} · clip {self.clip} · {start:.2f}–{end:.2f} s · {low:.0f}–{high:.0f} Hz"


def patch_sounds(model: KMExModel, train: Split, variant: str, label: int, *, display: int = 120) -> list[PatchSound]:
    """:class:`PatchSound` of every ``variant`` (``"b4"``, ``"b234"``) prototype of class ``label``; crops
    enlarged by whole pixels to about ``display`` pixels wide."""
    out = []
    for patch in model.representative_patches(variant, [label], train):
        spectrogram = train.inputs([patch.image_index])[0]
        y0, x0, y1, x1 = upright_box(patch.box, spectrogram.shape[-2])
        crop = spectrogram_image(spectrogram)[y0:y1, x0:x1]
        audio = sound_inside(spectrogram, train.data[patch.image_index], patch.box)
        seconds, hertz = box_extent(patch.box, train.info.sample_rate)
        out.append(PatchSound(patch.prototype, patch.label, patch.image_index, patch.box, seconds, hertz, hex_color(patch.color),
                              enlarge(crop, max(1, display // max(1, crop.shape[1]))), wav_bytes(audio, train.info.sample_rate)))
    return out


def point_sound(model: KMExModel, kind: str, source: int, train: Split, test: Split) -> bytes | None:
    """The clip behind a clicked Fig. 2 point as WAV (``kind``/``source`` from its ``customdata``): a train or
    test embedding plays its clip, a KMEx prototype its nearest training clip of its class, a ``c_j`` nothing."""
    if kind in ("train", "test"):
        return clip_wav(train if kind == "train" else test, source)
    if kind == "kmex":
        return clip_wav(train, int(model.buffer("prototype_images")[source]))
    return None


# ----------------------------------------------------------------------------- by loaded model (the page's cached calls)


def _train(loaded) -> Split:
    from interp_core.data import load_split

    return load_split(loaded.recipe.dataset, "train")


def loaded_prototype_clips(loaded, label: int) -> list[PrototypeClips]:
    """:func:`prototype_clips` of the loaded model on its training split."""
    return prototype_clips(loaded.model, _train(loaded), label)


def loaded_patch_sounds(loaded, variant: str, label: int) -> list[PatchSound]:
    """:func:`patch_sounds` of the loaded model on its training split."""
    return patch_sounds(loaded.model, _train(loaded), variant, label)


def loaded_point_sound(loaded, kind: str, source: int) -> bytes | None:
    """:func:`point_sound` on the model's own splits."""
    from interp_core.data import load_split

    return point_sound(loaded.model, kind, source, _train(loaded), load_split(loaded.recipe.dataset, "test"))
