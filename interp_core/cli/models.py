"""Model commands: ``list``, ``train`` (one process or torchrun), ``import-model``, ``derive``, ``ship`` and
``ship-results``."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from interp_core.cli.arguments import comma_separated
from interp_core.cli.output import format_metrics, print_json


def cmd_list(args: argparse.Namespace) -> int:
    from interp_core.evaluation.inventory import inventory

    payload = inventory()
    if args.json:
        print_json(payload)
        return 0
    print("Recipes (status: where the checkpoint is; code: current / stale = the training code changed since it was trained):")
    for r in payload["recipes"]:
        print(f"  {r['name']:<22} {r['kind']:<11} {r['dataset']:<18} {r['status']:<8} {r['code']:<8} {r['description']}")
    print("Datasets:")
    for name, text in payload["datasets"].items():
        print(f"  {name:<22} {text}")
    print("Explanation methods:", ", ".join(payload["methods"]))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from interp_core.store.trainable import training_refusal

    # Asked before dispatching so that the torchrun path refuses too, with the same one line.
    refusal = training_refusal(args.recipe, args.device)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    if args.nproc is not None or args.nnodes > 1 or args.rdzv_endpoint:
        return _train_distributed(args)
    if args.epochs is not None or args.train_subset is not None:
        print("error: --epochs and --train-subset go with --nproc (a launcher run of a changed recipe).", file=sys.stderr)
        return 2
    from interp_core.store import train_recipe

    trained = train_recipe(args.recipe, device=args.device, show_bar=not args.quiet)
    result = {"recipe": args.recipe, "train_seconds": trained.meta["train_seconds"], "device": trained.meta["device"],
              **trained.meta["test_metrics"]}
    if args.json:
        print_json(result)
    else:
        print(f"Trained {args.recipe} in {result['train_seconds']:.1f}s on {result['device']}: "
              + format_metrics(trained.meta["test_metrics"]))
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
        print_json(result)
    else:
        resumed = f", resumed after epoch {result['resumed_from_epoch']}" if result["resumed_from_epoch"] else ""
        print(f"Trained {result['recipe']} on {result['world_size']} processes ({result['device']}{resumed}) in "
              f"{result['train_seconds']:.1f}s: " + format_metrics(result["test_metrics"]))
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
        print_json(result)
        if args.derive:
            _print_derived(result["derive"], summary=False)
    else:
        card = result["card"]
        metrics = format_metrics(result["test_metrics"])
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

    chosen = comma_separated(families)
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
        print_json(result)
    _print_derived(result, summary=not args.json)
    return 0 if result["derived"] else 2


def cmd_ship(args: argparse.Namespace) -> int:
    from interp_core.store.shipping import retrain_and_ship

    for trained, path in retrain_and_ship(args.recipes, device=args.device, show_bar=not args.quiet):
        print(f"{trained.recipe.name}: {trained.meta['test_metrics']} in {trained.meta['train_seconds']:.1f}s -> {path}")
    return 0


def cmd_ship_results(args: argparse.Namespace) -> int:
    from interp_core.evaluation.warmup import ship_default_results

    result = ship_default_results(comma_separated(args.views) or None)
    if args.json:
        print_json(result)
    else:
        for path in result["files"]:
            print(path)
        for view, error in result["errors"].items():
            print(f"{view}: failed: {error}")
    return 0 if not result["errors"] else 2


def register(subparsers) -> None:
    """Add ``list``, ``train``, ``import-model``, ``derive``, ``ship`` and ``ship-results`` to the command line's
    ``subparsers``."""
    p = subparsers.add_parser("list", help="recipes, datasets and explanation methods")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = subparsers.add_parser("train", help="train a recipe from scratch and cache it (--nproc: on several processes with torchrun)")
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

    p = subparsers.add_parser("import-model", help="register your own trained classifier from a weights-only file")
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

    p = subparsers.add_parser("derive", help="family recipes (KMEx, PIQ, Q-SENN, ...) for an imported model, trained with train")
    p.add_argument("name", help="an imported model")
    p.add_argument("--families", required=True, help="comma-separated, e.g. kmex,piq,qsenn")
    p.add_argument("--set", action="append", metavar="FAMILY.FIELD=JSON",
                   help="change a field of that family's derived recipes, e.g. kmex.prototypes_per_class=3 (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_derive)

    p = subparsers.add_parser("ship", help="retrain the shipped default models reproducibly and copy them into assets/")
    p.add_argument("recipes", nargs="*", help="default: every recipe marked shipped")
    p.add_argument("--device", default=None)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_ship)

    p = subparsers.add_parser("ship-results", help="compute the dashboard views' default results of the shipped models in a "
                                                    "fresh cache and copy them into assets/results (trains nothing)")
    p.add_argument("--views", default=None, help="views to compute, comma-separated (default: every view)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ship_results)
