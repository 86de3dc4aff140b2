"""ESC-50: ``root`` (or ``root/ESC-50-master``) with ``meta/esc50.csv`` and ``audio/*.wav``.

Loading and ``check-folder esc50`` share :func:`_read_esc50_csv`, which reads the clip list row by row:
:func:`load_esc50` refuses a folder at the first bad row, :func:`_check_esc50` reports every one.
"""
from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from interp_core import guards
from interp_core.data.base import DatasetFormatError, DatasetInfo, Split
from interp_core.data.real.common import (
    PathLike, _check_split, _existing_dir, _format_errors, _Problems, _subsample, _thread_map,
)

ESC50_SPLIT_FOLDS: dict[str, tuple[int, ...]] = {"train": (1, 2, 3), "val": (4,), "test": (5,)}
ESC50_COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
#: Largest class id (``target``) accepted in esc50.csv; ESC-50 has 0-49.
MAX_ESC50_TARGET = 9_999


class _Esc50Clip(NamedTuple):
    """One row of ``meta/esc50.csv`` (``line``: its line number in the file)."""

    filename: str
    fold: int
    target: int
    category: str
    esc10: bool
    line: int


def _find_esc50_root(root: Path) -> Path:
    for candidate in (root, root / "ESC-50-master"):
        if os.path.lexists(candidate / "meta" / "esc50.csv"):
            return candidate
    raise DatasetFormatError(
        f"ESC-50: missing {root / 'meta' / 'esc50.csv'} (the clip list with columns {', '.join(ESC50_COLUMNS)}); "
        f"expected meta/esc50.csv and audio/*.wav in {root} or {root / 'ESC-50-master'}."
    )



def _read_esc50_csv(path: Path, problems: _Problems) -> list[_Esc50Clip] | None:
    """The clips of ``meta/esc50.csv``: each row with its fold (1-5), target (0-9,999), category (one
    name per target) and a plain file name; bad rows are reported and left out, a file name listed again
    is a warning (read once). None when the file cannot be read as a clip list (reported)."""
    try:
        text = guards.read_text(path, guards.MAX_INDEX_FILE_BYTES)
        with io.StringIO(text, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ESC50_COLUMNS if c not in (reader.fieldnames or [])]
            rows = list(reader)
    except guards.GuardError as err:
        problems.add(path, str(err))
        return None
    except csv.Error as err:
        problems.add(path, f"not a readable CSV file ({err}).")
        return None
    if missing:
        problems.add(path, f"lacks column(s) {', '.join(missing)}; expected a header with {', '.join(ESC50_COLUMNS)}.")
        return None
    if not rows:
        problems.add(path, "lists no clips.")
    clips: list[_Esc50Clip] = []
    names: dict[int, str] = {}
    listed: set[str] = set()
    for number, row in enumerate(rows, start=2):
        where = f"line {number}"
        if any(row[c] is None for c in ESC50_COLUMNS):
            problems.add(path, f"{where}: missing fields.")
            continue
        try:
            fold = guards.parse_id(row["fold"], f"{where}, fold", 1, 5)
            target = guards.parse_id(row["target"], f"{where}, target", 0, MAX_ESC50_TARGET)
        except guards.GuardError as err:
            problems.add(path, str(err))
            continue
        category = row["category"]
        if names.setdefault(target, category) != category:
            problems.add(path, f"{where}: target {target} is named both {names[target]!r} and {category[:40]!r}.")
        name = row["filename"]
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
            problems.add(path, f"{where}: filename {name[:80]!r} is not a plain file name in audio/.")
            continue
        if name in listed:
            problems.add(path, f"{where}: {name[:80]} is listed twice.", "warning")
            continue
        listed.add(name)
        clips.append(_Esc50Clip(name, fold, target, category, row["esc10"].strip().lower() in ("true", "1"), number))
    return clips


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
    The model input is :func:`interp_core.data.time_frequency.waveforms_to_input`, the same log1p-magnitude STFT
    as the embedded ``sounds`` dataset: ``(B, 1, 257, 1 + S // 176)``.
    """
    from interp_core.data.time_frequency import waveforms_to_input

    if isinstance(folds, (int, str)):
        raise ValueError(f"folds must be a sequence of fold numbers 1-5 such as (1, 2, 3), got {folds!r}.")
    folds = tuple(int(f) for f in folds)
    if not folds or any(f not in range(1, 6) for f in folds):
        raise ValueError(f"folds must be fold numbers 1-5, got {folds}.")
    if sample_rate < 1000 or clip_seconds <= 0:
        raise ValueError(f"sample_rate must be at least 1000 Hz and clip_seconds positive, got {sample_rate}, {clip_seconds}.")
    esc = _find_esc50_root(_existing_dir(root, "ESC-50"))
    csv_path = esc / "meta" / "esc50.csv"
    clips = _read_esc50_csv(csv_path, _Problems(stop_at_first_error=True))
    kept = [clip for clip in clips if clip.esc10 or not esc10_only]
    names = {clip.target: clip.category for clip in kept}  # one name per target: the parser made sure
    if esc10_only:
        if not names:
            raise DatasetFormatError(f"{csv_path} marks no clip as esc10.")
        targets = sorted(names)
        relabel = {t: i for i, t in enumerate(targets)}
        class_names = tuple(names[t] for t in targets)
    else:
        relabel = {t: t for t in names}
        class_names = tuple(names.get(t, f"class {t}") for t in range(max(names) + 1))
    selected = [clip for clip in kept if clip.fold in folds]
    if not selected:
        raise DatasetFormatError(f"{csv_path} lists no {'ESC-10 ' if esc10_only else ''}clip in folds {folds}.")
    selected = [selected[i] for i in _subsample(len(selected), max_samples)]
    audio_dir = esc / "audio"
    missing = [clip.filename for clip in selected if not (audio_dir / clip.filename).exists()]
    if missing:
        raise DatasetFormatError(
            f"ESC-50: {len(missing)} clip(s) listed in meta/esc50.csv are missing from {audio_dir}: {', '.join(missing[:3])}."
        )
    num_samples = int(round(clip_seconds * sample_rate))
    waveforms = np.stack(_thread_map(lambda clip: _read_audio(audio_dir / clip.filename, sample_rate, num_samples), selected))
    info = DatasetInfo(
        name="esc10" if esc10_only else "esc50",
        kind="audio",
        class_names=class_names,
        input_shape=tuple(waveforms_to_input(np.zeros((1, num_samples), dtype=np.float32)).shape[1:]),
        sample_rate=sample_rate,
        description=f"ESC-50 folds {folds} read from {esc}, {clip_seconds:g} s at {sample_rate} Hz.",
    )
    extras = {
        "folds": np.array([clip.fold for clip in selected], dtype=np.int64),
        "esc10": np.array([clip.esc10 for clip in selected], dtype=bool),
        "filenames": np.array([clip.filename for clip in selected]),
    }
    labels = np.array([relabel[clip.target] for clip in selected], dtype=np.int64)
    return Split(info, waveforms, labels, waveforms_to_input, extras=extras)


def _esc50_split(root: PathLike, split: str = "train", **kwargs) -> Split:
    """``train`` / ``val`` / ``test`` of ESC-50: folds 1-3 / 4 / 5 (:data:`ESC50_SPLIT_FOLDS`)."""
    _check_split(split, tuple(ESC50_SPLIT_FOLDS), "ESC-50")
    return load_esc50(root, ESC50_SPLIT_FOLDS[split], **kwargs)


def _check_esc50(root: Path, problems: _Problems, decode: bool) -> dict[str, int]:
    """``check-folder esc50``: the clip list (every bad row), each listed clip's sound header (and with
    ``decode`` its first 10 s), and ``.wav`` files the list does not name (warnings)."""
    try:
        esc = _find_esc50_root(root)
    except DatasetFormatError as err:
        problems.add(root, str(err))
        return {}
    clips = _read_esc50_csv(esc / "meta" / "esc50.csv", problems)
    if clips is None:
        return {}
    audio_dir = esc / "audio"
    found = 0
    for clip in clips:
        path = audio_dir / clip.filename
        if not os.path.lexists(path):
            problems.add(path, f"listed in meta/esc50.csv (line {clip.line}) but missing.")
            continue
        found += 1
        try:
            with guards.open_sound(path, str(path)) as (sound, header):
                guards.check_sound_header(header, str(path), max_seconds=None)
                if decode:
                    guards.read_frames(sound, header.rate * 10)
        except guards.GuardError as err:
            problems.add(path, str(err))
        except Exception as err:  # libsndfile during a decode
            problems.add(path, f"cannot be decoded ({str(err)[:120]}).")
    if audio_dir.is_dir():
        listed = {clip.filename for clip in clips}
        try:
            extra = sorted(e.name for e in os.scandir(audio_dir) if e.name.lower().endswith(".wav") and e.name not in listed)
        except OSError as err:
            problems.add(audio_dir, f"cannot be listed ({err.strerror}).")
            extra = []
        for name in extra[:50]:
            problems.add(audio_dir / name, "not listed in meta/esc50.csv; it is never loaded.", "warning")
    return {"clips": found, "classes": len({clip.target for clip in clips})}
