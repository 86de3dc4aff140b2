"""CUB-200-2011: ``root`` (or ``root/CUB_200_2011``) with ``images.txt``, ``classes.txt``,
``image_class_labels.txt``, ``train_test_split.txt``, ``bounding_boxes.txt``, ``images/``, optional
``attributes/`` and optional ``segmentations/`` (beside or inside the CUB folder).

The index files are read by one parser, :func:`_read_cub_index`: :func:`load_cub` stops at its first
problem, :func:`_check_cub` (``check-folder cub``) lists them all.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from interp_core import guards
from interp_core.data.base import DatasetFormatError, DatasetInfo, Split, uint8_images_to_input
from interp_core.data.real.common import (
    PathLike, _check_image, _check_split, _existing_dir, _format_errors, _Problems, _resize_center_crop,
    _subsample, _thread_map,
)

CUB_SPLITS = ("train", "test")


@dataclass(frozen=True)
class _CubIndex:
    """The index files of a CUB-200-2011 folder, parsed and checked against each other.

    ``paths``: image id -> path under ``images/`` (only paths inside it); ``class_folders``: class id
    (1-based) -> folder name (``001.Black_footed_Albatross``); ``labels``: image id -> class id;
    ``is_train``: image id -> in the training split; ``boxes``: image id -> ``(x, y, width, height)`` in
    source pixels. A table whose file is missing or unreadable is empty (the problem is reported).
    """

    paths: dict[int, str]
    class_folders: dict[int, str]
    labels: dict[int, int]
    is_train: dict[int, bool]
    boxes: dict[int, tuple[float, float, float, float]]


class _IdTable(NamedTuple):
    """One CUB index file: ``values`` by id (the lines that parsed) and ``listed``, the ids of every line
    whose id could be read (a line whose value cannot be parsed is reported once, not again as missing)."""

    values: dict[int, object]
    listed: set[int]


def _read_id_table(path: Path, min_fields: int, what: str, problems: _Problems,
                   parse: Callable[[list[str]], object]) -> _IdTable | None:
    """``parse(fields after the id)`` of each line of a CUB file whose whitespace-separated lines start
    with an integer id (blank lines skipped); each bad line is reported and skipped. None when the file
    is missing or unreadable (reported too)."""
    if not os.path.lexists(path):
        problems.add(path, f"missing ({what}).")
        return None
    try:
        text = guards.read_text(path, guards.MAX_INDEX_FILE_BYTES, errors="replace")
    except guards.GuardError as err:
        problems.add(path, str(err))
        return None
    table = _IdTable({}, set())
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
        if key in table.listed:
            problems.add(path, f"line {number}: id {key} is listed twice.")
            continue
        table.listed.add(key)
        try:
            table.values[key] = parse(fields[1:])
        except (ValueError, OverflowError) as err:
            problems.add(path, f"line {number}: cannot parse {' '.join(fields)[:120]!r} as {what} ({err}).")
    return table


def _training_flag(fields: list[str]) -> bool:
    if fields[0] not in ("0", "1"):
        raise ValueError("is_training_image must be 0 or 1")
    return fields[0] == "1"


def _box(fields: list[str]) -> tuple[float, float, float, float]:
    x, y, width, height = (float(v) for v in fields[:4])
    if not all(np.isfinite([x, y, width, height])) or width < 0 or height < 0:
        raise ValueError("x y width height must be finite, width and height not negative")
    return x, y, width, height


#: The index files: name, fields per line (the id included), what a line holds, how its fields parse.
_CUB_INDEX_FILES = (
    ("images.txt", 2, "image id and relative path", " ".join),
    ("classes.txt", 2, "class id and name", lambda fields: fields[0]),
    ("image_class_labels.txt", 2, "image id and class id", lambda fields: int(fields[0])),
    ("train_test_split.txt", 2, "image id and is_training_image", _training_flag),
    ("bounding_boxes.txt", 5, "image id, x, y, width, height", _box),
)


def _read_cub_index(cub: Path, problems: _Problems) -> _CubIndex:
    """Parse the five index files of the CUB folder ``cub`` and check them against each other: every image
    of ``images.txt`` has a line in each per-image file and no other image does, class ids run 1..C and
    every label is one of them, every path lies inside ``images/``."""
    tables = {name: _read_id_table(cub / name, fields, what, problems, parse)
              for name, fields, what, parse in _CUB_INDEX_FILES}
    images = tables["images.txt"] or _IdTable({}, set())
    for file_name in ("image_class_labels.txt", "train_test_split.txt", "bounding_boxes.txt"):
        table = tables[file_name]
        if table is None:
            continue
        for image_id in sorted(images.listed - table.listed):
            problems.add(cub / file_name, f"image {image_id} of images.txt has no line in {file_name}.")
        for image_id in sorted(table.listed - images.listed):
            problems.add(cub / file_name, f"image id {image_id} is not listed in images.txt.")
    values = {name: {} if table is None else table.values for name, table in tables.items()}
    classes = values["classes.txt"]
    if sorted(classes) != list(range(1, len(classes) + 1)):
        problems.add(cub / "classes.txt", f"class ids must run 1..{len(classes)} without gaps.")
    for image_id, class_id in values["image_class_labels.txt"].items():
        if not 1 <= class_id <= len(classes):
            problems.add(cub / "image_class_labels.txt", f"image {image_id} has class {class_id}, not in classes.txt.")
    inside = {}
    for image_id, relative in images.values.items():
        try:
            guards.contained_path(cub / "images", relative, f"image {image_id}")
            inside[image_id] = relative
        except guards.GuardError as err:
            problems.add(cub / "images.txt", str(err))
    return _CubIndex(inside, classes, values["image_class_labels.txt"], values["train_test_split.txt"],
                     values["bounding_boxes.txt"])


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


def _cub_attribute_names(cub: Path, problems: _Problems) -> tuple[str, ...] | None:
    """The names of ``attributes.txt`` in id order; None (reported) when there is none to read."""
    # The official archive puts attributes.txt beside the CUB_200_2011 folder; repackaged copies inside it.
    for path in (cub / "attributes.txt", cub / "attributes" / "attributes.txt", cub.parent / "attributes.txt"):
        if os.path.lexists(path):
            table = _read_id_table(path, 2, "attribute id and name", problems, " ".join)
            return None if table is None else tuple(table.values[i] for i in sorted(table.values))
    problems.add(
        cub / "attributes" / "image_attribute_labels.txt",
        f"exists but the attribute names do not: expected attributes.txt in {cub}, {cub / 'attributes'} or {cub.parent}.",
    )
    return None


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


def _read_attributes(cub: Path, image_ids: np.ndarray, known_ids: set[int], problems: _Problems
                     ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray] | None:
    """``(names, present, certainty)`` of ``image_ids`` (see :func:`_cub_attributes`) when the folder has
    ``attributes/image_attribute_labels.txt``; None when it has none, or (reported) when it cannot be read."""
    labels_file = cub / "attributes" / "image_attribute_labels.txt"
    if not os.path.lexists(labels_file):
        return None
    names = _cub_attribute_names(cub, problems)
    if names is None:
        return None
    with problems.guarding(labels_file):
        present, certainty = _cub_attributes(labels_file, image_ids, len(names), known_ids)
        return names, present, certainty
    return None  # the guard reported why


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

    _check_split(split, CUB_SPLITS, "CUB-200-2011")
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8, got {image_size}.")
    cub = _find_cub_root(_existing_dir(root, "CUB-200-2011"))
    problems = _Problems(stop_at_first_error=True)
    index = _read_cub_index(cub, problems)
    paths, boxes = index.paths, index.boxes
    ids = np.array(sorted(i for i in paths if index.is_train[i] == (split == "train")), dtype=np.int64)
    if ids.size == 0:
        raise DatasetFormatError(f"CUB-200-2011: {cub / 'train_test_split.txt'} marks no image as {split}.")
    ids = ids[_subsample(len(ids), max_samples)]
    image_dir = cub / "images"
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
    labels = np.array([index.labels[int(i)] - 1 for i in ids], dtype=np.int64)
    extras: dict[str, np.ndarray] = {"image_ids": ids, "boxes": np.stack([item[2] for item in loaded])}
    if segmentations is not None:
        extras["masks"] = np.stack([item[1] for item in loaded])
    attribute_names: tuple[str, ...] = ()
    attributes = _read_attributes(cub, ids, set(paths), problems)
    if attributes is not None:
        attribute_names, extras["attributes"], extras["attribute_certainty"] = attributes
    info = DatasetInfo(
        name="cub",
        kind="image",
        class_names=tuple(_cub_class_name(index.class_folders[c]) for c in sorted(index.class_folders)),
        input_shape=(3, image_size, image_size),
        attribute_names=attribute_names,
        description=f"CUB-200-2011 {split} split read from {cub}, {image_size}x{image_size} centre crops.",
    )
    return Split(info, images, labels, uint8_images_to_input, extras=extras)


def _check_cub(root: Path, problems: _Problems, decode: bool) -> dict[str, int]:
    """``check-folder cub``: the index files (every bad line), then each listed image and its segmentation
    (the guards of :func:`~interp_core.data.real.common._check_image`), then the attribute labels."""
    try:
        cub = _find_cub_root(root)
    except DatasetFormatError as err:
        problems.add(root, str(err))
        return {}
    index = _read_cub_index(cub, problems)
    image_dir = cub / "images"
    segmentations = _find_segmentations(cub)
    checked = 0
    for image_id, relative in sorted(index.paths.items()):
        path = image_dir / relative
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
    if index.paths:
        _read_attributes(cub, np.array(sorted(index.paths), dtype=np.int64), set(index.paths), problems)
    return {"images": checked, "classes": len(index.class_folders)}
