"""What a view takes as input (:class:`InputSample`), and the one call that makes one from an upload."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from interp_core import guards
from interp_core.inputs.images import NOTES_KEY, load_image, prepare_image
from interp_core.inputs.sounds import load_audio, prepare_audio

#: Longest file name kept in messages and in :attr:`InputSample.source` of an upload.
_SHOWN_UPLOAD_NAME = 60
#: Rate sounds are resampled to when the dataset states none.
_DEFAULT_SAMPLE_RATE = 16000


@dataclass
class InputSample:
    """A model input and what a page shows beside it, from an upload or a dataset: ``x`` is ``(C, H, W)``
    float32 in [0, 1] for an image, ``(1, F, T)`` (log1p-magnitude STFT,
    :func:`interp_core.data.sounds.spectrogram`) for a sound; ``display`` the ``(H, W, 3)`` uint8 picture
    to show (the image as the model sees it, or the spectrogram); ``source`` where it came from
    (``"upload NAME"``, ``"DATASET test #i"``); ``label`` and ``mask`` its ground truth where known (never
    for an upload); ``waveform`` the ``(S,)`` float32 clip the model hears (sounds only); ``notes`` what
    was changed on the way (first frame, transparency, resampling, padding, ...)."""

    x: torch.Tensor
    display: np.ndarray
    source: str
    label: int | None = None
    mask: np.ndarray | None = None
    waveform: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.x = self.x.float().contiguous()  # what every explainer and cache key takes


def input_from_upload(kind: str, data: bytes, filename: str, input_shape: tuple[int, ...],
                      sample_rate: int | None) -> InputSample:
    """The bytes of an uploaded file as an input of a model trained on a ``kind`` dataset (``"image"`` or
    ``"audio"``) of inputs ``input_shape`` (``(C, H, W)`` for images) and, for sounds, ``sample_rate`` Hz
    (16000 when None).

    Raises :class:`~interp_core.inputs.InputError`, worded for the user, for an unusable file, a file of
    the other kind included ("“a.wav” is a sound (WAV), not an image. Upload a PNG, JPEG, ... file.");
    ``ValueError`` for a ``kind`` that is neither."""
    if kind not in ("image", "audio"):
        raise ValueError(f"kind must be 'image' or 'audio', got {kind!r}")
    from interp_core.visualize import image_to_uint8, spectrogram_image

    filename = guards.shorten(filename, _SHOWN_UPLOAD_NAME)
    source = f"upload {filename}"
    if kind == "image":
        image = load_image(data, filename)
        x = prepare_image(image, input_shape)
        return InputSample(x, image_to_uint8(x), source, notes=list(image.info.get(NOTES_KEY, [])))
    from interp_core.data.sounds import spectrogram

    rate = sample_rate or _DEFAULT_SAMPLE_RATE
    wave, notes = load_audio(data, filename, target_sr=rate)
    wave = prepare_audio(wave, sample_rate=rate, notes=notes)
    x = spectrogram(torch.from_numpy(np.asarray(wave, dtype=np.float32))[None])[0]
    return InputSample(x, spectrogram_image(x), source, waveform=wave, notes=list(notes))
