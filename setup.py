"""The one build step pyproject.toml cannot declare: the wheel carries the checkout's top-level ``assets/``
(shipped checkpoints and projections) as ``interp_core/_assets``, where ``interp_core.paths`` finds it in
an installed package. The tree keeps one copy, ``assets/``; everything else is in pyproject.toml.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSETS = Path(__file__).resolve().parent / "assets"
#: Where the wheel puts ``assets/``, relative to the package (``interp_core.paths`` reads the same name).
INSTALLED_ASSETS = Path("interp_core", "_assets")


class BuildPyWithAssets(build_py):
    """``build_py`` from an empty ``build/lib/interp_core`` (setuptools keeps files deleted from the tree
    there, so a retired checkpoint or a moved module would still ship), then ``assets/`` copied in."""

    def run(self) -> None:
        target = Path(self.build_lib) / INSTALLED_ASSETS
        if not self.editable_mode:  # an editable install reads the checkout itself
            shutil.rmtree(target.parent, ignore_errors=True)
        super().run()
        if not self.editable_mode and not self.dry_run:
            # ".*": the temporary files of a checkpoint being written (interp_core.io.atomic_write); "pictures": the
            # dashboard's shipped pictures, which stay in the checkout with the dashboard
            shutil.copytree(ASSETS, target, ignore=shutil.ignore_patterns(".*", "pictures"))


setup(cmdclass={"build_py": BuildPyWithAssets})
