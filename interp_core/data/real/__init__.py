"""Loaders for real datasets in their published on-disk formats, from a folder the user names.

Every loader returns a :class:`Split` like the embedded datasets, so models, explainers and pages take
them unchanged: images as uint8 ``(N, H, W, C)`` with :func:`uint8_images_to_input`, audio as float32
waveforms ``(N, S)`` with the log-magnitude STFT of :mod:`interp_core.data.time_frequency` as model input.

One module per on-disk format (what the official archives unpack to), each with its loader and, where
``check-folder`` knows the kind, its folder check beside it, both reading the index files with one parser:

- :mod:`~interp_core.data.real.torchvision_formats`: MNIST, Fashion-MNIST, CIFAR-10, STL-10 (and their
  download through torchvision, the only download there is: ``download=True``);
- :mod:`~interp_core.data.real.cub`: CUB-200-2011 with attributes, boxes and segmentations;
- :mod:`~interp_core.data.real.image_folder`: ``<class>/<images>`` or ``<split>/<class>/<images>``;
- :mod:`~interp_core.data.real.esc50`: ESC-50 (``meta/esc50.csv`` + ``audio/*.wav``).

:data:`REAL_DATASETS` names them (``load_real(kind, root, split)``); :func:`load_named` and
:func:`named_info` serve a real dataset registered by name (``KIND[@SIZE]:ROOT``, see
:mod:`interp_core.external.datasets`).

Every file goes through :mod:`interp_core.guards` first, the guards of the upload widget: only regular
files are read (a named pipe or a device in the folder is refused from its ``stat``, never opened for
reading), sizes are checked before reading, header dimensions are multiplied as Python integers, images
get the upload pixel limit and the JPEG scan limit, sounds the channel and sample-rate limits and a read
that stops at the clip length, ids and paths are checked against the index files they come from, and
any exception of Pillow, libsndfile, pandas, the unpickler or the text decoder becomes a
:class:`DatasetFormatError` naming the file. :func:`check_real_folder` runs the same checks over a whole
folder without loading it and lists every problem.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from interp_core.data.base import DatasetFormatError, DatasetInfo, Split
from interp_core.data.real.common import PathLike, _existing_dir, _Problems
from interp_core.data.real.cub import CUB_SPLITS, _check_cub, load_cub
from interp_core.data.real.esc50 import ESC50_COLUMNS, ESC50_SPLIT_FOLDS, MAX_ESC50_TARGET, _check_esc50, _esc50_split, load_esc50
from interp_core.data.real.image_folder import (
    IMAGE_EXTENSIONS,
    IMAGE_FOLDER_DEFAULT_SIZE,
    IMAGE_FOLDER_NAMED_SPLITS,
    IMAGE_FOLDER_SPLITS,
    IMAGE_FOLDER_TEST_FRACTION,
    _check_image_folder,
    _split_folders,
    image_folder_split,
    load_image_folder,
)
from interp_core.data.real.torchvision_formats import (
    DOWNLOAD_PROBE_SECONDS,
    DOWNLOAD_SOCKET_TIMEOUT_SECONDS,
    TORCHVISION_DATASETS,
    TORCHVISION_SPLITS,
    DatasetDownloadError,
    load_torchvision,
)
from interp_core.registry import Registry

#: ``check(root, problems, decode) -> {what: how many checked}``: a kind's folder check (see check_real_folder).
FolderCheck = Callable[[Path, _Problems, bool], dict[str, int]]


@dataclass(frozen=True)
class RealDataset:
    """A real dataset kind: what its folder must hold, its split names, its loader and its folder check.

    ``load(root, split, **kwargs)`` returns a :class:`Split`; ``kwargs`` are the loader's own options
    (``max_samples``, ``image_size``, ``download``, ...). ``check`` is None for kinds ``check-folder``
    does not know.
    """

    name: str
    description: str
    layout: str
    splits: tuple[str, ...]
    load: Callable[..., Split]
    check: FolderCheck | None = None


def _torchvision_loader(name: str) -> Callable[..., Split]:
    return lambda root, split="train", **kwargs: load_torchvision(name, root, split, **kwargs)


#: The real dataset kinds by name; an unknown name raises a ``KeyError`` that lists the known ones.
REAL_DATASETS: Registry[RealDataset] = Registry("real dataset kind")
for _entry in (
    RealDataset("mnist", "MNIST handwritten digits, 28x28 gray", "MNIST/raw/*-idx?-ubyte (torchvision layout)",
                TORCHVISION_SPLITS, _torchvision_loader("mnist")),
    RealDataset("fashion-mnist", "Fashion-MNIST clothing, 28x28 gray", "FashionMNIST/raw/*-idx?-ubyte (torchvision layout)",
                TORCHVISION_SPLITS, _torchvision_loader("fashion-mnist")),
    RealDataset("cifar10", "CIFAR-10, 32x32 RGB, 10 classes", "cifar-10-batches-py/ (python version)",
                TORCHVISION_SPLITS, _torchvision_loader("cifar10")),
    RealDataset("stl10", "STL-10 labelled images, 96x96 RGB, 10 classes", "stl10_binary/ (binary version)",
                TORCHVISION_SPLITS, _torchvision_loader("stl10")),
    RealDataset("cub", "CUB-200-2011 birds, 200 classes, 312 attributes, masks", "CUB_200_2011/ (+ segmentations/)",
                CUB_SPLITS, load_cub, _check_cub),
    RealDataset("imagefolder", "Any images sorted into class folders", "<class>/<images> or <split>/<class>/<images>",
                IMAGE_FOLDER_NAMED_SPLITS, load_image_folder, _check_image_folder),
    RealDataset("esc50", "ESC-50 environmental sounds, 5 s, 50 classes (train folds 1-3, val 4, test 5)",
                "meta/esc50.csv + audio/*.wav", tuple(ESC50_SPLIT_FOLDS), _esc50_split, _check_esc50),
):
    REAL_DATASETS.register(_entry.name, _entry)

#: Kinds :func:`check_real_folder` knows.
CHECKABLE_KINDS = tuple(name for name, dataset in REAL_DATASETS.items() if dataset.check is not None)


def load_real(kind: str, root: PathLike, split: str | None = "train", **kwargs) -> Split:
    """Load ``split`` of a real dataset of ``kind`` (a name of :data:`REAL_DATASETS`) from ``root``.

    ``split=None`` is only meaningful for ``imagefolder`` (class folders directly under ``root``).
    """
    dataset = REAL_DATASETS.get(kind)
    if split is None and kind != "imagefolder":
        raise ValueError(f"{kind} needs a split, one of {', '.join(dataset.splits)}.")
    return dataset.load(root, split, **kwargs)


def check_real_folder(kind: str, root: PathLike, decode: bool = False) -> dict[str, object]:
    """Validate a real-dataset folder the way its loader would read it, without loading it, and list
    every problem found (not only the first): ``{"kind", "root", "ok", "checked", "errors", "warnings",
    "problems": [{"severity", "path", "message"}, ...]}``. Files are checked one at a time (regular
    file, size, header dimensions, pixel and JPEG-scan limits, sound header limits, ids and paths
    against the index files); ``decode=True`` also decodes each file once. ``ok`` means no error."""
    if kind not in CHECKABLE_KINDS:
        raise ValueError(f"check-folder knows {', '.join(CHECKABLE_KINDS)}; got {kind!r}.")
    problems = _Problems()
    base = Path(root).expanduser()
    checked: dict[str, int] = {}
    try:
        base = _existing_dir(base, kind)
    except DatasetFormatError as err:
        problems.add(base, str(err))
    else:
        checked = REAL_DATASETS.get(kind).check(base, problems, decode)
    return {
        "kind": kind, "root": str(base), "ok": problems.counts["error"] == 0, "checked": checked,
        "errors": problems.counts["error"], "warnings": problems.counts["warning"],
        "listed": len(problems.items), "problems": problems.items,
    }


# ---------------------------------------------------------------- real datasets registered by name

def load_named(split: str = "train", *, name: str, kind: str, root: PathLike, image_size: int | None = None,
               **kwargs) -> Split:
    """Split ``split`` of the real dataset registered as ``name`` (``KIND[@SIZE]:ROOT``, see
    :mod:`interp_core.external.datasets`), with ``split.info.name == name``: ``train`` / ``test`` for
    every kind (ESC-50 also ``val``: folds 1-3 / 5 / 4); a flat ImageFolder holds out a seeded fifth of
    each class as ``test``. ``image_size``: the square side for CUB and ImageFolder (None: the loader's)."""
    if image_size is not None:
        kwargs["image_size"] = int(image_size)
    if kind == "imagefolder":
        split_data = image_folder_split(root, split, **{"image_size": IMAGE_FOLDER_DEFAULT_SIZE, **kwargs})
    else:
        split_data = load_real(kind, root, split, **kwargs)
    split_data.info = replace(split_data.info, name=name)
    return split_data


_NAMED_INFO: dict[tuple, DatasetInfo] = {}


def named_info(*, name: str, kind: str, root: PathLike, image_size: int | None = None) -> DatasetInfo:
    """The :class:`DatasetInfo` of :func:`load_named`'s dataset (classes, input shape), read from one
    sample of its training split and kept for the process."""
    key = (name, kind, str(root), image_size)
    if key not in _NAMED_INFO:
        if kind == "imagefolder":  # class names are the folders (of every split): one decoded image suffices
            base = _existing_dir(root, "ImageFolder")
            split = "train" if _split_folders(base) else None
            one = load_image_folder(base, split, int(image_size or IMAGE_FOLDER_DEFAULT_SIZE), max_samples=1)
        else:
            one = load_named("train", name=name, kind=kind, root=root, image_size=image_size, max_samples=1)
        _NAMED_INFO[key] = replace(one.info, name=name)
    return _NAMED_INFO[key]


__all__ = [
    "CHECKABLE_KINDS",
    "DOWNLOAD_PROBE_SECONDS",
    "DOWNLOAD_SOCKET_TIMEOUT_SECONDS",
    "DatasetDownloadError",
    "ESC50_COLUMNS",
    "ESC50_SPLIT_FOLDS",
    "IMAGE_EXTENSIONS",
    "IMAGE_FOLDER_SPLITS",
    "IMAGE_FOLDER_TEST_FRACTION",
    "MAX_ESC50_TARGET",
    "REAL_DATASETS",
    "RealDataset",
    "TORCHVISION_DATASETS",
    "check_real_folder",
    "load_cub",
    "load_esc50",
    "load_image_folder",
    "load_named",
    "load_real",
    "load_torchvision",
    "named_info",
]
