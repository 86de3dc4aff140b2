"""Real datasets named in recipes: ``KIND[@SIZE]:ROOT`` (torch-free).

A recipe's ``dataset`` may name a real dataset folder instead of an embedded dataset: ``cub:CUB_200_2011``,
``cub@448:/data/CUB_200_2011``, ``imagefolder@32:/data/my-images``, ``esc50:ESC-50-master``. ``KIND`` is a
kind of :data:`interp_core.data.real.REAL_DATASETS`; ``@SIZE`` the square image side the images are
resized and centre-cropped to (image kinds with a resizing loader; default: the loader's own, 224 for CUB,
64 for ImageFolder); a relative ``ROOT`` is resolved against :func:`data_root` (``$INTERP_CORE_DATA``), so
that shipped recipes name no machine's home folder and their hash is the same everywhere.

:func:`register_real_dataset` adds such a name to the dataset registry (:data:`interp_core.data.DATASETS`)
when its folder exists, with :func:`interp_core.data.real.load_named` as loader, so every tool that takes
a dataset by name (training, Compare, the pointing game, the Data page) takes it unchanged. Splits are
``train`` and ``test`` (and ``val`` where the dataset has one); see :func:`~interp_core.data.real.load_named`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from interp_core.paths import cache_dir

#: Kinds of :data:`interp_core.data.real.REAL_DATASETS` (kept torch-free here; a test checks they agree).
REAL_KINDS = ("mnist", "fashion-mnist", "cifar10", "stl10", "cub", "imagefolder", "esc50")
#: Kinds whose loader resizes images to a chosen side (``@SIZE``).
RESIZABLE_KINDS = ("cub", "imagefolder")
_NAME = re.compile(r"^(?P<kind>[a-z0-9-]+)(?:@(?P<size>\d+))?:(?P<root>.+)$")


@dataclass(frozen=True)
class RealName:
    """A parsed ``KIND[@SIZE]:ROOT`` name; ``root`` as written (relative roots are resolved by :meth:`path`)."""

    kind: str
    size: int | None
    root: str

    @property
    def name(self) -> str:
        return f"{self.kind}{'' if self.size is None else f'@{self.size}'}:{self.root}"

    def path(self) -> Path:
        root = Path(self.root).expanduser()
        return root if root.is_absolute() else data_root() / root


def data_root() -> Path:
    """Where relative real-dataset roots live: ``$INTERP_CORE_DATA``, else ``<cache>/data``."""
    configured = os.environ.get("INTERP_CORE_DATA")
    return Path(configured).expanduser() if configured else cache_dir() / "data"


def is_real_name(name: str) -> bool:
    return _NAME.match(name) is not None


def parse_real_name(name: str) -> RealName:
    """Parse ``KIND[@SIZE]:ROOT``; ``ValueError`` with what is wrong and what would be right."""
    match = _NAME.match(name)
    if match is None:
        raise ValueError(f"Dataset {name!r} is not KIND:ROOT or KIND@SIZE:ROOT (e.g. imagefolder:/data/my-images); "
                         f"kinds: {', '.join(REAL_KINDS)}.")
    kind, size = match["kind"], match["size"]
    if kind not in REAL_KINDS:
        raise ValueError(f"Unknown real dataset kind {kind!r} in {name!r}; expected one of {', '.join(REAL_KINDS)}.")
    if size is not None and kind not in RESIZABLE_KINDS:
        raise ValueError(f"{kind} has a fixed input size; @SIZE applies to {', '.join(RESIZABLE_KINDS)} only.")
    if size is not None and not 8 <= int(size) <= 4096:
        raise ValueError(f"Image size {size} in {name!r} is outside 8..4096.")
    return RealName(kind, None if size is None else int(size), match["root"])


def absolute_real_name(name: str) -> str:
    """The same dataset with its root made absolute (what a user's command line names is kept as a full path)."""
    real = parse_real_name(name)
    return RealName(real.kind, real.size, str(real.path().resolve())).name


def register_real_dataset(name: str) -> bool:
    """Register the real dataset ``name`` in :data:`interp_core.data.DATASETS` if its folder exists (a
    recipe on data this machine lacks stays listed, and training it says which folder is missing).
    Returns whether it is registered."""
    from interp_core.data import DATASETS, DatasetEntry, register_dataset

    real = parse_real_name(name)
    if not real.path().is_dir():
        return False
    if name not in DATASETS:  # (loads the embedded datasets first, so menus keep opening on them)
        options = {"name": name, "kind": real.kind, "root": str(real.path()), "image_size": real.size}
        register_dataset(DatasetEntry(name, f"{real.kind} read from {real.path()}", "interp_core.data.real", "load_named",
                                      "named_info", load_options=options, info_options=options))
    return True
