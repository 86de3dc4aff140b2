"""Where interp_core keeps caches (datasets, trained models) and where shipped assets live.

The shipped checkpoints and projections have one copy in the tree, the checkout's top-level ``assets/``.
A wheel carries that folder inside the package as ``interp_core/_assets`` (``setup.py``), so an installed
package finds them with no checkout; a checkout, or an editable install of one, has no ``_assets``.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

PACKAGE_DIR = Path(__file__).resolve().parent
#: The checkout when running from one; the environment's site-packages in an installed package.
REPO_ROOT = PACKAGE_DIR.parent
#: The folder name of ``assets/`` inside an installed package (``setup.py`` writes it there).
INSTALLED_ASSETS = "_assets"


def shipped_assets_dir(package_dir: Path = PACKAGE_DIR) -> Path:
    """The shipped assets of the package at ``package_dir``: the copy an installed wheel carries, else the
    top-level ``assets/`` of the checkout that holds the package."""
    installed = package_dir / INSTALLED_ASSETS
    return installed if installed.is_dir() else package_dir.parent / "assets"


ASSETS_DIR = shipped_assets_dir()
SHIPPED_CHECKPOINTS = ASSETS_DIR / "checkpoints"


def cache_dir() -> Path:
    """Root of all caches: ``$INTERP_CORE_HOME`` or ``~/.cache/interp_core``. Created on demand."""
    root = Path(os.environ.get("INTERP_CORE_HOME", Path.home() / ".cache" / "interp_core"))
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def temporary_cache(prefix: str) -> Iterator[Path]:
    """A fresh empty cache folder named ``INTERP_CORE_HOME`` within the block (what the ship commands compute
    in), removed after it; the previous ``INTERP_CORE_HOME`` is restored."""
    import tempfile

    before = os.environ.get("INTERP_CORE_HOME")
    with tempfile.TemporaryDirectory(prefix=prefix) as home:
        os.environ["INTERP_CORE_HOME"] = home
        try:
            yield Path(home)
        finally:
            if before is None:
                os.environ.pop("INTERP_CORE_HOME", None)
            else:
                os.environ["INTERP_CORE_HOME"] = before


def cache_subdir(name: str) -> Path:
    path = cache_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def with_ext(stem: Path, ext: str) -> Path:
    """``stem`` + ``ext``. Not ``Path.with_suffix``: stems such as ``bcos-shapes-b1.5-<hash>`` contain dots."""
    stem = Path(stem)
    return stem.parent / (stem.name + ext)
