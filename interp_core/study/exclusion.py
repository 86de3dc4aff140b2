"""Who is left out of a study's results, and why: the design's exclusion rules (:class:`~.quality.ExclusionRules`)
applied to the long-format answers (:meth:`StudyStore.responses`) and the participants' records.

Nothing is deleted: the raw answers keep every participant; the results list each excluded participant
with every reason that applies (e.g. "gold items: 2 of 3 missed (0 allowed)"), and screened-out
participants (who never reached a rating) with the screening score that stopped them.
"""
from __future__ import annotations

from typing import Any, Iterable

from interp_core.study.quality import ExclusionRules

CHECK_KINDS = ("attention", "gold", "trap")
_NAMES = {"attention": "attention checks", "gold": "gold items", "trap": "trapping items"}


def check_failed(row: dict[str, Any]) -> bool:
    """Whether a check answer missed: gold outside expected ± tolerance, others not the instructed answer."""
    if row.get("correct") is not None:
        return not bool(row["correct"])
    if row.get("kind") == "gold":
        return abs(int(row["value"]) - int(row["expected"])) > int(row.get("tolerance") or 0)
    return row["value"] != row["expected"]


def check_report(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per participant: check items answered and missed, by kind, and ``flagged`` (any miss)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        mine = out.setdefault(r["participant"], {"participant": r["participant"], "checks": 0, "failed": 0,
                                                 **{f"{k}_failed": 0 for k in CHECK_KINDS}, **{f"{k}_checks": 0 for k in CHECK_KINDS}})
        if not r.get("attention"):
            continue
        kind = r.get("kind") or "attention"
        kind = kind if kind in CHECK_KINDS else "attention"
        missed = check_failed(r)
        mine["checks"] += 1
        mine["failed"] += missed
        mine[f"{kind}_checks"] += 1
        mine[f"{kind}_failed"] += missed
    for mine in out.values():
        mine["flagged"] = mine["failed"] > 0
    return [out[p] for p in sorted(out)]


def participant_summaries(records, with_platform_ids: bool = False) -> list[dict[str, Any]]:
    """The lead's table of participants (from :meth:`StudyStore.participants`): code, platform, block,
    consent, completion, screening outcome; the raw platform ids only when asked for."""
    out = []
    for p in records:
        row = {"participant": p.code, "platform": p.platform or "link", "block": p.block,
               "consented": p.consented_at is not None, "completed": p.completed_at is not None,
               "screened_out": p.screened_out_at is not None, "screen_reason": p.screen_reason or ""}
        if with_platform_ids:
            row["platform_ids"] = dict(p.platform_ids or {})
        out.append(row)
    return out


def exclusions(rows: list[dict[str, Any]], rules: ExclusionRules, participants: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """``[{"participant", "reasons": [...]}]`` of everyone the rules leave out, sorted by code.
    ``participants`` (:func:`participant_summaries`) adds the "did not finish" rule; screened-out
    participants are not listed here (they have no ratings; see :func:`screened_out`)."""
    reasons: dict[str, list[str]] = {}
    for report in check_report(rows):
        for kind in CHECK_KINDS:
            allowed, missed, total = rules.allowed(kind), report[f"{kind}_failed"], report[f"{kind}_checks"]
            if allowed >= 0 and missed > allowed:
                reasons.setdefault(report["participant"], []).append(f"{_NAMES[kind]}: {missed} of {total} missed ({allowed} allowed)")
    if rules.incomplete and participants is not None:
        answered = {r["participant"] for r in rows}
        for p in participants:
            if p["participant"] in answered and not p["completed"] and not p["screened_out"]:
                reasons.setdefault(p["participant"], []).append("did not finish")
    return [{"participant": code, "reasons": reasons[code]} for code in sorted(reasons)]


def screened_out(participants: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"participant": p["participant"], "reason": p["screen_reason"]} for p in participants or [] if p["screened_out"]]
