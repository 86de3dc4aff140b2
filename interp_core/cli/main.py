"""``python -m interp_core``: the parser and the entry point. The commands live in one module per group
(:mod:`~interp_core.cli.models`, :mod:`~interp_core.cli.evaluate`, :mod:`~interp_core.cli.benchmark`,
:mod:`~interp_core.cli.data`), plus the
sub-commands that families and the study package register themselves."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from interp_core.cli import benchmark, data, evaluate, models

#: The command groups of this package, in the order ``--help`` lists them.
COMMAND_GROUPS = (models, evaluate, benchmark, data)


def _extension_modules() -> list[str]:
    """Modules that add their own sub-commands: each family's ``cli.py`` and ``interp_core/study/cli.py``.

    Each defines ``register(subparsers)`` and keeps heavy imports inside its command functions."""
    from interp_core.families import family_modules

    extra = ["interp_core.study.cli"] if (Path(__file__).resolve().parent.parent / "study" / "cli.py").exists() else []
    return [*family_modules("cli"), *extra]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m interp_core", description="Train and inspect interpretable classifiers.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
    for module in _extension_modules():
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from interp_core.runtime import retain_freed_memory

    retain_freed_memory()  # freed tensors' memory reused, not handed back and faulted in again each step
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except KeyError as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    except Exception as err:  # user-facing CLI: one clear line, not a traceback (use -v for details)
        from interp_core.data import DatasetFormatError
        from interp_core.store import CheckpointError, ModelNotTrainedError
        from interp_core.store.trainable import TrainingRefused

        if isinstance(err, (ModelNotTrainedError, CheckpointError, DatasetFormatError, TrainingRefused, ValueError,
                            FileNotFoundError)):
            print(f"error: {err}", file=sys.stderr)
            if args.verbose:
                raise
            return 2
        raise
