"""``python -m interp_core``: list, train, eval, ship, data preview, pointing-game, check-folder, bench."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, sort_keys=False, default=float))


def cmd_list(args: argparse.Namespace) -> int:
    from interp_core.data import embedded_datasets
    from interp_core.methods import available_explainers
    from interp_core.store import all_recipes, checkpoint_status, code_status, recipe_hash

    recipes = [
        {"name": r.name, "family": r.family, "kind": r.kind, "dataset": r.dataset, "hash": recipe_hash(r),
         "status": checkpoint_status(r.name), "code": code_status(r.name), "shipped": r.shipped, "description": r.description}
        for r in all_recipes().values()
    ]
    datasets = embedded_datasets()
    payload = {"recipes": recipes, "datasets": datasets, "methods": available_explainers()}
    if args.json:
        _print_json(payload)
        return 0
    print("Recipes (status: where the checkpoint is; code: current / stale = the training code changed since it was trained):")
    for r in recipes:
        print(f"  {r['name']:<22} {r['kind']:<11} {r['dataset']:<18} {r['status']:<8} {r['code']:<8} {r['description']}")
    print("Datasets:")
    for name, text in datasets.items():
        print(f"  {name:<22} {text}")
    print("Explanation methods:", ", ".join(payload["methods"]))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from interp_core.store import train_recipe

    trained = train_recipe(args.recipe, device=args.device, show_bar=not args.quiet)
    result = {"recipe": args.recipe, "train_seconds": trained.meta["train_seconds"], "device": trained.meta["device"],
              **trained.meta["test_metrics"]}
    _print_json(result) if args.json else print(
        f"Trained {args.recipe} in {result['train_seconds']:.1f}s on {result['device']}: "
        + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in trained.meta["test_metrics"].items())
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from interp_core.store import evaluate_recipe

    metrics = evaluate_recipe(args.recipe, device=args.device, train_if_missing=args.train)
    if args.json:
        _print_json(metrics)
    else:
        for key, value in metrics.items():
            print(f"{key:>16}: {value}")
    return 0


def cmd_ship(args: argparse.Namespace) -> int:
    from interp_core.store import all_recipes, ship_recipe, train_recipe

    names = args.recipes or [r.name for r in all_recipes().values() if r.shipped]
    for name in names:
        trained = train_recipe(name, device=args.device, show_bar=not args.quiet)
        path = ship_recipe(name)
        print(f"{name}: {trained.meta['test_metrics']} in {trained.meta['train_seconds']:.1f}s -> {path}")
    return 0


def cmd_data_preview(args: argparse.Namespace) -> int:
    from interp_core.data.preview import write_preview

    path = write_preview(args.dataset, args.out, split=args.split, count=args.count, seed=args.seed)
    print(f"Wrote {path}")
    return 0


def cmd_data_stats(args: argparse.Namespace) -> int:
    from interp_core.data.stats import dataset_stats

    stats = dataset_stats(args.dataset, args.split, time_generation=not args.cached)
    if args.json:
        _print_json(stats)
        return 0
    print(f"{stats['dataset']} ({stats['split']}): {stats['samples']} samples, {stats['classes']} classes, "
          f"{stats['attributes']} attributes, {stats['distinct_captions']}/{stats['captions']} distinct captions")
    for group, values in stats["attribute_groups"].items():
        within = stats.get("within_class", {}).get(group, {})
        print(f"  {group:<12} {len(values)} values; varies inside {within.get('classes_varying', 0)}/{stats['classes']} classes: "
              + ", ".join(values))
    print("  ground truth: " + ", ".join(f"{k} {tuple(v)}" for k, v in stats["ground_truth"].items()))
    if "generation_seconds" in stats:
        print(f"  generated in {stats['generation_seconds']} s ({stats['samples_per_second']} samples/s)")
    return 0


def cmd_pointing_game(args: argparse.Namespace) -> int:
    from interp_core.evaluation.pointing import run_pointing_game

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    models = [m.strip() for m in args.model.split(",") if m.strip()]
    from tqdm.auto import tqdm

    with tqdm(total=1.0, desc="pointing game", bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}") as bar:
        def report(step) -> None:
            bar.n = round(step.fraction, 4)
            bar.set_postfix_str(step.message[-60:])

        result = run_pointing_game(models, methods, n_grids=args.grids, size=args.size, progress=report,
                                   n_grids_costly=args.costly_grids or None)
    for note in result.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        _print_json({"results": result["results"], "notes": result.get("notes", [])})
    else:
        for row in result["results"]:
            print(f"{row['model']:<16} {row['method']:<22} mean {row['mean']:.3f} median {row['median']:.3f} "
                  f"q25 {row['q25']:.3f} q75 {row['q75']:.3f} n {row['n']}")
        for model in dict.fromkeys(row["model"] for row in result["results"]):
            row = next(r for r in result["results"] if r["model"] == model)
            refs = " ".join(f"{k} {row[k]:.3f}" for k in ("oracle", "uniform", "colour_prior") if k in row)
            print(f"{model:<16} {'(references)':<22} {refs}")
    return 0


def cmd_check_folder(args: argparse.Namespace) -> int:
    from interp_core.data.real import check_real_folder

    report = check_real_folder(args.kind, args.root, decode=args.decode)
    if args.json:
        _print_json(report)
    else:
        status = "OK" if report["ok"] else "PROBLEMS"
        print(f"{status}: {args.kind} at {report['root']}: {report['errors']} error(s), {report['warnings']} warning(s); "
              + ", ".join(f"{v} {k}" for k, v in report["checked"].items()))
        for item in report["problems"]:
            print(f"  {item['severity']}: {item['path']}: {item['message']}")
        if report["listed"] < report["errors"] + report["warnings"]:
            print(f"  ... {report['errors'] + report['warnings'] - report['listed']} more not listed")
    return 0 if report["ok"] else 1


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(f"interp_core.bench.{args.which}")
    result = getattr(module, f"run_{args.which}_benchmark")()
    if args.json:
        _print_json(result)
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0


def _benchmarks() -> tuple[str, ...]:
    """Every module ``interp_core/bench/<name>.py`` with a ``run_<name>_benchmark`` (found on disk, nothing imported)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "bench"
    return tuple(sorted(f.stem for f in folder.glob("*.py") if f.stem != "__init__" and f"def run_{f.stem}_benchmark" in f.read_text()))


BENCHMARKS = _benchmarks()


def _extension_modules() -> list[str]:
    """Modules that add their own sub-commands: each family's ``cli.py`` and ``interp_core/study/cli.py``.

    Each defines ``register(subparsers)`` and keeps heavy imports inside its command functions."""
    from pathlib import Path

    from interp_core.families import family_modules

    extra = ["interp_core.study.cli"] if (Path(__file__).resolve().parent.parent / "study" / "cli.py").exists() else []
    return [*family_modules("cli"), *extra]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m interp_core", description="Train and inspect interpretable classifiers.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="recipes, datasets and explanation methods")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("train", help="train a recipe from scratch and cache it")
    p.add_argument("recipe")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: best available)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="metrics on the test split, computed now from the cached or shipped model")
    p.add_argument("recipe")
    p.add_argument("--device", default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--train", action="store_true", help="train the model first if no checkpoint exists")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("ship", help="retrain the shipped default models reproducibly and copy them into assets/")
    p.add_argument("recipes", nargs="*", help="default: every recipe marked shipped")
    p.add_argument("--device", default=None)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_ship)

    p = sub.add_parser("data", help="dataset tools")
    data_sub = p.add_subparsers(dest="data_command", required=True)
    q = data_sub.add_parser("preview", help="write a PNG grid of samples with their ground truth")
    q.add_argument("dataset")
    q.add_argument("--out", required=True)
    q.add_argument("--split", default="train")
    q.add_argument("--count", type=int, default=16)
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=cmd_data_preview)

    q = data_sub.add_parser("stats", help="classes, attribute groups, concept sharing and variation, captions, generation time")
    q.add_argument("dataset")
    q.add_argument("--split", default="train", choices=("train", "test"))
    q.add_argument("--cached", action="store_true", help="read the cached split instead of generating it anew (no timing)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_data_stats)

    p = sub.add_parser("pointing-game", help="grid pointing game localisation scores")
    p.add_argument("--model", required=True, help="recipe name(s), comma-separated")
    p.add_argument("--methods", required=True, help="explanation methods, comma-separated")
    p.add_argument("--grids", type=int, default=500)
    p.add_argument("--size", type=int, default=3, choices=(2, 3))
    p.add_argument("--costly-grids", type=int, default=20,
                   help="grids for costly methods (IG, LIME, RISE); 0: as many as --grids")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pointing_game)

    p = sub.add_parser("check-folder", help="validate a real-dataset folder (cub, imagefolder, esc50) without loading it")
    p.add_argument("kind", choices=("cub", "imagefolder", "esc50"))
    p.add_argument("root")
    p.add_argument("--decode", action="store_true", help="also decode every file once (slower)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check_folder)

    p = sub.add_parser("bench", help="benchmarks that print ratios against a baseline measured in the same run")
    p.add_argument("which", choices=BENCHMARKS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    import importlib

    for module in _extension_modules():
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except KeyError as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    except Exception as err:  # user-facing CLI: one clear line, not a traceback (use -v for details)
        from interp_core.data import DatasetFormatError
        from interp_core.store import CheckpointError, ModelNotTrainedError

        if isinstance(err, (ModelNotTrainedError, CheckpointError, DatasetFormatError, ValueError, FileNotFoundError)):
            print(f"error: {err}", file=sys.stderr)
            if args.verbose:
                raise
            return 2
        raise
