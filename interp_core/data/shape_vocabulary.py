"""The concept vocabulary of the ``shapes`` datasets: concept groups and values, attribute and class names
(numpy only). Shared by the generator (:mod:`interp_core.data.shapes`) and the captions
(:mod:`interp_core.data.captions`), which therefore need not import each other."""
from __future__ import annotations

import numpy as np

SHAPES = ("circle", "square", "triangle", "cross")
COLORS = ("red", "green", "blue", "yellow")
PATTERNS = ("plain", "striped", "dotted")
SIZES = ("small", "large")
OUTLINES = ("none", "dark")
MARKS = ("none", "spot")
BACKGROUNDS = ("sand", "grass", "water", "rock", "snow", "night")

#: Concept groups whose value varies inside a class (drawn per image with the class's rate).
WITHIN_CLASS_GROUPS: dict[str, tuple[str, ...]] = {"size": SIZES, "outline": OUTLINES, "mark": MARKS}
#: Every annotated concept group in attribute-vector order; attribute names are ``"group::value"``.
ATTRIBUTE_GROUPS: dict[str, tuple[str, ...]] = {
    "shape": SHAPES, "color": COLORS, "pattern": PATTERNS, **WITHIN_CLASS_GROUPS, "background": BACKGROUNDS,
}
ATTRIBUTE_NAMES = tuple(f"{group}::{value}" for group, values in ATTRIBUTE_GROUPS.items() for value in values)
CLASS_NAMES = tuple(f"{c} {p} {s}" for s in SHAPES for c in COLORS for p in PATTERNS)


def class_attributes(label: int) -> tuple[int, int, int]:
    """(shape, colour, pattern) indices of a class."""
    return label // 12, (label // 3) % 4, label % 3


def group_values(attributes: np.ndarray, group: str) -> np.ndarray:
    """Value index ``(n,)`` of ``group`` in attribute vectors ``(n, A)`` (-1 where none is set)."""
    offset = 0
    for name, names in ATTRIBUTE_GROUPS.items():
        if name == group:
            block = np.asarray(attributes)[..., offset:offset + len(names)]
            return np.where(block.any(-1), block.argmax(-1), -1)
        offset += len(names)
    raise KeyError(f"Unknown concept group {group!r}; expected one of {tuple(ATTRIBUTE_GROUPS)}.")
