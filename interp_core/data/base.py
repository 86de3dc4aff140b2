"""Common containers for every dataset: in-memory splits with model-ready batches and a disk cache."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from interp_core.paths import cache_subdir


class DatasetFormatError(ValueError):
    """A dataset folder or file is malformed; the message says what is wrong and where."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset.

    ``kind`` is ``"image"`` (inputs ``(C, H, W)`` in [0, 1]) or ``"audio"`` (inputs are log-magnitude
    spectrograms ``(1, F, T)``; waveforms at ``sample_rate`` Hz are kept beside them).
    """

    name: str
    kind: str
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    attribute_names: tuple[str, ...] = ()
    sample_rate: int | None = None
    description: str = ""
    #: names of the values of ``extras["backgrounds"]`` (datasets with annotated backgrounds)
    background_names: tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass
class Split:
    """One split held in memory as numpy arrays.

    ``data`` is the raw storage (uint8 images ``(N, H, W, C)`` or float32 waveforms ``(N, S)``),
    ``labels`` ``(N,)`` int64; ``extras`` holds per-sample ground truth such as ``masks``,
    ``attributes``, ``backgrounds``. ``to_input`` turns a slice of ``data`` into the model input batch.
    """

    info: DatasetInfo
    data: np.ndarray
    labels: np.ndarray
    to_input: Callable[[np.ndarray], torch.Tensor]
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    captions: list[str] | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def inputs(self, index: np.ndarray | slice | list[int]) -> torch.Tensor:
        """Model-ready float32 batch for the given sample indices."""
        if isinstance(index, list):
            index = np.asarray(index, dtype=np.int64)
        return self.to_input(np.asarray(self.data[index]))

    def subset(self, index: np.ndarray) -> "Split":
        return Split(
            info=self.info,
            data=self.data[index],
            labels=self.labels[index],
            to_input=self.to_input,
            extras={k: v[index] for k, v in self.extras.items()},
            captions=[self.captions[i] for i in index] if self.captions is not None else None,
        )


def uint8_images_to_input(images: np.ndarray) -> torch.Tensor:
    """``(N, H, W, C)`` uint8 -> ``(N, C, H, W)`` float32 in [0, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    return tensor.permute(0, 3, 1, 2).float().div_(255.0)


def params_hash(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:12]


def cached_arrays(key: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Load the arrays cached under ``key`` or build and cache them (written atomically).

    Arrays are stored as one ``.npy`` per name in a folder that is renamed into place only when
    complete, so an interrupted build never leaves a half-written cache behind.
    """
    root = cache_subdir("datasets")
    folder = root / key
    done = folder / "COMPLETE"
    if done.exists():
        try:
            names = json.loads(done.read_text())
            return {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in names}
        except (OSError, ValueError):
            shutil.rmtree(folder, ignore_errors=True)
    arrays = build()
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
        (tmp / "COMPLETE").write_text(json.dumps(sorted(arrays)))
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return arrays
