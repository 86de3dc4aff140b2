"""The ``align`` command: name every feature of a Q-SENN family model through CLIP and check the names
against the dataset's attributes (Q-SENN Eqs. 11-16, Table 6, Fig. 6). Torch-free at import."""
from __future__ import annotations

import argparse
import json


def cmd_align(args: argparse.Namespace) -> int:
    from interp_core.methods.qsenn.naming import ClipChoice, align_report
    from interp_core.store import load_model

    clip = ClipChoice(args.clip, args.clip_model, args.clip_weights, args.clip_pretrained)
    encoder = clip.load(args.device)  # first: missing CLIP weights fail before any other model loads
    loaded = load_model(args.recipe, args.device, train_if_missing=args.train, show_bar=False)
    report = align_report(loaded, clip, encoder=encoder)
    if args.json:
        print(json.dumps(report, indent=2, default=float))
        return 0
    print(f"{report['recipe']} ({report['n_features']} features, {report['n_concepts']} concepts) named by {report['clip']}")
    print(f"{'':<28}{'pos_full ↓':>12}{'pos_pred ↓':>12}{'pos_pred_rel ↑':>16}")
    for label, prefix in (("Random", "random_"), (f"Static ({report['static_concept']})", "static_"), ("CLIP alignment", "")):
        print(f"{label:<28}{report[prefix + 'pos_full']:>12.2f}{report[prefix + 'pos_pred']:>12.2f}{report[prefix + 'pos_pred_rel']:>16.1%}")
    print("Fig. 6 (pos_pred_rel by bin of max a_clip): " + ", ".join(
        f"[{b['low']:.3f}, {b['high']:.3f}] {b['mean']:.0%}" for b in report["certainty_bins"]))
    print(f"{'feature':>7} {'classes':>7}  {'CLIP label':<24}{'a_clip':>8}  {'attribute label':<24}{'a_gt':>8}{'r':>7}  pos_full")
    for f in report["features"]:
        print(f"{f['feature']:>7} {f['classes']:>7}  {f['clip_label']:<24}{f['clip_value']:>8.4f}  {f['attribute_label']:<24}"
              f"{f['attribute_value']:>8.3f}{f['attribute_r']:>7.2f}  {f['pos_full']:.1f}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("align", help="name a Q-SENN model's features through CLIP and validate the names (Table 6)")
    p.add_argument("recipe", help="a Q-SENN family recipe on a shapes dataset, e.g. qsenn-shapes")
    p.add_argument("--clip", default="clip-shapes", help="the CLIP recipe that names the features (default: clip-shapes)")
    p.add_argument("--clip-model", default=None, help="a pretrained open_clip architecture instead, e.g. ViT-B-32")
    p.add_argument("--clip-weights", default=None, help="a local weights file of --clip-model (nothing downloads)")
    p.add_argument("--clip-pretrained", default=None,
                   help="an open_clip pretrained tag of --clip-model (e.g. openai) whose weights are in the local cache")
    p.add_argument("--device", default=None)
    p.add_argument("--train", action="store_true", help="train the Q-SENN model first if no checkpoint exists")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_align)
