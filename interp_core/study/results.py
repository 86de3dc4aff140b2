"""A stored study's results and raw data, as the Results view and ``study results`` show them: the
statistics after the design's exclusion rules (:func:`study_report`) and the raw answers for export
(:func:`raw_answers`), which carry the platform's raw participant ids only when asked for.
"""
from __future__ import annotations

from typing import Any

from interp_core.study.exclusion import participant_summaries
from interp_core.study.quality import QualityControl
from interp_core.study.stats import study_results
from interp_core.study.storage import StudyStore


def study_report(store: StudyStore, study_id: str, apply_exclusions: bool = True, ci: str = "participant") -> dict[str, Any]:
    """:func:`~.stats.study_results` of the study's answers, after its design's exclusion rules (unless
    ``apply_exclusions`` is False), with the participants' table (no platform ids) and the rules used."""
    study = store.study(study_id)
    rules = QualityControl.from_dict(study["design"].get("quality")).exclusion
    participants = participant_summaries(store.participants(study_id))
    result = study_results(store.responses(study_id), rules if apply_exclusions else None, participants, ci=ci)
    result["rules"] = {"attention": rules.attention, "gold": rules.gold, "trap": rules.trap, "incomplete": rules.incomplete,
                       "applied": apply_exclusions}
    result["participant_table"] = participants
    return result


def raw_answers(store: StudyStore, study_id: str, with_platform_ids: bool = False) -> list[dict[str, Any]]:
    """Every answer in long format (:meth:`StudyStore.responses`); with ``with_platform_ids`` each row also
    names the platform and the raw ids it passed (``platform_<NAME>`` columns) - personal data, for the lead only."""
    rows = store.responses(study_id)
    if not with_platform_ids:
        return rows
    ids = {p.code: (p.platform or "", p.platform_ids or {}) for p in store.participants(study_id)}
    names = sorted({name for _, found in ids.values() for name in found})
    for row in rows:
        platform, found = ids.get(row["participant"], ("", {}))
        row["platform"] = platform
        row.update({f"platform_{name}": found.get(name, "") for name in names})
    return rows
