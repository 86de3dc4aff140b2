"""``python -m interp_core``: list, train (one process or torchrun), import-model, derive, compare, eval, ship, data preview,
pointing-game, check-folder, bench."""
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

    from interp_core.external.derived import derived_from
    from interp_core.external.imported import ImportedRecipe, imported_card

    recipes = [
        {"name": r.name, "family": r.family, "kind": r.kind, "dataset": r.dataset, "hash": recipe_hash(r),
         "status": checkpoint_status(r.name), "code": code_status(r.name), "shipped": r.shipped, "description": r.description,
         **({"imported": True, "card": imported_card(r.name)} if isinstance(r, ImportedRecipe) else {}),
         **({"derived": derived_from(r.name)} if derived_from(r.name) else {})}
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


def _refuse_on_cpu(name: str, device: str | None) -> str | None:
    """Why ``name`` must not train here (a GPU-sized recipe on a machine without CUDA), or None."""
    from interp_core.external.recipes import GPU_RECIPES

    if name not in GPU_RECIPES:
        return None
    from interp_core.device import choose_device

    if choose_device(device).type == "cuda":
        return None
    from interp_core.external.estimate import cpu_refusal

    return cpu_refusal(name)


def cmd_train(args: argparse.Namespace) -> int:
    from interp_core.external.imported import is_imported
    from interp_core.store import get_recipe, train_recipe

    get_recipe(args.recipe)  # an unknown name fails here, with the available ones
    if is_imported(args.recipe):
        print(f"error: {args.recipe!r} is an imported model; its weights are not trained here "
              f"(import-model --replace brings in new ones).", file=sys.stderr)
        return 2
    refusal = _refuse_on_cpu(args.recipe, args.device)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    if args.nproc is not None or args.nnodes > 1 or args.rdzv_endpoint:
        return _train_distributed(args)
    if args.epochs is not None or args.train_subset is not None:
        print("error: --epochs and --train-subset go with --nproc (a launcher run of a changed recipe).", file=sys.stderr)
        return 2
    trained = train_recipe(args.recipe, device=args.device, show_bar=not args.quiet)
    result = {"recipe": args.recipe, "train_seconds": trained.meta["train_seconds"], "device": trained.meta["device"],
              **trained.meta["test_metrics"]}
    _print_json(result) if args.json else print(
        f"Trained {args.recipe} in {result['train_seconds']:.1f}s on {result['device']}: "
        + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in trained.meta["test_metrics"].items())
    )
    return 0


def _train_distributed(args: argparse.Namespace) -> int:
    from interp_core.training.distributed import DistributedRunError, launch

    try:
        result = launch(args.recipe, nproc=args.nproc or 1, nnodes=args.nnodes, rdzv_endpoint=args.rdzv_endpoint,
                        max_restarts=args.max_restarts, device=args.device, epochs=args.epochs, train_subset=args.train_subset,
                        run_dir=args.run_dir, keep_checkpoints=args.keep_checkpoints, fresh=args.fresh, quiet=args.quiet)
    except DistributedRunError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        _print_json(result)
    else:
        resumed = f", resumed after epoch {result['resumed_from_epoch']}" if result["resumed_from_epoch"] else ""
        print(f"Trained {result['recipe']} on {result['world_size']} processes ({result['device']}{resumed}) in "
              f"{result['train_seconds']:.1f}s: " + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                                          for k, v in result["test_metrics"].items()))
    return 0


def cmd_import_model(args: argparse.Namespace) -> int:
    from interp_core.external.importer import import_model

    arch_kwargs = json.loads(args.arch_kwargs) if args.arch_kwargs else None
    if arch_kwargs is not None and not isinstance(arch_kwargs, dict):
        raise ValueError("--arch-kwargs must be a JSON object, e.g. '{\"b\": 2.0}'.")
    result = import_model(args.name, arch=args.arch, weights=args.weights, classes=args.classes, dataset=args.dataset,
                          output=args.output, arch_kwargs=arch_kwargs, replace=args.replace, evaluate=not args.no_eval,
                          device=args.device)
    if args.derive:
        result["derive"] = _derive(args.name, args.derive, args.set)
    if args.json:
        _print_json(result)
        if args.derive:
            _print_derived(result["derive"], summary=False)
    else:
        card = result["card"]
        metrics = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in result["test_metrics"].items())
        print(f"Imported {card['recipe']}: {args.arch} on {card['dataset']}, {len(card['class_names'])} classes, "
              f"input {tuple(card['input_shape'])}, {card['output']} outputs, weights {card['fingerprint']}"
              + (f"; test {metrics}" if metrics else "") + f"\n  checkpoint {result['checkpoint']}")
        if args.derive:
            _print_derived(result["derive"])
    return 0 if not args.derive or result["derive"]["derived"] else 2


def _parse_overrides(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["kmex.n_init=1", "piq.decoder_widths=[32,16]"]`` -> ``{"kmex": {"n_init": 1}, "piq": {...}}`` (values are JSON)."""
    overrides: dict[str, dict[str, Any]] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        family, dot, field = key.partition(".")
        if not sep or not dot or not family or not field:
            raise ValueError(f"--set {item!r}: write FAMILY.FIELD=VALUE, e.g. kmex.prototypes_per_class=3.")
        try:
            overrides.setdefault(family, {})[field] = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"--set {item!r}: the value must be JSON (a number, [1, 2], \"text\", true).") from None
    return overrides


def _derive(name: str, families: str, overrides: list[str] | None) -> dict[str, Any]:
    from interp_core.external.derived import derive

    chosen = [f.strip() for f in families.split(",") if f.strip()]
    if not chosen:
        raise ValueError("--families names no family (e.g. kmex,piq,qsenn).")
    return derive(name, chosen, _parse_overrides(overrides))


def _print_derived(result: dict[str, Any], summary: bool = True) -> None:
    """What ``derive`` made (stdout, with ``summary``) and every family it skipped with the reason (stderr)."""
    if summary:
        for family, names in result["derived"].items():
            print(f"Derived for {family}: {', '.join(names)} (train with: python -m interp_core train {names[-1]})")
        if result["derived"]:
            print(f"  kept in {result['file']}")
    for family, reason in result["skipped"].items():
        print(f"skipped {family}: {reason}", file=sys.stderr)


def cmd_derive(args: argparse.Namespace) -> int:
    result = _derive(args.name, args.families, args.set)
    if args.json:
        _print_json(result)
    _print_derived(result, summary=not args.json)
    return 0 if result["derived"] else 2


def cmd_compare(args: argparse.Namespace) -> int:
    import numpy as np

    from interp_core.data import load_split
    from interp_core.evaluation.compare import compare, comparison_pairs
    from interp_core.store import get_recipe

    models = [m.strip() for m in args.model.split(",") if m.strip()]
    datasets = {get_recipe(m).dataset for m in models}
    if len(datasets) != 1:
        raise ValueError(f"Compare takes models of one dataset; {', '.join(models)} are on {', '.join(sorted(datasets))}.")
    dataset = datasets.pop()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    pairs = comparison_pairs(dataset, methods, models)
    if not pairs:
        raise ValueError(f"No method explains {', '.join(models)}" + (f" among {args.methods}." if methods else "."))
    split = load_split(dataset, args.split)
    if not 0 <= args.index < len(split):
        raise ValueError(f"--index must be in 0..{len(split) - 1} for the {args.split} split of {dataset}.")
    x = split.inputs([args.index])[0]
    entries = compare(x, args.target, pairs)
    out = None
    if args.out:
        from pathlib import Path

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
    rows = []
    for e in entries:
        row = {"method": e.method, "model": e.model, "predicted": e.predicted, "probability": e.probability,
               "target_probability": e.target_probability, "fingerprint": e.fingerprint, "seconds": round(e.seconds, 3),
               "error": e.error}
        if e.explanation is not None:
            attribution = e.explanation.attribution.numpy()
            row.update(target=e.explanation.target, map_shape=list(attribution.shape), map_sum=float(attribution.sum()),
                       map_max=float(attribution.max()), map_min=float(attribution.min()))
            if out is not None:
                path = out / f"{e.model}--{e.method}.npy"
                np.save(path, attribution, allow_pickle=False)
                row["map_file"] = str(path)
        rows.append(row)
    payload = {"dataset": dataset, "split": args.split, "index": args.index, "label": int(split.labels[args.index]),
               "class_names": list(split.info.class_names), "entries": rows}
    if args.json:
        _print_json(payload)
    else:
        print(f"{dataset} {args.split} #{args.index} (label {split.info.class_names[payload['label']]}):")
        for row in rows:
            shown = (f"map {tuple(row['map_shape'])} max {row['map_max']:.3g}" if row["error"] is None else f"error: {row['error']}")
            print(f"  {row['model']:<16} {row['method']:<22} predicted {split.info.class_names[row['predicted']]} "
                  f"({row['probability']:.3f}) {shown} {row['seconds']:.2f}s")
    return 0 if all(row["error"] is None for row in rows) else 1


def models_read() -> list[str]:
    """The recipes whose models this process has loaded (the store's in-memory models), in order."""
    from interp_core.store import models

    return list(dict.fromkeys(key[0] for key in models._LOADED))


def cmd_eval(args: argparse.Namespace) -> int:
    from interp_core.store import catalog, evaluate_recipe

    metrics = evaluate_recipe(args.recipe, device=args.device, train_if_missing=args.train)
    # Every model the figures were computed from (the recipe's own, its backbone, the models it is compared
    # with), and whether today's code trained it: a stale comparison must not pass silently.
    status = {name: catalog.code_status(name) for name in models_read()}
    metrics["code_status"] = status
    old = [f"{name} ({state})" for name, state in status.items() if state in ("stale", "unknown")]
    if old:
        print(f"warning: these figures come from checkpoints that today's code did not train: {', '.join(old)}; "
              f"retrain them with `python -m interp_core ship NAME`.", file=sys.stderr)
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

    p = sub.add_parser("train", help="train a recipe from scratch and cache it (--nproc: on several processes with torchrun)")
    p.add_argument("recipe")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: best available)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("several processes or machines (torchrun, DistributedDataParallel; classifier recipes)")
    g.add_argument("--nproc", type=int, default=None,
                   help="processes per machine: one per GPU on CUDA (NCCL); on the CPU, gloo processes sharing its cores")
    g.add_argument("--nnodes", type=int, default=1, help="machines taking part; run the same command on each")
    g.add_argument("--rdzv-endpoint", default=None, help="HOST:PORT of one machine, where the processes meet (with --nnodes > 1)")
    g.add_argument("--max-restarts", type=int, default=0, help="times torchrun relaunches failed workers (they resume)")
    g.add_argument("--run-dir", default=None, help="folder of the epoch checkpoints (default: <cache>/runs/<recipe>-<hash>; "
                                                    "shared by all machines)")
    g.add_argument("--keep-checkpoints", type=int, default=1, help="epoch checkpoints kept (0: all)")
    g.add_argument("--fresh", action="store_true", help="start over instead of resuming from the last epoch checkpoint")
    g.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (another recipe hash)")
    g.add_argument("--train-subset", type=int, default=None, help="override the recipe's training-sample cap (another hash)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("import-model", help="register your own trained classifier from a weights-only file")
    p.add_argument("name", help="the model's name (lower-case letters, digits, . _ -)")
    p.add_argument("--arch", required=True, help="architecture: cnn, audio-cnn, bcos-cnn, resnet18/34/50, vgg11, densenet121 "
                                                  "or a B-cos conversion bcos-resnet18 ...")
    p.add_argument("--weights", required=True, help=".safetensors, or a .pt/.pth state dict (read with weights_only=True)")
    p.add_argument("--classes", required=True, help="class names in output order: one per line, or a JSON list")
    p.add_argument("--dataset", required=True, help="KIND:ROOT (imagefolder:/data/x, cub:/data/CUB_200_2011, esc50:..., "
                                                    "KIND@SIZE:ROOT to resize) or an embedded dataset")
    p.add_argument("--output", choices=("softmax", "sigmoid"), default=None, help="output activation (default: sigmoid for bcos-*)")
    p.add_argument("--arch-kwargs", default=None, help="JSON object of architecture options, e.g. '{\"b\": 2.0}'")
    p.add_argument("--replace", action="store_true", help="overwrite an earlier import of this name")
    p.add_argument("--no-eval", action="store_true", help="skip the test-split accuracy")
    p.add_argument("--derive", default=None, metavar="FAMILIES",
                   help="also derive these families' recipes for the model, comma-separated (e.g. kmex,piq,qsenn; see derive)")
    p.add_argument("--set", action="append", metavar="FAMILY.FIELD=JSON", help="with --derive: change a derived recipe field")
    p.add_argument("--device", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import_model)

    p = sub.add_parser("derive", help="family recipes (KMEx, PIQ, Q-SENN, ...) for an imported model, trained with train")
    p.add_argument("name", help="an imported model")
    p.add_argument("--families", required=True, help="comma-separated, e.g. kmex,piq,qsenn")
    p.add_argument("--set", action="append", metavar="FAMILY.FIELD=JSON",
                   help="change a field of that family's derived recipes, e.g. kmex.prototypes_per_class=3 (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser("compare", help="every applicable method on one test sample, side by side (maps as .npy with --out)")
    p.add_argument("--model", required=True, help="model name(s) of one dataset, comma-separated")
    p.add_argument("--methods", default=None, help="explanation methods, comma-separated (default: every applicable one)")
    p.add_argument("--split", default="test")
    p.add_argument("--index", type=int, default=0, help="sample number in the split")
    p.add_argument("--target", type=int, default=None, help="class to explain (default: each model's prediction)")
    p.add_argument("--out", default=None, help="folder for the maps, one <model>--<method>.npy each")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)

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

        if isinstance(err, (ModelNotTrainedError, CheckpointError, DatasetFormatError, ValueError, FileNotFoundError)):
            print(f"error: {err}", file=sys.stderr)
            if args.verbose:
                raise
            return 2
        raise
