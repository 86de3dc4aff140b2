"""Writing files so that a reader sees the old file or the new one, never half of one (ground floor)."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable


def atomic_write(path: str | Path, data: bytes | str | Callable[[BinaryIO], None], *, fsync: bool = False) -> Path:
    """Write ``data`` (bytes, text as UTF-8, or a function writing to a binary handle) to ``path`` through a
    temporary file in the same folder, then ``os.replace``. ``fsync`` also forces it to disk first (for files
    whose loss after a power cut matters, such as checkpoints). Creates the folder; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data.encode() if isinstance(data, str) else data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | Path, payload: Any, *, indent: int | None = 2) -> Path:
    """``payload`` as key-sorted JSON (numbers and paths as they print) written with :func:`atomic_write`."""
    return atomic_write(path, json.dumps(payload, indent=indent, sort_keys=True, default=_plain))


def read_json_or_none(path: str | Path) -> Any:
    """The JSON at ``path``, or None when it is missing or unreadable (a cache that must be recomputed)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def stable_key(payload: Any, length: int = 12) -> str:
    """Short SHA-256 of ``payload`` as key-sorted JSON: the one way cache entries are named."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:length]


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and arrays, and ``str`` for anything else (paths, dates)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


class TensorToken(tuple):
    """A hashable stand-in ``(bytes, shape)`` for a float32 tensor among cached call arguments."""


def freeze(value: Any) -> Any:
    """``value`` as a hashable cache argument: a tensor becomes a :class:`TensorToken`; anything else is
    returned as it is (see :func:`thaw`)."""
    if type(value).__name__ == "Tensor":
        x = value.detach().float().cpu().contiguous()
        return TensorToken((x.numpy().tobytes(), tuple(x.shape)))
    return value


def thaw(value: Any) -> Any:
    """The tensor of a :class:`TensorToken` (anything else as it is)."""
    if isinstance(value, TensorToken):
        import numpy as np
        import torch

        data, shape = value
        return torch.from_numpy(np.frombuffer(data, dtype=np.float32).reshape(shape).copy())
    return value
