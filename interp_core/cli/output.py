"""How the commands print: JSON for ``--json``, aligned ``key: value`` lines, one-line metric lists."""
from __future__ import annotations

import json
from typing import Any


def print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, sort_keys=False, default=float))


def print_mapping(payload: dict[str, Any], as_json: bool, key_width: int) -> None:
    """``payload`` as JSON, or one ``key: value`` line per item with the keys right-aligned to ``key_width``."""
    if as_json:
        print_json(payload)
        return
    for key, value in payload.items():
        print(f"{key:>{key_width}}: {value}")


def format_metrics(metrics: dict[str, Any]) -> str:
    """``"accuracy=0.9833, n=359"``: floats with four decimals, anything else as it is."""
    return ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())
