"""The error every guard raises, and the wording of its messages (torch-free).

A refusal names the file and states the limit with figures that agree with it (a file one byte over
20 MB is never called "20.0 MB"). Names are shortened in the middle and stripped of control characters,
so a crafted name cannot fill the screen; a UI that renders Markdown escapes them with
:func:`markdown_escape`, so it cannot render headings, links or LaTeX either.
"""
from __future__ import annotations

import os
import re

from interp_core.guards import limits
from interp_core.progress import format_duration


class GuardError(ValueError):
    """An input exceeds a limit or is not what it claims to be; the message is meant for the user."""


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~=:&\"'@%^])")


def display_name(name: str | os.PathLike, limit: int | None = None) -> str:
    """``name`` quoted for a message: control characters (newlines too) become ``?`` and the middle of
    a long name becomes ``…`` (at most ``limit`` characters kept, default ``MAX_SHOWN_NAME``).
    ``"The file"`` for an empty name. Messages stay plain text; a UI that renders Markdown passes them
    through :func:`markdown_escape`."""
    text = os.fspath(name) if not isinstance(name, str) else name
    if not text:
        return "The file"
    return f"“{shorten(text, limit)}”"


def shorten(text: str, limit: int | None = None) -> str:
    """``text`` without control characters, its middle replaced by ``…`` beyond ``limit`` characters
    (default ``MAX_SHOWN_NAME``)."""
    limit = limits.MAX_SHOWN_NAME if limit is None else limit
    text = "".join("?" if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029") else ch for ch in text)
    if len(text) > limit:
        tail = (limit - 1) // 3
        text = text[: limit - 1 - tail] + "…" + text[len(text) - tail:]
    return text


def markdown_escape(text: str) -> str:
    """Plain text -> Markdown that renders as exactly that text (no headings, links, HTML or LaTeX)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def over_limit(value: float, limit: float, unit: str, scale: float = 1.0, exact_unit: str = "") -> tuple[str, str]:
    """``(value text, limit text)`` for a message saying ``value`` exceeds ``limit``, such that the
    shown value is visibly above the shown limit: the value gets as many decimals (up to 3) as that
    takes, else both are given exactly in ``exact_unit`` (base units, ``scale`` of them per ``unit``).

    ``over_limit(20 * 2**20 + 1, 20 * 2**20, "MB", 2**20, "bytes")`` is
    ``("20,971,521 bytes", "20 MB (20,971,520 bytes)")``, never ``("20.0 MB", "20 MB")``.
    """
    limit_text = f"{limit / scale:g} {unit}".strip()
    shown_limit = limit / scale
    for decimals in range(4):
        shown = round(value / scale, decimals)
        if shown > shown_limit:
            return f"{shown:.{decimals}f} {unit}".strip(), limit_text
    if exact_unit:
        return f"{value:,.0f} {exact_unit}", f"{limit_text} ({limit:,.0f} {exact_unit})"
    return f"{value!r} {unit}".strip(), limit_text


def size_refusal(name: str, size: int, limit: int, what: str = "files") -> str:
    """``"NAME is 20,971,521 bytes; WHAT are limited to 20 MB (20,971,520 bytes)."``"""
    shown, limit_text = over_limit(size, limit, "MB", 2**20, "bytes")
    return f"{name} is {shown}; {what} are limited to {limit_text}."


def duration_refusal(name: str, seconds: float, limit: float) -> str:
    """``"NAME is 1 h 00 min long; sounds are limited to 60 s."``: ``seconds`` and ``limit`` in seconds."""
    if seconds >= 120:
        shown = format_duration(seconds)
    else:
        shown, _ = over_limit(seconds, limit, "s")
    return f"{name} is {shown} long; sounds are limited to {limit:g} s."


def pixel_refusal(name: str, size: tuple[int, int], limit: int | None = None) -> str:
    """``"NAME is W×H pixels (48 megapixels); the limit is 40 megapixels. Resize it and try again."``;
    ``size`` is ``(W, H)``, ``limit`` in pixels (default ``MAX_IMAGE_PIXELS``)."""
    limit = limits.MAX_IMAGE_PIXELS if limit is None else limit
    width, height = size
    shown, limit_text = over_limit(width * height, limit, "megapixels", 1e6, "pixels")
    return (f"{name} is {width}×{height} pixels ({shown}); the limit is {limit_text}. "
            "Resize it and try again.")
