"""Where interp_core keeps caches (datasets, trained models) and where shipped assets live."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = REPO_ROOT / "assets"
SHIPPED_CHECKPOINTS = ASSETS_DIR / "checkpoints"


def cache_dir() -> Path:
    """Root of all caches: ``$INTERP_CORE_HOME`` or ``~/.cache/interp_core``. Created on demand."""
    root = Path(os.environ.get("INTERP_CORE_HOME", Path.home() / ".cache" / "interp_core"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_subdir(name: str) -> Path:
    path = cache_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def with_ext(stem: Path, ext: str) -> Path:
    """``stem`` + ``ext``. Not ``Path.with_suffix``: stems such as ``bcos-shapes-b1.5-<hash>`` contain dots."""
    stem = Path(stem)
    return stem.parent / (stem.name + ext)
