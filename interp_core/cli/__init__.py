"""Command line: ``python -m interp_core COMMAND``. Argument parsing lives here and nowhere else."""
from interp_core.cli.main import main

__all__ = ["main"]
