"""Evaluation commands: ``compare``, ``eval``, ``pointing-game`` and ``bench``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interp_core.cli.arguments import comma_separated
from interp_core.cli.output import print_json, print_mapping


def cmd_compare(args: argparse.Namespace) -> int:
    from interp_core.evaluation.sample_comparison import compare_sample

    payload = compare_sample(comma_separated(args.model), comma_separated(args.methods) or None, split=args.split,
                             index=args.index, target=args.target, maps_dir=args.out)
    rows, class_names = payload["entries"], payload["class_names"]
    if args.json:
        print_json(payload)
    else:
        print(f"{payload['dataset']} {args.split} #{args.index} (label {class_names[payload['label']]}):")
        for row in rows:
            shown = (f"map {tuple(row['map_shape'])} max {row['map_max']:.3g}" if row["error"] is None else f"error: {row['error']}")
            print(f"  {row['model']:<16} {row['method']:<22} predicted {class_names[row['predicted']]} "
                  f"({row['probability']:.3f}) {shown} {row['seconds']:.2f}s")
    return 0 if all(row["error"] is None for row in rows) else 1


def cmd_eval(args: argparse.Namespace) -> int:
    from interp_core.evaluation.recipe_metrics import evaluate_with_code_status, not_trained_by_current_code

    metrics = evaluate_with_code_status(args.recipe, device=args.device, train_if_missing=args.train)
    if old := not_trained_by_current_code(metrics["code_status"]):
        print(f"warning: these figures come from checkpoints that today's code did not train: {', '.join(old)}; "
              f"retrain them with `python -m interp_core ship NAME`.", file=sys.stderr)
    print_mapping(metrics, args.json, key_width=16)
    return 0


def cmd_pointing_game(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from interp_core.evaluation.pointing import run_pointing_game

    with tqdm(total=1.0, desc="pointing game", bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}") as bar:
        def report(step) -> None:
            bar.n = round(step.fraction, 4)
            bar.set_postfix_str(step.message[-60:])

        result = run_pointing_game(comma_separated(args.model), comma_separated(args.methods), n_grids=args.grids,
                                   size=args.size, progress=report, n_grids_costly=args.costly_grids or None)
    for note in result.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print_json({"results": result["results"], "notes": result.get("notes", [])})
    else:
        for row in result["results"]:
            print(f"{row['model']:<16} {row['method']:<22} mean {row['mean']:.3f} median {row['median']:.3f} "
                  f"q25 {row['q25']:.3f} q75 {row['q75']:.3f} n {row['n']}")
        for model in dict.fromkeys(row["model"] for row in result["results"]):
            row = next(r for r in result["results"] if r["model"] == model)
            refs = " ".join(f"{k} {row[k]:.3f}" for k in ("oracle", "uniform", "colour_prior") if k in row)
            print(f"{model:<16} {'(references)':<22} {refs}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib
    import inspect

    run = getattr(importlib.import_module(f"interp_core.bench.{args.which}"), f"run_{args.which}_benchmark")
    options = {"views": tuple(comma_separated(args.views)) or None, "home": args.home, "browser": args.browser}
    options = {name: value for name, value in options.items() if value is not None}
    unsupported = sorted(set(options) - set(inspect.signature(run).parameters))
    if unsupported:
        raise ValueError(f"bench {args.which} takes no " + ", ".join(f"--{name}" for name in unsupported) + ".")
    print_mapping(run(**options), args.json, key_width=28)
    return 0


def benchmark_names() -> tuple[str, ...]:
    """Every module ``interp_core/bench/<name>.py`` with a ``run_<name>_benchmark`` (found on disk, nothing imported)."""
    folder = Path(__file__).resolve().parent.parent / "bench"
    return tuple(sorted(f.stem for f in folder.glob("*.py") if f.stem != "__init__" and f"def run_{f.stem}_benchmark" in f.read_text()))


def register(subparsers) -> None:
    """Add ``compare``, ``eval``, ``pointing-game`` and ``bench`` to the command line's ``subparsers``."""
    p = subparsers.add_parser("compare", help="every applicable method on one test sample, side by side (maps as .npy with --out)")
    p.add_argument("--model", required=True, help="model name(s) of one dataset, comma-separated")
    p.add_argument("--methods", default=None, help="explanation methods, comma-separated (default: every applicable one)")
    p.add_argument("--split", default="test")
    p.add_argument("--index", type=int, default=0, help="sample number in the split")
    p.add_argument("--target", type=int, default=None, help="class to explain (default: each model's prediction)")
    p.add_argument("--out", default=None, help="folder for the maps, one <model>--<method>.npy each")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)

    p = subparsers.add_parser("eval", help="metrics on the test split, computed now from the cached or shipped model")
    p.add_argument("recipe")
    p.add_argument("--device", default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--train", action="store_true", help="train the model first if no checkpoint exists")
    p.set_defaults(func=cmd_eval)

    p = subparsers.add_parser("pointing-game", help="grid pointing game localisation scores")
    p.add_argument("--model", required=True, help="recipe name(s), comma-separated")
    p.add_argument("--methods", required=True, help="explanation methods, comma-separated")
    p.add_argument("--grids", type=int, default=500)
    p.add_argument("--size", type=int, default=3, choices=(2, 3))
    p.add_argument("--costly-grids", type=int, default=20,
                   help="grids for costly methods (IG, LIME, RISE); 0: as many as --grids")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pointing_game)

    p = subparsers.add_parser("bench", help="benchmarks that print ratios against a baseline measured in the same run")
    p.add_argument("which", choices=benchmark_names())
    p.add_argument("--views", default=None, help="views: only these, comma-separated (page names, e.g. home,qsenn)")
    p.add_argument("--home", default=None, help="views: the server's INTERP_CORE_HOME: 'fresh' (default: a new empty "
                                                 "temporary cache, as a newcomer has it), 'user' (this environment's) or a folder")
    p.add_argument("--browser", choices=("one", "fresh"), default=None,
                   help="views: 'one' (default) browser profile for every visit, each in a new tab, as a visitor's browser "
                        "keeps the dashboard's code in its cache; 'fresh': a new empty profile for every visit")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
