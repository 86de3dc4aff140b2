"""Loaders for real datasets in their published on-disk formats, from a folder the user names.

Every loader returns a :class:`Split` like the embedded datasets, so models, explainers and pages take
them unchanged: images as uint8 ``(N, H, W, C)`` with :func:`uint8_images_to_input`, audio as float32
waveforms ``(N, S)`` with the log-magnitude STFT of :mod:`interp_core.data.sounds` as model input.

Supported layouts (what the official archives unpack to):

- MNIST / Fashion-MNIST: the four idx files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-...``; gzipped ``.gz`` copies are read too) in ``root/MNIST/raw`` (torchvision's layout; for
  Fashion-MNIST ``root/FashionMNIST/raw``), ``root/raw`` or ``root`` itself.
- CIFAR-10: ``root/cifar-10-batches-py/`` with ``data_batch_1..5``, ``test_batch``, ``batches.meta``.
- STL-10: ``root/stl10_binary/`` with ``train_X.bin``, ``train_y.bin``, ``test_X.bin``, ``test_y.bin``,
  ``class_names.txt``.
- CUB-200-2011: ``root`` (or ``root/CUB_200_2011``) with ``images.txt``, ``classes.txt``,
  ``image_class_labels.txt``, ``train_test_split.txt``, ``bounding_boxes.txt``, ``images/``, optional
  ``attributes/`` and optional ``segmentations/`` (beside or inside the CUB folder).
- ImageFolder: ``root/<class>/<image>`` or ``root/<split>/<class>/<image>``.
- ESC-50: ``root`` (or ``root/ESC-50-master``) with ``meta/esc50.csv`` and ``audio/*.wav``.

Nothing is downloaded unless a loader is called with ``download=True`` (torchvision datasets only).

Why the torchvision formats are parsed here rather than through ``torchvision.datasets``: torchvision
checks the MD5 of every file of every split on each load (for STL-10 that includes the 2.6 GB
``unlabeled_X.bin`` even to read ``test``), so it rejects any copy that is not byte-identical to the
original archive, and it unpickles CIFAR batches with plain :mod:`pickle`. The formats are small and
fixed, so we read them directly, with a restricted unpickler that only rebuilds numpy arrays, and use
torchvision only to download.

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

import concurrent.futures
import contextlib
import csv
import gzip
import io
import math
import os
import pickle
import socket
import struct
import threading
import warnings
from zlib import error as zlib_error
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence
from urllib.parse import urlparse

import numpy as np

from interp_core import guards
from interp_core.data.base import DatasetFormatError, DatasetInfo, Split, uint8_images_to_input

PathLike = str | os.PathLike

TORCHVISION_DATASETS = ("mnist", "fashion-mnist", "cifar10", "stl10")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
IMAGE_FOLDER_SPLITS = ("train", "val", "valid", "validation", "test")
ESC50_SPLIT_FOLDS: dict[str, tuple[int, ...]] = {"train": (1, 2, 3), "val": (4,), "test": (5,)}
ESC50_COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
# A reachability probe before torchvision's download, so an offline machine fails in seconds.
DOWNLOAD_PROBE_SECONDS = 5.0
DOWNLOAD_SOCKET_TIMEOUT_SECONDS = 30.0
_SUBSAMPLE_SEED = 0
#: Largest class id (``target``) accepted in esc50.csv; ESC-50 has 0-49.
MAX_ESC50_TARGET = 9_999


@contextlib.contextmanager
def _format_errors() -> Iterator[None]:
    """Re-raise a guard's refusal as the loaders' own :class:`DatasetFormatError`."""
    try:
        yield
    except guards.GuardError as err:
        raise DatasetFormatError(str(err)) from None


class DatasetDownloadError(DatasetFormatError):
    """``download=True`` was asked for but the files could not be fetched (no network, server error)."""


# ---------------------------------------------------------------- shared helpers

def _existing_dir(root: PathLike, what: str) -> Path:
    path = Path(root).expanduser()
    if not path.exists():
        raise DatasetFormatError(f"{what}: folder {path} does not exist.")
    if not path.is_dir():
        raise DatasetFormatError(f"{what}: {path} is a file; pass the folder that contains the dataset.")
    return path


def _check_split(split: str, allowed: Sequence[str], what: str) -> None:
    if split not in allowed:
        raise ValueError(f"Unknown split {split!r} for {what}; expected one of {', '.join(map(repr, allowed))}.")


def _subsample(n: int, max_samples: int | None) -> np.ndarray:
    """Indices of a seeded random subset of ``max_samples`` out of ``n`` (sorted, so file order is kept).

    Random rather than the first ``max_samples``, because real datasets are stored sorted by class.
    """
    if max_samples is None or max_samples >= n:
        return np.arange(n)
    if max_samples < 1:
        raise ValueError(f"max_samples must be at least 1, got {max_samples}.")
    rng = np.random.default_rng(_SUBSAMPLE_SEED)
    return np.sort(rng.choice(n, size=max_samples, replace=False))


def _resize_center_crop(image, size: int, resample) -> tuple[object, tuple[float, float, float, float]]:
    """Resize a PIL image so its shorter side is ``size``, then crop the central ``size x size`` square.

    Returns the square image and ``(scale_x, scale_y, left, top)``: a point ``(x, y)`` of the original
    lands at ``(x * scale_x - left, y * scale_y - top)``.
    """
    width, height = image.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    left, top = (new_w - size) // 2, (new_h - size) // 2
    resized = image.resize((new_w, new_h), resample)
    return resized.crop((left, top, left + size, top + size)), (new_w / width, new_h / height, left, top)


def _thread_map(function: Callable, items: Sequence) -> list:
    """Decode files on a few threads: PIL and libsndfile release the GIL while decoding."""
    if len(items) < 16:
        return [function(item) for item in items]
    workers = min(8, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


# ---------------------------------------------------------------- torchvision formats

_FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_STL10_CLASSES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")
_TORCHVISION_CLASS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10", "stl10": "STL10"}
_CIFAR_FOLDER = "cifar-10-batches-py"
_STL_FOLDER = "stl10_binary"
_STL_SIDE = 96


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """An idx file (LeCun's MNIST format, optionally gzipped) of unsigned bytes with ``ndim`` dimensions.

    Header: two zero bytes, a type code (0x08 = ubyte), the number of dimensions, then one big-endian
    uint32 per dimension; the values follow.
    """
    header = 4 + 4 * ndim
    with _format_errors(), guards.open_regular(path, None, "idx files") as (handle, size):
        try:
            stream = gzip.GzipFile(fileobj=handle, mode="rb") if path.suffix == ".gz" else handle
            head = stream.read(header)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                raise DatasetFormatError(f"{path} is not an idx file (it must start with two zero bytes).")
            if head[2] != 0x08:
                raise DatasetFormatError(f"{path} holds idx type 0x{head[2]:02x}; expected 0x08 (unsigned bytes).")
            if head[3] != ndim:
                raise DatasetFormatError(f"{path} has {head[3]} dimensions; expected {ndim}.")
            if len(head) < header:
                raise DatasetFormatError(f"{path} is truncated inside its header.")
            shape = struct.unpack(f">{ndim}I", head[4:header])
            expected = math.prod(shape)  # Python integers: a product of uint32 dims cannot wrap around
            if path.suffix != ".gz" and size - header != expected:
                raise DatasetFormatError(
                    f"{path} declares shape {shape} ({expected} bytes of data) but holds {size - header} bytes."
                )
            if expected > guards.MAX_ARRAY_FILE_BYTES:
                raise DatasetFormatError(f"{path} declares shape {shape} ({expected:,} bytes), far beyond any idx dataset.")
            raw = stream.read(expected + 1)  # a gzip stream cannot state its size: stop one byte past it
        except (OSError, EOFError, gzip.BadGzipFile, zlib_error) as err:
            raise DatasetFormatError(f"Cannot read {path}: {err}.") from None
    if len(raw) != expected:
        raise DatasetFormatError(
            f"{path} declares shape {shape} ({expected} bytes of data) but holds {len(raw) if len(raw) <= expected else 'more'} bytes."
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape).copy()


def _find_idx_pair(root: Path, class_folder: str, split: str) -> tuple[Path, Path] | None:
    prefix = "train" if split == "train" else "t10k"
    for folder in (root / class_folder / "raw", root / "raw", root):
        for suffix in ("", ".gz"):
            images = folder / f"{prefix}-images-idx3-ubyte{suffix}"
            labels = folder / f"{prefix}-labels-idx1-ubyte{suffix}"
            if os.path.lexists(images) and os.path.lexists(labels):
                return images, labels
    return None


def _load_mnist_like(name: str, root: Path, split: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None:
    pair = _find_idx_pair(root, _TORCHVISION_CLASS[name], split)
    if pair is None:
        return None
    images = _read_idx(pair[0], 3)
    labels = _read_idx(pair[1], 1).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise DatasetFormatError(f"{pair[0]} holds {images.shape[0]} images but {pair[1]} holds {labels.shape[0]} labels.")
    if labels.size and labels.max() > 9:
        raise DatasetFormatError(f"{pair[1]} holds label {labels.max()}; expected labels 0-9.")
    classes = tuple(str(d) for d in range(10)) if name == "mnist" else _FASHION_CLASSES
    return images[..., None], labels, classes


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler for CIFAR batches that only rebuilds numpy arrays, so a crafted file cannot run code.

    The official batches are Python 2 pickles of dicts of lists, strings and uint8 arrays; the names
    below are all an array needs (``numpy.core`` in old pickles, ``numpy._core`` in new ones).
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refers to {module}.{name}, which a CIFAR batch never contains")
        return super().find_class(module, name)


def _read_cifar_pickle(path: Path) -> dict:
    with _format_errors():
        raw = guards.read_limited(path, guards.MAX_PICKLE_BYTES, "CIFAR-10 files")
    try:
        # From memory: a length the pickle declares beyond its end is "truncated", never an allocation.
        content = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except MemoryError:
        raise DatasetFormatError(f"Cannot read CIFAR-10 file {path}: it declares more data than fits in memory.") from None
    except Exception as err:  # the unpickler raises anything a crafted opcode stream provokes
        reason = str(err)[:160] if isinstance(err, (pickle.UnpicklingError, EOFError, ValueError)) else f"{type(err).__name__}: {str(err)[:160]}"
        raise DatasetFormatError(f"Cannot read CIFAR-10 file {path}: {reason}.") from None
    if not isinstance(content, dict):
        raise DatasetFormatError(f"{path} holds a {type(content).__name__}; expected a dict as in CIFAR-10's python batches.")
    # Batches re-pickled under Python 3 with encoding='bytes' have bytes keys.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in content.items()}


def _load_cifar10(root: Path, split: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None:
    folder = root / _CIFAR_FOLDER if (root / _CIFAR_FOLDER).is_dir() else root
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    present = [os.path.lexists(folder / n) for n in names]
    if not any(present):
        return None
    if not all(present):
        missing = ", ".join(n for n, p in zip(names, present) if not p)
        raise DatasetFormatError(f"CIFAR-10 folder {folder} lacks {missing} (the {split} split needs {', '.join(names)}).")
    images, labels = [], []
    for name in names:
        batch = _read_cifar_pickle(folder / name)
        data, batch_labels = batch.get("data"), batch.get("labels")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            raise DatasetFormatError(f"{folder / name}: 'data' must be a uint8 array (N, 3072) (32x32 RGB, channel-planar).")
        if batch_labels is None or len(batch_labels) != data.shape[0]:
            raise DatasetFormatError(f"{folder / name}: 'labels' must list one label per row of 'data' ({data.shape[0]}).")
        # Each row is 1024 red, then 1024 green, then 1024 blue values, each plane row-major.
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch_labels, dtype=np.int64))
    classes = _CIFAR10_CLASSES
    meta = folder / "batches.meta"
    if os.path.lexists(meta):
        names_in_meta = _read_cifar_pickle(meta).get("label_names")
        if not isinstance(names_in_meta, list) or not names_in_meta:
            raise DatasetFormatError(f"{meta} has no 'label_names' list.")
        classes = tuple(n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names_in_meta)
    all_labels = np.concatenate(labels)
    if all_labels.size and (all_labels.min() < 0 or all_labels.max() >= len(classes)):
        raise DatasetFormatError(f"CIFAR-10 labels in {folder} fall outside 0-{len(classes) - 1}.")
    return np.ascontiguousarray(np.concatenate(images)), all_labels, classes


def _load_stl10(root: Path, split: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None:
    folder = root / _STL_FOLDER if (root / _STL_FOLDER).is_dir() else root
    x_path, y_path = folder / f"{split}_X.bin", folder / f"{split}_y.bin"
    if not os.path.lexists(x_path) and not os.path.lexists(y_path):
        return None
    for path in (x_path, y_path):
        if not os.path.lexists(path):
            raise DatasetFormatError(
                f"STL-10 folder {folder} lacks {path.name} (the {split} split needs {x_path.name} and {y_path.name})."
            )
    with _format_errors():
        guards.regular_file(x_path, guards.MAX_ARRAY_FILE_BYTES, "STL-10 files")
        guards.regular_file(y_path, guards.MAX_ARRAY_FILE_BYTES, "STL-10 files")
    raw = np.fromfile(x_path, dtype=np.uint8)
    per_image = 3 * _STL_SIDE * _STL_SIDE
    if raw.size % per_image:
        raise DatasetFormatError(f"{x_path} holds {raw.size} bytes, not a multiple of {per_image} (96x96 RGB images).")
    # Stored channel-planar and column-major: (N, C, W, H) -> (N, H, W, C).
    images = raw.reshape(-1, 3, _STL_SIDE, _STL_SIDE).transpose(0, 3, 2, 1)
    labels = np.fromfile(y_path, dtype=np.uint8).astype(np.int64) - 1
    if labels.shape[0] != images.shape[0]:
        raise DatasetFormatError(f"{x_path} holds {images.shape[0]} images but {y_path} holds {labels.shape[0]} labels.")
    classes = _STL10_CLASSES
    names_file = folder / "class_names.txt"
    if os.path.lexists(names_file):
        with _format_errors():
            text = guards.read_text(names_file, 1 << 20)
        listed = tuple(line.strip() for line in text.splitlines() if line.strip())
        if listed:
            classes = listed
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DatasetFormatError(f"{y_path} holds labels outside 1-{len(classes)} (STL-10 labels are 1-based).")
    return np.ascontiguousarray(images), labels, classes


def _read_torchvision(name: str, root: Path, split: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None:
    """``(images (N, H, W, C) uint8, labels (N,), class names)``, or None when ``root`` lacks the files."""
    if not root.is_dir():
        return None
    if name in ("mnist", "fashion-mnist"):
        return _load_mnist_like(name, root, split)
    return _load_cifar10(root, split) if name == "cifar10" else _load_stl10(root, split)


def _expected_layout(name: str, root: Path, split: str) -> str:
    if name in ("mnist", "fashion-mnist"):
        prefix = "train" if split == "train" else "t10k"
        folder = root / _TORCHVISION_CLASS[name] / "raw"
        return f"{prefix}-images-idx3-ubyte and {prefix}-labels-idx1-ubyte (or .gz) in {folder}, {root / 'raw'} or {root}"
    if name == "cifar10":
        return f"{root / _CIFAR_FOLDER} with data_batch_1..5, test_batch and batches.meta"
    return f"{root / _STL_FOLDER} with {split}_X.bin and {split}_y.bin"


@contextlib.contextmanager
def _default_socket_timeout(seconds: float) -> Iterator[None]:
    # torchvision opens URLs without a timeout; a stalled connection would otherwise hang forever.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _download_url(name: str) -> str:
    import torchvision.datasets as tvd

    cls = getattr(tvd, _TORCHVISION_CLASS[name])
    if hasattr(cls, "mirrors"):
        return f"{cls.mirrors[0]}{cls.resources[0][0]}"
    return cls.url


def _download_torchvision(name: str, root: Path) -> None:
    """Fetch the archive with torchvision into ``root`` (its standard layout), failing fast when offline."""
    url = _download_url(name)
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    outcome: dict[str, object] = {}

    def probe() -> None:
        try:
            socket.create_connection((parsed.hostname, port), DOWNLOAD_PROBE_SECONDS).close()
            outcome["ok"] = True
        except OSError as err:
            outcome["error"] = err

    # On a thread because the connect timeout does not bound the DNS lookup, which can stall offline.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(DOWNLOAD_PROBE_SECONDS + 1.0)
    if "ok" not in outcome:
        reason = outcome.get("error") or f"no answer within {DOWNLOAD_PROBE_SECONDS:g} s"
        raise DatasetDownloadError(
            f"Cannot download {name}: {parsed.hostname} is unreachable ({reason}). Download {url} on a machine with "
            f"internet access and unpack it into {root}, or call again without download=True once the files are there."
        )
    import torchvision.datasets as tvd

    cls = getattr(tvd, _TORCHVISION_CLASS[name])
    root.mkdir(parents=True, exist_ok=True)
    try:
        with _default_socket_timeout(DOWNLOAD_SOCKET_TIMEOUT_SECONDS):
            if name == "stl10":
                cls(str(root), split="test", download=True)
            else:
                cls(str(root), train=True, download=True)
    except (RuntimeError, OSError) as err:
        raise DatasetDownloadError(f"Downloading {name} into {root} failed: {err}") from err


def load_torchvision(
    name: str, root: PathLike, split: str = "train", download: bool = False, max_samples: int | None = None
) -> Split:
    """One split of MNIST, Fashion-MNIST, CIFAR-10 or STL-10 from the files torchvision downloads.

    ``name`` is one of ``'mnist'``, ``'fashion-mnist'``, ``'cifar10'``, ``'stl10'``; ``split`` is
    ``'train'`` or ``'test'``. Returns uint8 images ``(N, 28, 28, 1)`` (MNIST, Fashion-MNIST),
    ``(N, 32, 32, 3)`` (CIFAR-10) or ``(N, 96, 96, 3)`` (STL-10) and labels ``(N,)`` 0-9.
    With ``download=True`` and the files absent, torchvision fetches them into ``root`` first; without
    network this raises :class:`DatasetDownloadError` within seconds.
    """
    if name not in TORCHVISION_DATASETS:
        raise ValueError(f"Unknown torchvision dataset {name!r}; expected one of {', '.join(TORCHVISION_DATASETS)}.")
    _check_split(split, ("train", "test"), name)
    root = Path(root).expanduser()
    loaded = _read_torchvision(name, root, split)
    if loaded is None and download:
        _download_torchvision(name, root)
        loaded = _read_torchvision(name, root, split)
    if loaded is None:
        where = "does not exist" if not root.exists() else "does not hold it"
        raise DatasetFormatError(
            f"{name} ({split}) not found: {root} {where}. Expected {_expected_layout(name, root, split)}. "
            f"Pass download=True to fetch it (needs internet), or unpack the official archive there."
        )
    images, labels, classes = loaded
    keep = _subsample(labels.shape[0], max_samples)
    images, labels = images[keep], labels[keep]
    info = DatasetInfo(
        name=name,
        kind="image",
        class_names=classes,
        input_shape=(images.shape[3], images.shape[1], images.shape[2]),
        description=f"{name} {split} split read from {root}.",
    )
    return Split(info, np.ascontiguousarray(images), labels, uint8_images_to_input)


# ---------------------------------------------------------------- CUB-200-2011

def _read_rows(path: Path, min_fields: int, what: str) -> list[list[str]]:
    """Whitespace-separated lines of a CUB metadata file (blank lines skipped)."""
    if not os.path.lexists(path):
        raise DatasetFormatError(f"CUB-200-2011: missing {path} ({what}).")
    rows = []
    with _format_errors():
        text = guards.read_text(path, guards.MAX_INDEX_FILE_BYTES, errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < min_fields:
            raise DatasetFormatError(f"{path}, line {number}: expected {min_fields} fields ({what}), got {line!r}.")
        rows.append(fields)
    return rows


def _id_table(path: Path, what: str, columns: int, parse: Callable[[list[str]], object]) -> dict[int, object]:
    """``{id: parse(fields after the id)}`` from a CUB file whose lines start with an integer id."""
    table = {}
    for number, fields in enumerate(_read_rows(path, columns + 1, what), start=1):
        with _format_errors():
            key = guards.parse_id(fields[0], f"{path}, line {number}")
        if key in table:
            raise DatasetFormatError(f"{path}, line {number}: id {key} is listed twice.")
        try:
            table[key] = parse(fields[1:])
        except (ValueError, OverflowError) as err:
            raise DatasetFormatError(f"{path}: cannot parse {' '.join(fields)[:120]!r} as {what} ({err}).") from None
    return table


def _cub_class_name(folder_name: str) -> str:
    # "001.Black_footed_Albatross" -> "Black footed Albatross"
    return folder_name.split(".", 1)[-1].replace("_", " ")


def _find_cub_root(root: Path) -> Path:
    for candidate in (root, root / "CUB_200_2011"):
        if os.path.lexists(candidate / "images.txt"):
            return candidate
    raise DatasetFormatError(
        f"CUB-200-2011 not found: expected images.txt (with classes.txt, image_class_labels.txt, "
        f"train_test_split.txt, bounding_boxes.txt and images/) in {root} or {root / 'CUB_200_2011'}."
    )


def _cub_attribute_names(cub: Path) -> tuple[Path, tuple[str, ...]]:
    # The official archive puts attributes.txt beside the CUB_200_2011 folder; repackaged copies inside it.
    for path in (cub / "attributes.txt", cub / "attributes" / "attributes.txt", cub.parent / "attributes.txt"):
        if os.path.lexists(path):
            names = _id_table(path, "attribute id and name", 1, lambda f: " ".join(f))
            return path, tuple(names[i] for i in sorted(names))
    raise DatasetFormatError(
        f"CUB-200-2011: {cub / 'attributes' / 'image_attribute_labels.txt'} exists but the attribute names do not: "
        f"expected attributes.txt in {cub}, {cub / 'attributes'} or {cub.parent}."
    )


def _cub_attributes(path: Path, image_ids: np.ndarray, num_attributes: int,
                    known_ids: set[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(present, certainty)`` uint8 ``(N, A)`` for ``image_ids`` from ``image_attribute_labels.txt``.

    Lines are ``image_id attribute_id is_present certainty_id time``; the official file has a few lines
    with extra fields, so only the first four are used.
    """
    import pandas as pd

    with _format_errors():
        guards.regular_file(path, guards.MAX_INDEX_FILE_BYTES, "index files")
    try:
        # Eight columns leave room for the malformed lines (pandas' usecols mis-handles ragged lines);
        # the C parser reads the 3.7 M lines in a few seconds, a Python loop takes four times longer.
        table = pd.read_csv(path, sep=r"\s+", header=None, names=list(range(8)), encoding="latin-1")[[0, 1, 2, 3]]
    except Exception as err:  # pandas raises ParserError, ValueError, MemoryError, csv errors, ...
        raise DatasetFormatError(f"Cannot parse {path}: {type(err).__name__}: {str(err)[:160]}.") from None
    values = table.apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DatasetFormatError(
            f"{path}, data line {row + 1}: expected 'image_id attribute_id is_present certainty_id time', "
            f"got {' '.join(str(v) for v in table.iloc[row] if not pd.isna(v))!r}."
        )
    ids, attrs, present, certainty = (values[c].to_numpy(dtype=np.int64) for c in range(4))
    if attrs.size and (attrs.min() < 1 or attrs.max() > num_attributes):
        raise DatasetFormatError(f"{path} refers to attribute ids outside 1-{num_attributes} (the ids of attributes.txt).")
    if present.size and (present.min() < 0 or present.max() > 1):
        raise DatasetFormatError(f"{path}: is_present must be 0 or 1.")
    if certainty.size and (certainty.min() < 0 or certainty.max() > 255):
        raise DatasetFormatError(f"{path}: certainty_id out of range.")
    if known_ids is not None and ids.size:
        known = np.fromiter(known_ids, dtype=np.int64, count=len(known_ids))
        unknown = ids[~np.isin(ids, known)]
        if unknown.size:
            raise DatasetFormatError(f"{path} refers to image id {int(unknown[0])}, which images.txt does not list.")
    # Ids are looked up in the sorted ids of the split, never used as array indices: an id of 10**12
    # must not allocate a terabyte. Ids absent from images.txt are refused; others are other splits'.
    order = np.argsort(image_ids)
    sorted_ids = image_ids[order]
    slot = np.clip(np.searchsorted(sorted_ids, ids), 0, max(len(sorted_ids) - 1, 0))
    keep = sorted_ids[slot] == ids if len(sorted_ids) else np.zeros(len(ids), dtype=bool)
    rows = order[slot]
    out_present = np.zeros((len(image_ids), num_attributes), dtype=np.uint8)
    out_certainty = np.zeros((len(image_ids), num_attributes), dtype=np.uint8)
    out_present[rows[keep], attrs[keep] - 1] = present[keep]
    out_certainty[rows[keep], attrs[keep] - 1] = certainty[keep]
    return out_present, out_certainty


def _find_segmentations(cub: Path) -> Path | None:
    for path in (cub / "segmentations", cub.parent / "segmentations"):
        if path.is_dir():
            return path
    return None


def load_cub(
    root: PathLike,
    split: str = "train",
    image_size: int = 224,
    max_samples: int | None = None,
    with_segmentations: bool = True,
) -> Split:
    """One split (``'train'`` / ``'test'`` from ``train_test_split.txt``) of CUB-200-2011.

    Images are resized so the shorter side is ``image_size`` and centre-cropped to a square: ``data``
    uint8 ``(N, S, S, 3)``, ``labels`` ``(N,)`` 0-199 (class id - 1). ``extras``:

    - ``image_ids`` ``(N,)`` int64, the ids of ``images.txt``;
    - ``boxes`` ``(N, 4)`` float32 ``(x, y, w, h)`` in output pixels, clipped to the crop;
    - ``attributes`` ``(N, 312)`` uint8 is_present and ``attribute_certainty`` ``(N, 312)`` uint8
      (1 not visible, 2 guessing, 3 probably, 4 definitely; 0 where unannotated), when
      ``attributes/image_attribute_labels.txt`` exists;
    - ``masks`` ``(N, S, S)`` bool, when ``with_segmentations`` and a ``segmentations/`` folder exists:
      the annotators' averaged mask thresholded at one half, resized and cropped like the image.
    """
    from PIL import Image

    _check_split(split, ("train", "test"), "CUB-200-2011")
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8, got {image_size}.")
    cub = _find_cub_root(_existing_dir(root, "CUB-200-2011"))
    paths = _id_table(cub / "images.txt", "image id and relative path", 1, lambda f: " ".join(f))
    class_folders = _id_table(cub / "classes.txt", "class id and name", 1, lambda f: f[0])
    image_labels = _id_table(cub / "image_class_labels.txt", "image id and class id", 1, lambda f: int(f[0]))
    is_train = _id_table(cub / "train_test_split.txt", "image id and is_training_image", 1, lambda f: int(f[0]))
    boxes = _id_table(cub / "bounding_boxes.txt", "image id, x, y, width, height", 4, lambda f: [float(v) for v in f[:4]])
    tables = {"image_class_labels.txt": image_labels, "train_test_split.txt": is_train, "bounding_boxes.txt": boxes}
    for file_name, table in tables.items():
        missing = sorted(set(paths) - set(table))
        if missing:
            raise DatasetFormatError(f"CUB-200-2011: image {missing[0]} of images.txt has no line in {cub / file_name}.")
    class_ids = sorted(class_folders)
    if class_ids != list(range(1, len(class_ids) + 1)):
        raise DatasetFormatError(f"{cub / 'classes.txt'}: class ids must run 1..{len(class_ids)} without gaps.")
    bad_label = next((i for i, c in image_labels.items() if not 1 <= c <= len(class_ids)), None)
    if bad_label is not None:
        raise DatasetFormatError(
            f"{cub / 'image_class_labels.txt'}: image {bad_label} has class {image_labels[bad_label]}, not in classes.txt."
        )

    wanted = 1 if split == "train" else 0
    ids = np.array(sorted(i for i in paths if is_train[i] == wanted), dtype=np.int64)
    if ids.size == 0:
        raise DatasetFormatError(f"CUB-200-2011: {cub / 'train_test_split.txt'} marks no image as {split}.")
    ids = ids[_subsample(len(ids), max_samples)]
    image_dir = cub / "images"
    with _format_errors():
        for i in ids:
            guards.contained_path(image_dir, paths[int(i)], f"{cub / 'images.txt'}, image {int(i)}")
    missing = [int(i) for i in ids if not os.path.lexists(image_dir / paths[int(i)])]
    if missing:
        shown = ", ".join(f"{image_dir / paths[i]} (image {i})" for i in missing[:3])
        raise DatasetFormatError(f"CUB-200-2011: {len(missing)} image(s) listed in images.txt are missing: {shown}.")

    segmentations = _find_segmentations(cub) if with_segmentations else None

    def load_one(image_id: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        relative = paths[image_id]
        try:
            with guards.decode_image_file(image_dir / relative) as img:
                rgb = img.convert("RGB")
        except guards.GuardError as err:
            raise DatasetFormatError(f"CUB-200-2011: {err}") from None
        except Exception as err:  # a conversion Pillow cannot do
            raise DatasetFormatError(f"CUB-200-2011: cannot decode {image_dir / relative}: {err}.") from None
        square, (sx, sy, left, top) = _resize_center_crop(rgb, image_size, Image.BILINEAR)
        x, y, w, h = boxes[image_id]
        x0, y0 = np.clip([x * sx - left, y * sy - top], 0, image_size)
        x1, y1 = np.clip([(x + w) * sx - left, (y + h) * sy - top], 0, image_size)
        box = np.array([x0, y0, x1 - x0, y1 - y0], dtype=np.float32)
        mask = None
        if segmentations is not None:
            mask_path = (segmentations / relative).with_suffix(".png")
            try:
                with guards.decode_image_file(mask_path) as m:
                    gray = m.convert("L")
            except (guards.GuardError, OSError, ValueError) as err:
                raise DatasetFormatError(f"CUB-200-2011: missing or unreadable segmentation {mask_path}: {err}") from None
            if gray.size != rgb.size:
                raise DatasetFormatError(f"CUB-200-2011: segmentation {mask_path} is {gray.size}, its image {rgb.size}.")
            mask_square, _ = _resize_center_crop(gray, image_size, Image.BILINEAR)
            # Masks average several annotators (0-255); keep pixels at least half of them marked.
            mask = np.asarray(mask_square) >= 128
        return np.asarray(square, dtype=np.uint8), mask, box

    loaded = _thread_map(load_one, [int(i) for i in ids])
    images = np.stack([item[0] for item in loaded])
    labels = np.array([image_labels[int(i)] - 1 for i in ids], dtype=np.int64)
    extras: dict[str, np.ndarray] = {"image_ids": ids, "boxes": np.stack([item[2] for item in loaded])}
    if segmentations is not None:
        extras["masks"] = np.stack([item[1] for item in loaded])
    attribute_names: tuple[str, ...] = ()
    labels_file = cub / "attributes" / "image_attribute_labels.txt"
    if os.path.lexists(labels_file):
        _, attribute_names = _cub_attribute_names(cub)
        extras["attributes"], extras["attribute_certainty"] = _cub_attributes(labels_file, ids, len(attribute_names), set(paths))
    info = DatasetInfo(
        name="cub",
        kind="image",
        class_names=tuple(_cub_class_name(class_folders[c]) for c in class_ids),
        input_shape=(3, image_size, image_size),
        attribute_names=attribute_names,
        description=f"CUB-200-2011 {split} split read from {cub}, {image_size}x{image_size} centre crops.",
    )
    return Split(info, images, labels, uint8_images_to_input, extras=extras)


# ---------------------------------------------------------------- ImageFolder

def _subfolders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(folder: Path, seen_files: dict | None = None) -> list[Path]:
    """Image files under ``folder``, symlinks followed but every folder and file counted once (with a
    shared ``seen_files``, once over all class folders)."""
    return guards.walk_files(folder, IMAGE_EXTENSIONS, seen_files)[0]


def load_image_folder(
    root: PathLike, split: str | None = None, image_size: int = 64, max_samples: int | None = None
) -> Split:
    """Images sorted into one subfolder per class: ``root/<class>/...`` or ``root/<split>/<class>/...``.

    Classes are the sorted subfolder names (for split folders, the union over ``train``, ``val``,
    ``valid``, ``validation``, ``test`` and ``split``, so labels agree between splits); images are found
    recursively by extension (``.jpg``, ``.png``, ...), other files are ignored. Every image is converted
    to RGB, its shorter side resized to ``image_size`` and centre-cropped: ``data`` uint8
    ``(N, S, S, 3)``, ``labels`` ``(N,)``, ``extras['paths']`` ``(N,)`` str.

    Files with an image extension that cannot be decoded are skipped with a warning naming them, so one
    corrupt download does not block a large folder; if none can be decoded, :class:`DatasetFormatError`.
    """
    from PIL import Image, UnidentifiedImageError

    if image_size < 8:
        raise ValueError(f"image_size must be at least 8, got {image_size}.")
    base = _existing_dir(root, "ImageFolder")
    if split is None:
        folder = base
        subfolders = _subfolders(base)
        if subfolders and all(name in IMAGE_FOLDER_SPLITS for name in subfolders):
            raise DatasetFormatError(
                f"ImageFolder {base} holds split folders ({', '.join(subfolders)}), not class folders: "
                f"pass split={subfolders[0]!r}."
            )
        classes = subfolders
    else:
        folder = base / split
        if not folder.is_dir():
            raise DatasetFormatError(
                f"ImageFolder: no split folder {folder}; {base} holds {', '.join(_subfolders(base)) or 'no folders'}."
            )
        classes = sorted({c for s in (*IMAGE_FOLDER_SPLITS, split) if (base / s).is_dir() for c in _subfolders(base / s)})
    if not classes:
        raise DatasetFormatError(f"ImageFolder {folder} has no class subfolders: expected {folder}/<class name>/<image files>.")
    files, labels = [], []
    seen_files: dict = {}
    for label, name in enumerate(classes):
        if (folder / name).is_dir():
            found = _image_files(folder / name, seen_files)
            files.extend(found)
            labels.extend([label] * len(found))
    if not files:
        raise DatasetFormatError(
            f"ImageFolder {folder}: its class folders ({', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''}) "
            f"hold no image files ({', '.join(IMAGE_EXTENSIONS)})."
        )
    keep = _subsample(len(files), max_samples)
    files = [files[i] for i in keep]
    labels = np.asarray(labels, dtype=np.int64)[keep]

    def load_one(path: Path) -> np.ndarray | str:
        try:
            with guards.decode_image_file(path) as img:
                square, _ = _resize_center_crop(img.convert("RGB"), image_size, Image.BILINEAR)
            return np.asarray(square, dtype=np.uint8)
        except guards.GuardError as err:
            return str(err)
        except (OSError, UnidentifiedImageError, ValueError, MemoryError) as err:
            return f"{path} ({err})"

    decoded = _thread_map(load_one, files)
    ok = np.array([isinstance(item, np.ndarray) for item in decoded])
    failures = [item for item in decoded if isinstance(item, str)]
    if not ok.any():
        raise DatasetFormatError(
            f"ImageFolder {folder}: none of its {len(files)} image files could be decoded, e.g. {failures[0]}."
        )
    if failures:
        warnings.warn(
            f"ImageFolder {folder}: skipped {len(failures)} unreadable image(s): {'; '.join(failures[:5])}"
            + (" ..." if len(failures) > 5 else ""),
            stacklevel=2,
        )
    images = np.stack([item for item in decoded if isinstance(item, np.ndarray)])
    info = DatasetInfo(
        name="imagefolder",
        kind="image",
        class_names=tuple(classes),
        input_shape=(3, image_size, image_size),
        description=f"Image folder {folder}, {image_size}x{image_size} centre crops.",
    )
    paths = np.array([str(p) for p, good in zip(files, ok) if good])
    return Split(info, images, labels[ok], uint8_images_to_input, extras={"paths": paths})


# ---------------------------------------------------------------- ESC-50

def _find_esc50_root(root: Path) -> Path:
    for candidate in (root, root / "ESC-50-master"):
        if os.path.lexists(candidate / "meta" / "esc50.csv"):
            return candidate
    raise DatasetFormatError(
        f"ESC-50: missing {root / 'meta' / 'esc50.csv'} (the clip list with columns {', '.join(ESC50_COLUMNS)}); "
        f"expected meta/esc50.csv and audio/*.wav in {root} or {root / 'ESC-50-master'}."
    )


def _read_esc50_csv(path: Path) -> list[dict[str, object]]:
    with _format_errors():
        text = guards.read_text(path, guards.MAX_INDEX_FILE_BYTES)
    try:
        return _parse_esc50_csv(path, text)
    except csv.Error as err:
        raise DatasetFormatError(f"{path} is not a readable CSV file ({err}).") from None


def _parse_esc50_csv(path: Path, text: str) -> list[dict[str, object]]:
    with io.StringIO(text, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ESC50_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetFormatError(
                f"{path} lacks column(s) {', '.join(missing)}; expected a header with {', '.join(ESC50_COLUMNS)}."
            )
        rows = []
        for number, row in enumerate(reader, start=2):
            try:
                rows.append({
                    "filename": row["filename"],
                    "fold": int(row["fold"]),
                    "target": int(row["target"]),
                    "category": row["category"],
                    "esc10": row["esc10"].strip().lower() in ("true", "1"),
                })
            except (TypeError, ValueError, AttributeError) as err:
                raise DatasetFormatError(f"{path}, line {number}: fold and target must be integers ({str(err)[:80]}).") from None
            with _format_errors():
                guards.parse_id(row["target"], f"{path}, line {number}, target", 0, MAX_ESC50_TARGET)
            name = rows[-1]["filename"]
            if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
                raise DatasetFormatError(f"{path}, line {number}: filename {name[:80]!r} is not a plain file name in audio/.")
    if not rows:
        raise DatasetFormatError(f"{path} lists no clips.")
    return rows


def _read_audio(path: Path, sample_rate: int, num_samples: int) -> np.ndarray:
    """Mono float32 ``(num_samples,)`` at ``sample_rate``: channels averaged, resampled, zero-padded or cut.

    Only the frames the clip needs are decoded (a file an hour long costs the same as a 5 s one), after
    the channel and sample-rate limits of uploads (a header claiming 1 Hz would resample by 16,000x)."""
    with _format_errors():
        with guards.open_sound(path, str(path)) as (sound, header):
            guards.check_sound_header(header, str(path), max_seconds=None)
            # One extra second of source frames gives the resampling filter its right-hand context.
            needed = int(math.ceil(num_samples * header.rate / sample_rate)) + header.rate
            try:
                mono, _ = guards.read_frames(sound, needed)
            except MemoryError:
                raise DatasetFormatError(f"ESC-50: {path} is too large to decode in memory.") from None
            except Exception as err:  # libsndfile's errors
                raise DatasetFormatError(f"ESC-50: cannot read {path}: {str(err)[:160]}.") from None
        mono = guards.resample(mono, header.rate, sample_rate)
    out = np.zeros(num_samples, dtype=np.float32)
    out[: min(num_samples, mono.shape[0])] = mono[:num_samples]
    return out


def load_esc50(
    root: PathLike,
    folds: Sequence[int] = (1, 2, 3),
    sample_rate: int = 16000,
    clip_seconds: float = 5.0,
    max_samples: int | None = None,
    esc10_only: bool = False,
) -> Split:
    """ESC-50 clips of the given folds (1-5): ``meta/esc50.csv`` + ``audio/*.wav``.

    ``data``: float32 mono waveforms ``(N, round(clip_seconds * sample_rate))``, resampled from the
    files' rate (44.1 kHz in ESC-50), zero-padded or cut; ``labels`` ``(N,)`` the csv ``target`` (0-49)
    named by ``category``; ``esc10_only`` keeps the ESC-10 subset with labels renumbered 0-9 in target
    order. ``extras``: ``folds`` ``(N,)`` int64, ``esc10`` ``(N,)`` bool, ``filenames`` ``(N,)`` str.
    The model input is :func:`interp_core.data.sounds.waveforms_to_input`, the same log1p-magnitude STFT
    as the embedded ``sounds`` dataset: ``(B, 1, 257, 1 + S // 176)``.
    """
    from interp_core.data.sounds import waveforms_to_input

    if isinstance(folds, (int, str)):
        raise ValueError(f"folds must be a sequence of fold numbers 1-5 such as (1, 2, 3), got {folds!r}.")
    folds = tuple(int(f) for f in folds)
    if not folds or any(f not in range(1, 6) for f in folds):
        raise ValueError(f"folds must be fold numbers 1-5, got {folds}.")
    if sample_rate < 1000 or clip_seconds <= 0:
        raise ValueError(f"sample_rate must be at least 1000 Hz and clip_seconds positive, got {sample_rate}, {clip_seconds}.")
    esc = _find_esc50_root(_existing_dir(root, "ESC-50"))
    csv_path = esc / "meta" / "esc50.csv"
    rows = _read_esc50_csv(csv_path)
    names: dict[int, str] = {}
    for row in rows:
        if row["esc10"] or not esc10_only:
            if names.setdefault(row["target"], row["category"]) != row["category"]:
                raise DatasetFormatError(
                    f"{csv_path}: target {row['target']} is named both {names[row['target']]!r} and {row['category']!r}."
                )
    if esc10_only:
        if not names:
            raise DatasetFormatError(f"{csv_path} marks no clip as esc10.")
        targets = sorted(names)
        relabel = {t: i for i, t in enumerate(targets)}
        class_names = tuple(names[t] for t in targets)
    else:
        if min(names) < 0:
            raise DatasetFormatError(f"{csv_path}: negative target {min(names)}.")
        relabel = {t: t for t in names}
        class_names = tuple(names.get(t, f"class {t}") for t in range(max(names) + 1))
    selected = [r for r in rows if r["fold"] in folds and (r["esc10"] or not esc10_only)]
    if not selected:
        raise DatasetFormatError(f"{csv_path} lists no {'ESC-10 ' if esc10_only else ''}clip in folds {folds}.")
    selected = [selected[i] for i in _subsample(len(selected), max_samples)]
    audio_dir = esc / "audio"
    missing = [r["filename"] for r in selected if not (audio_dir / str(r["filename"])).exists()]
    if missing:
        raise DatasetFormatError(
            f"ESC-50: {len(missing)} clip(s) listed in meta/esc50.csv are missing from {audio_dir}: {', '.join(missing[:3])}."
        )
    num_samples = int(round(clip_seconds * sample_rate))
    waveforms = np.stack(_thread_map(lambda r: _read_audio(audio_dir / str(r["filename"]), sample_rate, num_samples), selected))
    info = DatasetInfo(
        name="esc10" if esc10_only else "esc50",
        kind="audio",
        class_names=class_names,
        input_shape=tuple(waveforms_to_input(np.zeros((1, num_samples), dtype=np.float32)).shape[1:]),
        sample_rate=sample_rate,
        description=f"ESC-50 folds {folds} read from {esc}, {clip_seconds:g} s at {sample_rate} Hz.",
    )
    extras = {
        "folds": np.array([r["fold"] for r in selected], dtype=np.int64),
        "esc10": np.array([r["esc10"] for r in selected], dtype=bool),
        "filenames": np.array([str(r["filename"]) for r in selected]),
    }
    labels = np.array([relabel[int(r["target"])] for r in selected], dtype=np.int64)
    return Split(info, waveforms, labels, waveforms_to_input, extras=extras)


# ---------------------------------------------------------------- check-folder

#: Kinds :func:`check_real_folder` knows.
CHECKABLE_KINDS = ("cub", "imagefolder", "esc50")
#: Problems listed in full; beyond this only their number is reported.
MAX_LISTED_PROBLEMS = 1000


class _Problems:
    """Every problem found in a folder, in the order found: ``error`` makes the loader fail or skip a
    file, ``warning`` is accepted but probably not what the user meant."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []
        self.counts = {"error": 0, "warning": 0}

    def add(self, path: object, message: str, severity: str = "error") -> None:
        self.counts[severity] += 1
        if len(self.items) < MAX_LISTED_PROBLEMS:
            self.items.append({"severity": severity, "path": str(path), "message": message})

    @contextlib.contextmanager
    def guarding(self, path: object) -> Iterator[None]:
        try:
            yield
        except (guards.GuardError, DatasetFormatError) as err:
            self.add(path, str(err))


def _check_image(path: Path, problems: _Problems, decode: bool) -> bool:
    """Guards of a dataset image without keeping it: regular file, size, header pixels, JPEG scans and
    (``decode``) a full decode of that one file; True if it passed."""
    from PIL import Image

    try:
        data = guards.read_limited(path, guards.MAX_DATASET_IMAGE_BYTES, "image files")
        if decode:
            guards.decode_image_bytes(data, str(path)).close()
        else:
            header = guards.check_image_header(data, str(path))
            if header.format not in guards.DATASET_IMAGE_FORMATS:
                raise guards.GuardError(f"{path} is {'a ' + header.format + ' file' if header.format else 'not a known image format'}.")
            try:
                with Image.open(io.BytesIO(data), formats=[header.format]) as img:
                    guards.check_pixel_count(img.size, str(path))
            except guards.GuardError:
                raise
            except Exception as err:
                raise guards.GuardError(f"{path} cannot be decoded ({type(err).__name__}: {str(err)[:120]}).") from None
    except guards.GuardError as err:
        problems.add(path, str(err))
        return False
    return True


def _check_rows(path: Path, min_fields: int, what: str, problems: _Problems) -> dict[int, list[str]] | None:
    """``{id: fields after it}`` of a CUB index file, every bad line reported (not only the first)."""
    if not path.exists():
        problems.add(path, f"missing ({what}).")
        return None
    try:
        text = guards.read_text(path, guards.MAX_INDEX_FILE_BYTES)
    except guards.GuardError as err:
        problems.add(path, str(err))
        return None
    table: dict[int, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < min_fields:
            problems.add(path, f"line {number}: expected {min_fields} fields ({what}), got {line[:80]!r}.")
            continue
        try:
            key = guards.parse_id(fields[0], f"line {number}")
        except guards.GuardError as err:
            problems.add(path, str(err))
            continue
        if key in table:
            problems.add(path, f"line {number}: id {key} is listed twice.")
            continue
        table[key] = fields[1:]
    return table


def _check_cub(root: Path, problems: _Problems, decode: bool) -> dict[str, int]:
    try:
        cub = _find_cub_root(root)
    except DatasetFormatError as err:
        problems.add(root, str(err))
        return {}
    paths = _check_rows(cub / "images.txt", 2, "image id and relative path", problems) or {}
    classes = _check_rows(cub / "classes.txt", 2, "class id and name", problems) or {}
    labels = _check_rows(cub / "image_class_labels.txt", 2, "image id and class id", problems) or {}
    split = _check_rows(cub / "train_test_split.txt", 2, "image id and is_training_image", problems) or {}
    boxes = _check_rows(cub / "bounding_boxes.txt", 5, "image id, x, y, width, height", problems) or {}
    if classes and sorted(classes) != list(range(1, len(classes) + 1)):
        problems.add(cub / "classes.txt", f"class ids must run 1..{len(classes)} without gaps.")
    for file_name, table in (("image_class_labels.txt", labels), ("train_test_split.txt", split), ("bounding_boxes.txt", boxes)):
        if not table:
            continue
        for image_id in sorted(set(paths) - set(table)):
            problems.add(cub / file_name, f"image {image_id} of images.txt has no line here.")
        for image_id in sorted(set(table) - set(paths)):
            problems.add(cub / file_name, f"image id {image_id} is not listed in images.txt.")
    for image_id, fields in labels.items():
        if not (fields[0].isdigit() and 1 <= int(fields[0]) <= len(classes)):
            problems.add(cub / "image_class_labels.txt", f"image {image_id} has class {fields[0][:20]!r}, not in classes.txt.")
    for image_id, fields in split.items():
        if fields[0] not in ("0", "1"):
            problems.add(cub / "train_test_split.txt", f"image {image_id}: is_training_image must be 0 or 1, got {fields[0][:20]!r}.")
    for image_id, fields in boxes.items():
        try:
            values = [float(v) for v in fields[:4]]
            if not all(math.isfinite(v) for v in values) or values[2] < 0 or values[3] < 0:
                raise ValueError
        except ValueError:
            problems.add(cub / "bounding_boxes.txt", f"image {image_id}: {' '.join(fields[:4])[:60]!r} is not x y width height.")
    image_dir = cub / "images"
    segmentations = _find_segmentations(cub)
    checked = 0
    for image_id, fields in sorted(paths.items()):
        relative = " ".join(fields)
        try:
            path = guards.contained_path(image_dir, relative, f"images.txt, image {image_id}")
        except guards.GuardError as err:
            problems.add(cub / "images.txt", str(err))
            continue
        if not os.path.lexists(path):
            problems.add(path, f"listed in images.txt (image {image_id}) but missing.")
            continue
        checked += 1
        _check_image(path, problems, decode)
        if segmentations is not None:
            mask = (segmentations / relative).with_suffix(".png")
            if not os.path.lexists(mask):
                problems.add(mask, f"segmentation of image {image_id} is missing.")
            else:
                _check_image(mask, problems, decode)
    labels_file = cub / "attributes" / "image_attribute_labels.txt"
    if labels_file.exists():
        with problems.guarding(labels_file):
            _, names = _cub_attribute_names(cub)
            ids = np.array(sorted(paths), dtype=np.int64)
            if ids.size:
                _cub_attributes(labels_file, ids, len(names), set(paths))
    return {"images": checked, "classes": len(classes)}


def _check_image_folder(root: Path, problems: _Problems, decode: bool) -> dict[str, int]:
    subfolders = _subfolders(root)
    if subfolders and all(name in IMAGE_FOLDER_SPLITS for name in subfolders):
        groups = [(root / split, _subfolders(root / split)) for split in subfolders]
    else:
        groups = [(root, subfolders)]
    images = classes = 0
    seen: set[str] = set()
    for folder, names in groups:
        seen_files: dict = {}
        if not names:
            problems.add(folder, "has no class subfolders: expected <class name>/<image files>.")
        for name in names:
            seen.add(name)
            files, notes = guards.walk_files(folder / name, IMAGE_EXTENSIONS, seen_files)
            for note in notes:
                problems.add(folder / name, note, "warning")
            if not files:
                problems.add(folder / name, f"class folder holds no image files ({', '.join(IMAGE_EXTENSIONS)}).", "warning")
            for path in files:
                images += 1
                _check_image(path, problems, decode)
    classes = len(seen)
    return {"images": images, "classes": classes}


def _check_esc50(root: Path, problems: _Problems, decode: bool) -> dict[str, int]:
    try:
        esc = _find_esc50_root(root)
    except DatasetFormatError as err:
        problems.add(root, str(err))
        return {}
    csv_path = esc / "meta" / "esc50.csv"
    try:
        text = guards.read_text(csv_path, guards.MAX_INDEX_FILE_BYTES)
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [c for c in ESC50_COLUMNS if c not in (reader.fieldnames or [])]
        rows = list(reader)
    except (guards.GuardError, csv.Error) as err:
        problems.add(csv_path, str(err))
        return {}
    if missing:
        problems.add(csv_path, f"lacks column(s) {', '.join(missing)}; expected a header with {', '.join(ESC50_COLUMNS)}.")
        return {}
    audio_dir = esc / "audio"
    names: dict[int, str] = {}
    listed: set[str] = set()
    clips = 0
    for number, row in enumerate(rows, start=2):
        where = f"line {number}"
        try:
            fold = guards.parse_id(row["fold"], f"{where}, fold", 1, 5)
            target = guards.parse_id(row["target"], f"{where}, target", 0, MAX_ESC50_TARGET)
        except (guards.GuardError, TypeError) as err:
            problems.add(csv_path, str(err) if isinstance(err, guards.GuardError) else f"{where}: missing fields.")
            continue
        del fold
        category = row.get("category") or ""
        if names.setdefault(target, category) != category:
            problems.add(csv_path, f"{where}: target {target} is named both {names[target]!r} and {category[:40]!r}.")
        name = row.get("filename") or ""
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
            problems.add(csv_path, f"{where}: filename {name[:80]!r} is not a plain file name in audio/.")
            continue
        if name in listed:
            problems.add(csv_path, f"{where}: {name[:80]} is listed twice.", "warning")
            continue
        listed.add(name)
        path = audio_dir / name
        if not os.path.lexists(path):
            problems.add(path, f"listed in meta/esc50.csv ({where}) but missing.")
            continue
        clips += 1
        try:
            with guards.open_sound(path, str(path)) as (sound, header):
                guards.check_sound_header(header, str(path), max_seconds=None)
                if decode:
                    guards.read_frames(sound, header.rate * 10)
        except guards.GuardError as err:
            problems.add(path, str(err))
        except Exception as err:  # libsndfile during a decode
            problems.add(path, f"cannot be decoded ({str(err)[:120]}).")
    if not rows:
        problems.add(csv_path, "lists no clips.")
    if audio_dir.is_dir():
        try:
            extra = sorted(e.name for e in os.scandir(audio_dir) if e.name.lower().endswith(".wav") and e.name not in listed)
        except OSError as err:
            problems.add(audio_dir, f"cannot be listed ({err.strerror}).")
            extra = []
        for name in extra[:50]:
            problems.add(audio_dir / name, "not listed in meta/esc50.csv; it is never loaded.", "warning")
    return {"clips": clips, "classes": len(names)}


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
        check = {"cub": _check_cub, "imagefolder": _check_image_folder, "esc50": _check_esc50}[kind]
        checked = check(base, problems, decode)
    return {
        "kind": kind, "root": str(base), "ok": problems.counts["error"] == 0, "checked": checked,
        "errors": problems.counts["error"], "warnings": problems.counts["warning"],
        "listed": len(problems.items), "problems": problems.items,
    }


# ---------------------------------------------------------------- registry

@dataclass(frozen=True)
class RealDataset:
    """A real dataset kind: what its folder must hold, its split names and its loader.

    ``load(root, split, **kwargs)`` returns a :class:`Split`; ``kwargs`` are the loader's own options
    (``max_samples``, ``image_size``, ``download``, ...).
    """

    name: str
    description: str
    layout: str
    splits: tuple[str, ...]
    load: Callable[..., Split]


def _esc50_split(root: PathLike, split: str = "train", **kwargs) -> Split:
    _check_split(split, tuple(ESC50_SPLIT_FOLDS), "ESC-50")
    return load_esc50(root, ESC50_SPLIT_FOLDS[split], **kwargs)


def _torchvision_loader(name: str) -> Callable[..., Split]:
    return lambda root, split="train", **kwargs: load_torchvision(name, root, split, **kwargs)


REAL_DATASETS: dict[str, RealDataset] = {
    "mnist": RealDataset(
        "mnist", "MNIST handwritten digits, 28x28 gray", "MNIST/raw/*-idx?-ubyte (torchvision layout)",
        ("train", "test"), _torchvision_loader("mnist"),
    ),
    "fashion-mnist": RealDataset(
        "fashion-mnist", "Fashion-MNIST clothing, 28x28 gray", "FashionMNIST/raw/*-idx?-ubyte (torchvision layout)",
        ("train", "test"), _torchvision_loader("fashion-mnist"),
    ),
    "cifar10": RealDataset(
        "cifar10", "CIFAR-10, 32x32 RGB, 10 classes", "cifar-10-batches-py/ (python version)",
        ("train", "test"), _torchvision_loader("cifar10"),
    ),
    "stl10": RealDataset(
        "stl10", "STL-10 labelled images, 96x96 RGB, 10 classes", "stl10_binary/ (binary version)",
        ("train", "test"), _torchvision_loader("stl10"),
    ),
    "cub": RealDataset(
        "cub", "CUB-200-2011 birds, 200 classes, 312 attributes, masks", "CUB_200_2011/ (+ segmentations/)",
        ("train", "test"), load_cub,
    ),
    "imagefolder": RealDataset(
        "imagefolder", "Any images sorted into class folders", "<class>/<images> or <split>/<class>/<images>",
        ("train", "val", "test"), load_image_folder,
    ),
    "esc50": RealDataset(
        "esc50", "ESC-50 environmental sounds, 5 s, 50 classes (train folds 1-3, val 4, test 5)",
        "meta/esc50.csv + audio/*.wav", tuple(ESC50_SPLIT_FOLDS), _esc50_split,
    ),
}


def load_real(kind: str, root: PathLike, split: str | None = "train", **kwargs) -> Split:
    """Load ``split`` of a real dataset of ``kind`` (a key of :data:`REAL_DATASETS`) from ``root``.

    ``split=None`` is only meaningful for ``imagefolder`` (class folders directly under ``root``).
    """
    if kind not in REAL_DATASETS:
        raise KeyError(f"Unknown real dataset kind {kind!r}; expected one of {', '.join(REAL_DATASETS)}.")
    if split is None and kind != "imagefolder":
        raise ValueError(f"{kind} needs a split, one of {', '.join(REAL_DATASETS[kind].splits)}.")
    return REAL_DATASETS[kind].load(root, split, **kwargs)


# ---------------------------------------------------------------- real datasets registered by name

#: Share of each class a flat ImageFolder (no split folders) holds out as its test split (seeded).
IMAGE_FOLDER_TEST_FRACTION = 0.2


def _image_folder_holdout(labels: np.ndarray, split: str) -> np.ndarray:
    """Indices of ``split`` in a flat ImageFolder: per class a seeded fifth (at least one image of every
    class with two or more) is ``test``, the rest ``train``; sorted, so file order is kept."""
    rng = np.random.default_rng(_SUBSAMPLE_SEED)
    test = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n_test = max(1, int(round(IMAGE_FOLDER_TEST_FRACTION * len(members)))) if len(members) > 1 else 0
        test.extend(rng.choice(members, size=n_test, replace=False).tolist())
    in_test = np.zeros(len(labels), dtype=bool)
    in_test[test] = True
    return np.flatnonzero(in_test if split == "test" else ~in_test)


def _image_folder_split(root: PathLike, split: str, image_size: int, **kwargs) -> Split:
    """``train`` / ``test`` of an ImageFolder: its split folders when it has them (``test`` falls back to
    ``val``, ``valid``, ``validation``), else the seeded per-class hold-out of a flat folder."""
    _check_split(split, ("train", "val", "test"), "an ImageFolder dataset")
    base = _existing_dir(root, "ImageFolder")
    present = [name for name in _subfolders(base) if name in IMAGE_FOLDER_SPLITS]
    if present:
        wanted = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test", "val", "valid", "validation")}[split]
        folder = next((name for name in wanted if name in present), None)
        if folder is None:
            raise DatasetFormatError(f"ImageFolder {base} has split folders {', '.join(present)} but none for {split!r} "
                                     f"(expected one of {', '.join(wanted)}).")
        return load_image_folder(base, folder, image_size, **kwargs)
    whole = load_image_folder(base, None, image_size, **kwargs)
    return whole.subset(_image_folder_holdout(whole.labels, split))


def load_named(split: str = "train", *, name: str, kind: str, root: PathLike, image_size: int | None = None,
               **kwargs) -> Split:
    """Split ``split`` of the real dataset registered as ``name`` (``KIND[@SIZE]:ROOT``, see
    :mod:`interp_core.external.datasets`), with ``split.info.name == name``: ``train`` / ``test`` for
    every kind (ESC-50 also ``val``: folds 1-3 / 5 / 4); a flat ImageFolder holds out a seeded fifth of
    each class as ``test``. ``image_size``: the square side for CUB and ImageFolder (None: the loader's)."""
    from dataclasses import replace

    if image_size is not None:
        kwargs["image_size"] = int(image_size)
    if kind == "imagefolder":
        split_data = _image_folder_split(root, split, **{"image_size": 64, **kwargs})
    else:
        split_data = load_real(kind, root, split, **kwargs)
    split_data.info = replace(split_data.info, name=name)
    return split_data


_NAMED_INFO: dict[tuple, DatasetInfo] = {}


def named_info(*, name: str, kind: str, root: PathLike, image_size: int | None = None) -> DatasetInfo:
    """The :class:`DatasetInfo` of :func:`load_named`'s dataset (classes, input shape), read from one
    sample of its training split and kept for the process."""
    from dataclasses import replace

    key = (name, kind, str(root), image_size)
    if key not in _NAMED_INFO:
        if kind == "imagefolder":  # class names are the folders (of every split): one decoded image suffices
            base = _existing_dir(root, "ImageFolder")
            nested = any(n in IMAGE_FOLDER_SPLITS for n in _subfolders(base))
            one = load_image_folder(base, "train" if nested else None, int(image_size or 64), max_samples=1)
        else:
            one = load_named("train", name=name, kind=kind, root=root, image_size=image_size, max_samples=1)
        _NAMED_INFO[key] = replace(one.info, name=name)
    return _NAMED_INFO[key]


__all__ = [
    "CHECKABLE_KINDS",
    "DatasetDownloadError",
    "ESC50_SPLIT_FOLDS",
    "REAL_DATASETS",
    "RealDataset",
    "check_real_folder",
    "load_cub",
    "load_esc50",
    "load_image_folder",
    "load_real",
    "load_torchvision",
]
