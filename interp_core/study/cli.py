"""``python -m interp_core study create|links|recruit|export|import|results|close|hash-password|loadtest``
(torch-free at import)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _print(payload, as_json: bool, text: str) -> None:
    print(json.dumps(payload, indent=2, default=str) if as_json else text)


def _store(args):
    from interp_core.study.storage import open_store

    return open_store(args.url)


def cmd_create(args: argparse.Namespace) -> int:
    import base64

    from interp_core.study.design import StudyDesign
    from interp_core.study.stimuli import render_study
    from interp_core.study.tokens import make_token, participant_link

    path = Path(args.design)
    doc = json.loads(path.read_text())
    for spec in doc.get("inputs", []):
        if spec.get("path"):  # uploads named by a path relative to the design file
            file = (path.parent / spec.pop("path")).resolve()
            spec["filename"], spec["data"] = file.name, base64.b64encode(file.read_bytes()).decode()
    content = render_study(StudyDesign.from_dict(doc))
    store = _store(args)
    study_id = store.create_study(content)
    links = [participant_link(study_id, make_token(study_id)) for _ in range(args.links)]
    payload = {"study": study_id, "items": len(content.items), "stimuli": len(content.stimuli), "links": links}
    if content.recruitment:
        from interp_core.study.recruitment import platform_link

        payload["platform_link"] = platform_link(study_id, content.recruitment["platform"])
        links = [*links, f"{content.recruitment['platform']} link: {payload['platform_link']}"]
    _print(payload, args.json,
           f"Created study {study_id}: {len(content.items)} items, {len(content.stimuli)} stimuli.\n" + "\n".join(links))
    return 0


def cmd_recruit(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from interp_core.study.recruitment import Recruitment, platform_link

    store = _store(args)
    current = Recruitment.from_dict(store.study(args.study)["recruitment"])
    if args.close:
        if current is None:
            raise ValueError(f"Study {args.study} has no platform link.")
        recruitment = replace(current, open=False)
    else:
        recruitment = Recruitment(args.platform, args.completion_code, args.screened_out_code or "", args.cap,
                                  args.completion_url or "", args.screened_out_url or "")
        recruitment.validate()
    store.set_recruitment(args.study, recruitment.to_dict())
    link = platform_link(args.study, recruitment.platform)
    _print({"study": args.study, **recruitment.to_dict(), "link": link}, args.json,
           f"{recruitment.platform} link {'closed to newcomers' if args.close else 'open'}: {link}")
    return 0


def cmd_links(args: argparse.Namespace) -> int:
    from interp_core.study.tokens import make_token, participant_link

    _store(args).study(args.study)
    links = [participant_link(args.study, make_token(args.study)) for _ in range(args.count)]
    _print({"study": args.study, "links": links}, args.json, "\n".join(links))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from interp_core.study.bundle import write_bundle

    path = write_bundle(_store(args), args.study, args.out)
    _print({"study": args.study, "file": str(path), "bytes": path.stat().st_size}, args.json, f"Wrote {path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from interp_core.study.bundle import import_study

    study_id = import_study(_store(args), Path(args.file).read_bytes())
    _print({"study": study_id}, args.json, f"Imported as study {study_id}")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from interp_core.study.results import raw_answers, study_report

    store = _store(args)
    result = study_report(store, args.study, apply_exclusions=not args.all, ci=args.ci)
    if args.csv:
        import pandas as pd

        pd.DataFrame(raw_answers(store, args.study, args.with_platform_ids)).to_csv(args.csv, index=False)
    if args.json:
        _print(result, True, "")
        return 0
    print(f"{result['participants']} participants, {result['answers']} answers; screened out: {len(result['screened_out'])}; "
          f"excluded: {len(result['exclusions'])}" + ("" if result["rules"]["applied"] else " (rules not applied)"))
    for row in result["exclusions"]:
        print(f"  excluded {row['participant']}: {'; '.join(row['reasons'])}")
    print(f"MOS with 95% CI: {result['ci_method']}")
    for row in result["mos"]:
        print(f"  {row['condition']:<36} MOS {row['mos']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}] n={row['n']} "
              f"({row['participants']} participants)")
    for row in result["wilcoxon"]:
        print(f"  {row['a']} vs {row['b']}: p={row['p']:.4g}, Holm p={row['p_holm']:.4g}")
    for row in result["simulation"]:
        print(f"  simulation {row['condition']}: {row['accuracy']:.1%} (chance {row['chance']:.1%}), p={row['p']:.4g}")
    if result["alpha_ordinal"] is not None:
        print(f"  Krippendorff's alpha (ordinal): {result['alpha_ordinal']:.3f}")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    _store(args).set_status(args.study, "open" if args.reopen else "closed")
    _print({"study": args.study, "status": "open" if args.reopen else "closed"}, args.json, "done")
    return 0


def cmd_hash_password(args: argparse.Namespace) -> int:
    import getpass

    from interp_core.study.config import PASSWORD_HASH_ENV, hash_password

    password = sys.stdin.readline().rstrip("\n") if args.stdin else getpass.getpass("Study lead password: ")
    hashed = hash_password(password)
    _print({"password_hash": hashed}, args.json, f"{PASSWORD_HASH_ENV}='{hashed}'")
    return 0


def cmd_loadtest(args: argparse.Namespace) -> int:
    from interp_core.study.loadtest import run_dashboard_loadtest, run_loadtest

    if args.browsers:
        result = run_dashboard_loadtest(args.browsers, args.answers, url=args.url, servers=args.servers, think_ms=args.think_ms,
                                        post_script_gc=args.post_script_gc)
        where = f"{result['servers']} dashboard server(s), {result['backend']}"
    else:
        result = run_loadtest(args.participants, args.answers, url=args.url)
        where = result["backend"]
    _print(result, args.json, f"{result['written']} written, {result['lost']} lost, {result['errors']} errors, "
                              f"p95 {result['p95_ms']} ms ({where})")
    return 0 if result["lost"] == 0 and result["errors"] == 0 else 1


def register(subparsers) -> None:
    p = subparsers.add_parser("study", help="human-subject rating studies")
    sub = p.add_subparsers(dest="study_command", required=True)

    def command(name: str, func, help: str, url: bool = True) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=help)
        if url:
            q.add_argument("--url", default=None, help="database URL (default: $INTERP_CORE_STUDY_URL or the SQLite file in the cache)")
        q.add_argument("--json", action="store_true")
        q.set_defaults(func=func)
        return q

    q = command("create", cmd_create, "render a study design (JSON) and store it")
    q.add_argument("design", help="design file: name, conditions [{method, model}], inputs [{dataset, index} or {path}], questions, ...")
    q.add_argument("--links", type=int, default=0, help="also make this many participant links")
    q = command("links", cmd_links, "make participant links (signed tokens)")
    q.add_argument("study")
    q.add_argument("--count", type=int, default=1)
    q = command("recruit", cmd_recruit, "open a study's link for Prolific or MTurk (or --close it to newcomers)")
    q.add_argument("study")
    q.add_argument("--platform", choices=["prolific", "mturk"], default="prolific")
    q.add_argument("--completion-code", default="", help="the code finished participants hand to the platform")
    q.add_argument("--screened-out-code", default="", help="a different code for participants screened out")
    q.add_argument("--cap", type=int, default=0, help="most participants (screened-out ones do not count; 0: no cap)")
    q.add_argument("--completion-url", default="", help="send finished participants here ({code} is filled in)")
    q.add_argument("--screened-out-url", default="", help="send screened-out participants here")
    q.add_argument("--close", action="store_true", help="take no newcomers; those who started still finish")
    q = command("export", cmd_export, "write a study (texts, design, stimuli, items) to one file")
    q.add_argument("study")
    q.add_argument("--out", required=True)
    q = command("import", cmd_import, "validate a study file and store it as a new study")
    q.add_argument("file")
    q = command("results", cmd_results, "after the design's exclusion rules: MOS, tests, simulation accuracy, agreement")
    q.add_argument("study")
    q.add_argument("--all", action="store_true", help="apply no exclusion rule (everybody's answers)")
    q.add_argument("--ci", choices=["participant", "mixed", "rating"], default="participant",
                   help="confidence interval of the MOS: participant-level (default), mixed model, or every rating independent")
    q.add_argument("--csv", default=None, help="also write the raw answers (long format, every participant) to this CSV file")
    q.add_argument("--with-platform-ids", action="store_true", help="put the platform's raw participant ids into the CSV")
    q = command("close", cmd_close, "close a study to new answers (--reopen to open it again)")
    q.add_argument("study")
    q.add_argument("--reopen", action="store_true")
    q = command("hash-password", cmd_hash_password, "salted scrypt hash of the study lead's password", url=False)
    q.add_argument("--stdin", action="store_true", help="read the password from standard input")
    q = command("loadtest", cmd_loadtest, "participants answering at once: through the storage layer, or (--browsers) "
                                          "as websocket clients of dashboards this command starts on 127.0.0.1")
    q.add_argument("--participants", type=int, default=50, help="storage-layer participants (threads)")
    q.add_argument("--answers", type=int, default=20)
    q.add_argument("--browsers", type=int, default=0, help="participants as websocket clients of real dashboard servers")
    q.add_argument("--servers", type=int, default=1, help="dashboard processes (more than one: behind a local haproxy)")
    q.add_argument("--think-ms", type=float, default=0.0, help="mean pause before each answer (0: answer at once)")
    q.add_argument("--post-script-gc", action="store_true",
                   help="keep Streamlit's garbage collection after every page run (its default; the study servers switch it off)")
