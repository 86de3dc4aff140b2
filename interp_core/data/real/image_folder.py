"""ImageFolder: images sorted into one folder per class, ``root/<class>/<image>`` or
``root/<split>/<class>/<image>`` (any depth below the class folder).

The class folders are walked by one function, :func:`_class_files`, for the loader and for
``check-folder imagefolder``.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from interp_core import guards
from interp_core.data.base import DatasetFormatError, DatasetInfo, Split, uint8_images_to_input
from interp_core.data.real.common import (
    _SUBSAMPLE_SEED, PathLike, _check_image, _check_split, _existing_dir, _Problems, _resize_center_crop,
    _subsample, _thread_map,
)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
IMAGE_FOLDER_SPLITS = ("train", "val", "valid", "validation", "test")
#: The splits :func:`image_folder_split` serves; ``test`` falls back to a validation folder.
IMAGE_FOLDER_NAMED_SPLITS = ("train", "val", "test")
#: Share of each class a flat ImageFolder (no split folders) holds out as its test split (seeded).
IMAGE_FOLDER_TEST_FRACTION = 0.2
#: The square side images are resized and cropped to when no size is asked for.
IMAGE_FOLDER_DEFAULT_SIZE = 64


def _subfolders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _split_folders(base: Path) -> list[str]:
    """The subfolders of ``base`` named like a split (``train``, ``val``, ``test``, ...)."""
    return [name for name in _subfolders(base) if name in IMAGE_FOLDER_SPLITS]


def _holds_only_splits(subfolders: list[str]) -> bool:
    """Whether a folder whose subfolders are ``subfolders`` is split into ``<split>/<class>/`` folders."""
    return bool(subfolders) and all(name in IMAGE_FOLDER_SPLITS for name in subfolders)


def _class_files(folder: Path, classes: Sequence[str], problems: _Problems) -> tuple[list[Path], list[int]]:
    """Image files (by extension) under ``folder/<class>`` and their labels, the index of the class in
    ``classes`` (a class without a folder here has none). Symlinks are followed, but every folder and
    file is read once over all classes; what the walk skipped, and class folders without images, are
    warnings."""
    files: list[Path] = []
    labels: list[int] = []
    seen_files: dict = {}
    for label, name in enumerate(classes):
        if not (folder / name).is_dir():
            continue
        found, notes = guards.walk_files(folder / name, IMAGE_EXTENSIONS, seen_files)
        for note in notes:
            problems.add(folder / name, note, "warning")
        if not found:
            problems.add(folder / name, f"class folder holds no image files ({', '.join(IMAGE_EXTENSIONS)}).", "warning")
        files.extend(found)
        labels.extend([label] * len(found))
    return files, labels


def load_image_folder(
    root: PathLike, split: str | None = None, image_size: int = IMAGE_FOLDER_DEFAULT_SIZE,
    max_samples: int | None = None,
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
        if _holds_only_splits(subfolders):
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
    files, labels = _class_files(folder, classes, _Problems(stop_at_first_error=True))
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


def image_folder_split(root: PathLike, split: str, image_size: int, **kwargs) -> Split:
    """``train`` / ``test`` of an ImageFolder: its split folders when it has them (``test`` falls back to
    ``val``, ``valid``, ``validation``), else the seeded per-class hold-out of a flat folder."""
    _check_split(split, IMAGE_FOLDER_NAMED_SPLITS, "an ImageFolder dataset")
    base = _existing_dir(root, "ImageFolder")
    present = _split_folders(base)
    if present:
        wanted = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test", "val", "valid", "validation")}[split]
        folder = next((name for name in wanted if name in present), None)
        if folder is None:
            raise DatasetFormatError(f"ImageFolder {base} has split folders {', '.join(present)} but none for {split!r} "
                                     f"(expected one of {', '.join(wanted)}).")
        return load_image_folder(base, folder, image_size, **kwargs)
    whole = load_image_folder(base, None, image_size, **kwargs)
    return whole.subset(_image_folder_holdout(whole.labels, split))


def _check_image_folder(root: Path, problems: _Problems, decode: bool) -> dict[str, int]:
    """``check-folder imagefolder``: the class folders of ``root`` (or of each of its split folders), the
    walk's notes as warnings, and each image through the guards of
    :func:`~interp_core.data.real.common._check_image`."""
    subfolders = _subfolders(root)
    groups = [root / split for split in subfolders] if _holds_only_splits(subfolders) else [root]
    images = 0
    classes: set[str] = set()
    for folder in groups:
        names = _subfolders(folder)
        if not names:
            problems.add(folder, "has no class subfolders: expected <class name>/<image files>.")
        classes.update(names)
        files, _ = _class_files(folder, names, problems)
        for path in files:
            images += 1
            _check_image(path, problems, decode)
    return {"images": images, "classes": len(classes)}
