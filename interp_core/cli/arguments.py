"""Option values shared by several commands."""
from __future__ import annotations


def comma_separated(text: str | None) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]``: the names of a comma-separated option (none for None or blanks)."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]
