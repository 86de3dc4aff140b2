"""``benchmark``: FunnyBirds-style intervention metrics of every method on every ready model of a dataset
(:mod:`interp_core.evaluation.benchmark`), with a progress bar; results resume from the result cache."""
from __future__ import annotations

import argparse
import sys

from interp_core.cli.arguments import comma_separated
from interp_core.cli.output import print_json
from interp_core.evaluation.benchmark import DEFAULTS

#: Columns of the text table, in order (the JSON has every metric).
_COLUMNS = ("csdc", "pc", "dc", "d", "bi", "sd", "ts", "completeness", "completeness_best", "randomisation", "sparseness",
            "pointing_game")


def _cell(value) -> str:
    return f"{value:>8.3f}" if isinstance(value, (int, float)) else f"{'-':>8}"


def cmd_benchmark(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from interp_core.evaluation.benchmark import run_benchmark, write_results

    with tqdm(total=1.0, desc=f"benchmark {args.benchmark}", file=sys.stderr,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}") as bar:
        def report(step) -> None:
            bar.n = round(step.fraction, 4)
            bar.set_postfix_str(step.message[-60:])
            bar.refresh()

        result = run_benchmark(args.benchmark, comma_separated(args.models) or None, comma_separated(args.methods) or None,
                               images=args.images, costly_images=args.costly_images,
                               randomisation_images=args.randomisation_images, pointing_grids=args.grids,
                               normalise=args.normalise, progress=report, device=args.device)
    if args.save:
        print(f"saved {write_results(result)}", file=sys.stderr)
    for note in result["notes"]:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print_json(result)
        return 0
    print(f"{'model':<18} {'method':<22} {'images':>6} " + " ".join(f"{c[:8]:>8}" for c in _COLUMNS))
    for row in result["rows"] + result["references"]:
        print(f"{row['model']:<18} {row['method']:<22} {row['images']:>6} " + " ".join(_cell(row.get(c)) for c in _COLUMNS))
    print(f"({result['seconds']:.1f} s)")
    return 0


def register(subparsers) -> None:
    """Add ``benchmark`` to the command line's ``subparsers``."""
    p = subparsers.add_parser("benchmark", help="FunnyBirds-style intervention metrics of every method on every ready model "
                                                "(creatures: parts re-drawn away; sounds-mix: sources re-mixed away)")
    p.add_argument("benchmark", choices=tuple(DEFAULTS))
    p.add_argument("--models", default=None, help="recipe names, comma-separated (default: every ready model)")
    p.add_argument("--methods", default=None, help="explanation methods, comma-separated (default: every applicable one)")
    p.add_argument("--images", type=int, default=None, help="test inputs per method (default: 200)")
    p.add_argument("--costly-images", type=int, default=None, help="test inputs for costly methods (IG, LIME, RISE; default: 50 on creatures, 10 on sounds-mix)")
    p.add_argument("--randomisation-images", type=int, default=None, help="inputs of the randomisation test (0: skip it)")
    p.add_argument("--grids", type=int, default=None, help="pointing-game 3x3 grids (0: skip it)")
    p.add_argument("--normalise", choices=("positive", "signed"), default="positive",
                   help="important parts by share of positive mass (default) or the paper's signed rule")
    p.add_argument("--device", default=None)
    p.add_argument("--save", action="store_true", help="record the result as the shipped one (assets/benchmarks/)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_benchmark)
