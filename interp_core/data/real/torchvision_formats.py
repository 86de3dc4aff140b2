"""MNIST, Fashion-MNIST, CIFAR-10 and STL-10 in the files torchvision downloads, read directly.

- MNIST / Fashion-MNIST: the four idx files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-...``; gzipped ``.gz`` copies are read too) in ``root/MNIST/raw`` (torchvision's layout; for
  Fashion-MNIST ``root/FashionMNIST/raw``), ``root/raw`` or ``root`` itself.
- CIFAR-10: ``root/cifar-10-batches-py/`` with ``data_batch_1..5``, ``test_batch``, ``batches.meta``.
- STL-10: ``root/stl10_binary/`` with ``train_X.bin``, ``train_y.bin``, ``test_X.bin``, ``test_y.bin``,
  ``class_names.txt``.

Why these formats are parsed here rather than through ``torchvision.datasets``: torchvision checks the
MD5 of every file of every split on each load (for STL-10 that includes the 2.6 GB ``unlabeled_X.bin``
even to read ``test``), so it rejects any copy that is not byte-identical to the original archive, and it
unpickles CIFAR batches with plain :mod:`pickle`. The formats are small and fixed, so we read them
directly, with a restricted unpickler that only rebuilds numpy arrays, and use torchvision only to
download (``download=True``).
"""
from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import pickle
import socket
import struct
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse
from zlib import error as zlib_error

import numpy as np

from interp_core import guards
from interp_core.data.base import DatasetFormatError, DatasetInfo, Split, uint8_images_to_input
from interp_core.data.real.common import PathLike, _check_split, _format_errors, _subsample

TORCHVISION_DATASETS = ("mnist", "fashion-mnist", "cifar10", "stl10")
TORCHVISION_SPLITS = ("train", "test")
# A reachability probe before torchvision's download, so an offline machine fails in seconds.
DOWNLOAD_PROBE_SECONDS = 5.0
DOWNLOAD_SOCKET_TIMEOUT_SECONDS = 30.0


class DatasetDownloadError(DatasetFormatError):
    """``download=True`` was asked for but the files could not be fetched (no network, server error)."""


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
    _check_split(split, TORCHVISION_SPLITS, name)
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
