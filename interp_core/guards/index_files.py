"""Ids, paths and folder walks named by a real dataset's index files and folders (torch-free).

An id is an integer in a stated range, a listed path stays inside its folder, and a walk counts each
file and folder once however many symbolic links reach it.
"""
from __future__ import annotations

import os
from pathlib import Path

from interp_core.guards import limits
from interp_core.guards.messages import GuardError


def parse_id(text: str, where: str, low: int = 1, high: int | None = None) -> int:
    """An integer id from an index file, in ``[low, high]`` (``high`` defaults to ``MAX_INDEX_ID``); else
    :class:`GuardError` saying where."""
    high = limits.MAX_INDEX_ID if high is None else high
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise GuardError(f"{where}: {str(text)[:40]!r} is not an integer id.") from None
    if not low <= value <= high:
        raise GuardError(f"{where}: id {str(text)[:40]} is outside {low}-{high:,}.")
    return value


def contained_path(base: Path, relative: str, where: str) -> Path:
    """``base / relative`` for a relative path listed in an index file, refusing absolute paths and ``..``."""
    parts = Path(relative).parts
    if not relative or Path(relative).is_absolute() or ".." in parts or "\x00" in relative:
        raise GuardError(f"{where}: {relative[:80]!r} is not a path inside {base}.")
    return base / relative


def walk_files(folder: Path, suffixes: tuple[str, ...],
               seen_files: dict[tuple[int, int], Path] | None = None) -> tuple[list[Path], list[str]]:
    """Files under ``folder`` (symlinks followed) whose names end in ``suffixes``, sorted, plus notes.

    Each folder and file is counted once however many links reach it: a link to a folder that
    contains the walk (``class/loop -> ..``) or to one already read is not followed, and a file already
    found (here or, with a shared ``seen_files``, in an earlier walk) is skipped. Hidden names are
    skipped. Notes say what was skipped and why."""
    found: list[Path] = []
    notes: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    seen_files = {} if seen_files is None else seen_files
    top = os.path.realpath(folder)
    stack = [Path(folder)]
    while stack:
        current = stack.pop()
        try:
            info = os.stat(current)
        except OSError as err:
            notes.append(f"{current} cannot be read ({err.strerror}).")
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen_dirs:
            notes.append(f"{current} is a link to a folder already read; read once.")
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as err:
            notes.append(f"{current} cannot be listed ({err.strerror}).")
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                real = os.path.realpath(path)
                if entry.is_symlink() and (top == real or top.startswith(real.rstrip(os.sep) + os.sep)):
                    notes.append(f"{path} is a link to a folder that contains it (a loop); not followed.")
                    continue
                subdirs.append(path)
            elif entry.name.lower().endswith(suffixes):
                try:
                    target = os.stat(path)
                    file_key = (target.st_dev, target.st_ino)
                except OSError:
                    file_key = None
                if file_key is not None and file_key in seen_files:
                    notes.append(f"{path} is the same file as {seen_files[file_key]}; counted once.")
                    continue
                if file_key is not None:
                    seen_files[file_key] = path
                found.append(path)
        stack.extend(reversed(subdirs))
    return found, notes
