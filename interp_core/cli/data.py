"""Dataset commands: ``data preview``, ``data stats`` and ``check-folder``."""
from __future__ import annotations

import argparse

from interp_core.cli.output import print_json


def cmd_data_preview(args: argparse.Namespace) -> int:
    from interp_core.data.preview import write_preview

    path = write_preview(args.dataset, args.out, split=args.split, count=args.count, seed=args.seed)
    print(f"Wrote {path}")
    return 0


def cmd_data_stats(args: argparse.Namespace) -> int:
    from interp_core.data.stats import dataset_stats

    stats = dataset_stats(args.dataset, args.split, time_generation=not args.cached)
    if args.json:
        print_json(stats)
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


def cmd_check_folder(args: argparse.Namespace) -> int:
    from interp_core.data.real import check_real_folder

    report = check_real_folder(args.kind, args.root, decode=args.decode)
    if args.json:
        print_json(report)
    else:
        status = "OK" if report["ok"] else "PROBLEMS"
        print(f"{status}: {args.kind} at {report['root']}: {report['errors']} error(s), {report['warnings']} warning(s); "
              + ", ".join(f"{v} {k}" for k, v in report["checked"].items()))
        for item in report["problems"]:
            print(f"  {item['severity']}: {item['path']}: {item['message']}")
        if report["listed"] < report["errors"] + report["warnings"]:
            print(f"  ... {report['errors'] + report['warnings'] - report['listed']} more not listed")
    return 0 if report["ok"] else 1


def register(subparsers) -> None:
    """Add ``data`` (``preview``, ``stats``) and ``check-folder`` to the command line's ``subparsers``."""
    p = subparsers.add_parser("data", help="dataset tools")
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

    p = subparsers.add_parser("check-folder", help="validate a real-dataset folder (cub, imagefolder, esc50) without loading it")
    p.add_argument("kind", choices=("cub", "imagefolder", "esc50"))
    p.add_argument("root")
    p.add_argument("--decode", action="store_true", help="also decode every file once (slower)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check_folder)
