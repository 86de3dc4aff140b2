"""Datasets: the embedded generated ones (by name) and loaders for real datasets in their on-disk formats.

``load_split(name, split)`` returns a :class:`Split`; ``dataset_info(name)`` the :class:`DatasetInfo`;
``load_real(kind, root, split)`` reads a real dataset folder (see ``interp_core.data.real``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from interp_core.registry import Registry

if TYPE_CHECKING:  # the containers import torch: loaded on first use, so listing datasets stays light
    from interp_core.data.base import DatasetInfo, Split


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset of the registry: where its loader and info function live (imported on first use).

    ``load_options``/``info_options``: fixed keyword arguments (e.g. ``spurious=True``). ``resizable``:
    the generator makes splits of any size (``load(split, num_samples=n)``), as the pointing game's
    larger grid pools need.
    """

    name: str
    summary: str
    module: str
    loader: str
    info_function: str
    load_options: dict[str, Any] = field(default_factory=dict)
    info_options: dict[str, Any] = field(default_factory=dict)
    resizable: bool = False

    def load(self, split: str, **kwargs) -> Split:
        return getattr(importlib.import_module(self.module), self.loader)(split, **self.load_options, **kwargs)

    def info(self) -> DatasetInfo:
        return getattr(importlib.import_module(self.module), self.info_function)(**self.info_options)


DATASETS: Registry[DatasetEntry] = Registry("dataset", ("interp_core.data.embedded",))


def register_dataset(entry: DatasetEntry) -> DatasetEntry:
    return DATASETS.register(entry.name, entry)


def embedded_datasets() -> dict[str, str]:
    """Name -> one-line summary of every registered dataset (torch-free)."""
    return {name: entry.summary for name, entry in DATASETS.items()}


_CACHE: dict[tuple, Split] = {}


def load_split(name: str, split: str = "train", **kwargs) -> Split:
    """Load one split of a registered dataset (generated once, then cached on disk and in memory)."""
    key = (name, split, tuple(sorted(kwargs.items())))
    if key not in _CACHE:
        _CACHE[key] = DATASETS.get(name).load(split, **kwargs)
    return _CACHE[key]


def dataset_info(name: str) -> DatasetInfo:
    return DATASETS.get(name).info()


def __getattr__(name: str):
    if name in ("DatasetFormatError", "DatasetInfo", "Split"):
        from interp_core.data import base

        return getattr(base, name)
    if name in ("REAL_DATASETS", "load_real"):
        from interp_core.data import real

        return getattr(real, name)
    raise AttributeError(f"module 'interp_core.data' has no attribute {name!r}")


__all__ = ["DATASETS", "DatasetEntry", "embedded_datasets", "register_dataset", "REAL_DATASETS", "DatasetFormatError", "DatasetInfo", "Split", "dataset_info", "load_real",
           "load_split"]
