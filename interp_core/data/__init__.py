"""Datasets: the embedded generated ones (by name) and loaders for real datasets in their on-disk formats.

``load_split(name, split)`` returns a :class:`Split`; ``dataset_info(name)`` the :class:`DatasetInfo`;
``load_real(kind, root, split)`` reads a real dataset folder (see ``interp_core.data.real``).
"""
from __future__ import annotations

from typing import Callable

from interp_core.data.base import DatasetFormatError, DatasetInfo, Split

EMBEDDED_DATASETS: dict[str, str] = {
    "shapes": "64x64 scenes, 24 classes = shape x color x pattern, masks and attributes",
    "shapes-spurious": "shapes with background correlated with class in train, random in test",
    "shapes-captions": "shapes with a caption per image built from attributes and background",
    "digits": "scikit-learn handwritten digits upsampled to 28x28",
    "sounds": "synthetic 16 kHz sound events (2 s) with exact time-frequency masks",
}


def _loader(name: str) -> Callable[..., Split]:
    if name == "shapes":
        from interp_core.data.shapes import load_shapes

        return lambda split, **kw: load_shapes(split, **kw)
    if name == "shapes-spurious":
        from interp_core.data.shapes import load_shapes

        return lambda split, **kw: load_shapes(split, spurious=True, name=name, **kw)
    if name == "shapes-captions":
        from interp_core.data.shapes import load_shapes

        return lambda split, **kw: load_shapes(split, captions=True, name=name, **kw)
    if name == "digits":
        from interp_core.data.digits import load_digits_split

        return lambda split, **kw: load_digits_split(split, **kw)
    if name == "sounds":
        from interp_core.data.sounds import load_sounds

        return lambda split, **kw: load_sounds(split, **kw)
    raise KeyError(f"Unknown dataset {name!r}. Embedded datasets: {', '.join(EMBEDDED_DATASETS)}.")


_CACHE: dict[tuple, Split] = {}


def load_split(name: str, split: str = "train", **kwargs) -> Split:
    """Load one split of an embedded dataset (generated once, then cached on disk and in memory)."""
    key = (name, split, tuple(sorted(kwargs.items())))
    if key not in _CACHE:
        _CACHE[key] = _loader(name)(split, **kwargs)
    return _CACHE[key]


def dataset_info(name: str) -> DatasetInfo:
    if name in ("shapes", "shapes-spurious", "shapes-captions"):
        from interp_core.data.shapes import shapes_info

        return shapes_info(name)
    if name == "digits":
        from interp_core.data.digits import digits_info

        return digits_info()
    if name == "sounds":
        from interp_core.data.sounds import sounds_info

        return sounds_info()
    raise KeyError(f"Unknown dataset {name!r}. Embedded datasets: {', '.join(EMBEDDED_DATASETS)}.")


def __getattr__(name: str):
    if name in ("REAL_DATASETS", "load_real"):
        from interp_core.data import real

        return getattr(real, name)
    raise AttributeError(f"module 'interp_core.data' has no attribute {name!r}")


__all__ = ["EMBEDDED_DATASETS", "REAL_DATASETS", "DatasetFormatError", "DatasetInfo", "Split", "dataset_info", "load_real",
           "load_split"]
