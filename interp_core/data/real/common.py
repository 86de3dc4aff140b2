"""What the real-dataset formats share: folder and split checks, seeded subsampling, the resize-and-crop
of images, threaded decoding, and the problems collector that lets one parser of an index file serve
both a loader (which stops at the first error) and ``check-folder`` (which lists every problem)."""
from __future__ import annotations

import concurrent.futures
import contextlib
import io
import os
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from interp_core import guards
from interp_core.data.base import DatasetFormatError

PathLike = str | os.PathLike

_SUBSAMPLE_SEED = 0
#: Problems listed in full; beyond this only their number is reported.
MAX_LISTED_PROBLEMS = 1000


@contextlib.contextmanager
def _format_errors() -> Iterator[None]:
    """Re-raise a guard's refusal as the loaders' own :class:`DatasetFormatError`."""
    try:
        yield
    except guards.GuardError as err:
        raise DatasetFormatError(str(err)) from None


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


class _Problems:
    """Every problem found in a dataset folder, in the order found: ``error`` makes the loader fail or
    skip a file, ``warning`` is accepted but probably not what the user meant.

    With ``stop_at_first_error`` (how the loaders use it) the first error raises
    :class:`DatasetFormatError` ``"PATH: MESSAGE"`` and warnings are dropped, so a loader and
    ``check-folder`` read an index file with the same parser: what one refuses, the other lists.
    """

    def __init__(self, stop_at_first_error: bool = False) -> None:
        self.stop_at_first_error = stop_at_first_error
        self.items: list[dict[str, str]] = []
        self.counts = {"error": 0, "warning": 0}

    def add(self, path: object, message: str, severity: str = "error") -> None:
        if self.stop_at_first_error:
            if severity == "error":
                # A guard's message names the file already.
                raise DatasetFormatError(message if str(path) in message else f"{path}: {message}")
            return
        self.counts[severity] += 1
        if len(self.items) < MAX_LISTED_PROBLEMS:
            self.items.append({"severity": severity, "path": str(path), "message": message})

    @contextlib.contextmanager
    def guarding(self, path: object) -> Iterator[None]:
        """Report a guard's refusal or a :class:`DatasetFormatError` raised inside as a problem of ``path``."""
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
