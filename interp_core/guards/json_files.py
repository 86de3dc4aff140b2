"""JSON files read with their nesting bounded (torch-free).

JSON nesting deeper than ``MAX_JSON_DEPTH`` is refused before parsing: the parser would raise
``RecursionError``. Writing goes through :func:`interp_core.io.write_json_atomic`.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any

from interp_core.guards import limits
from interp_core.guards.files import read_limited
from interp_core.guards.messages import GuardError

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_JSON_NON_BRACKET = re.compile(rb"[^\[\]{}]+")


def json_depth(data: bytes) -> int:
    """Deepest nesting of arrays and objects in JSON text (strings skipped), computed without recursion."""
    import numpy as np

    brackets = _JSON_NON_BRACKET.sub(b"", _JSON_STRING.sub(b"", data))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def read_json(path: str | os.PathLike, max_bytes: int | None = None, max_depth: int | None = None) -> Any:
    """Parse a JSON file after the regular-file, size (default ``MAX_METADATA_BYTES``) and nesting-depth
    (default ``MAX_JSON_DEPTH``) checks."""
    max_depth = limits.MAX_JSON_DEPTH if max_depth is None else max_depth
    data = read_limited(path, limits.MAX_METADATA_BYTES if max_bytes is None else max_bytes, "metadata files")
    depth = json_depth(data)
    if depth > max_depth:
        raise GuardError(f"{path} nests {depth} levels deep; at most {max_depth} are accepted.")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as err:
        raise GuardError(f"{path} is not valid JSON ({str(err)[:120]}).") from None
