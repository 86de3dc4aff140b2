"""Screening before the real items: the qualification questions, then the headphone check, each a block
of steps with a pass rule. A participant who fails a block is screened out at once: they see the
study's screened-out code, their screening answers are kept, and they never reach (or store) a rating.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from interp_core.study import headphone
from interp_core.study.quality import QualityControl


@dataclass(frozen=True)
class ScreeningStep:
    """One screening screen: ``key`` (unique in the study), its ``block`` (qualification | headphone), the
    prompt, the options ``((value, label), ...)``, the accepted values, and a sound to play first."""

    key: str
    block: str
    prompt: str
    options: tuple[tuple[int, str], ...]
    accept: frozenset[int]
    sound: str | None = None


def screening_steps(design: Mapping[str, Any], stimulus_meta: Mapping[str, Mapping[str, Any]]) -> list[ScreeningStep]:
    """The screening steps of a stored study, in the order they are shown: its design's qualification
    questions, then one step per stored headphone-check trial (``stimulus_meta``: key -> facts)."""
    quality = QualityControl.from_dict(design.get("quality"))
    steps = [ScreeningStep(f"qualification-{n}", "qualification", q.prompt, tuple(enumerate(q.options, start=1)), frozenset(q.accept))
             for n, q in enumerate(quality.qualification)]
    trials = sorted((meta["trial"], key, meta) for key, meta in stimulus_meta.items() if meta.get("check") == "headphone")
    steps += [ScreeningStep(f"headphone-{trial}", "headphone", headphone.PROMPT, headphone.OPTIONS, frozenset({int(meta["quietest"])}), key)
              for trial, key, meta in trials]
    return steps


def block_outcome(design: Mapping[str, Any], steps: list[ScreeningStep], answers: Mapping[str, int],
                  block: str) -> tuple[bool | None, str]:
    """``(passed, reason)`` of one block: None while some step is unanswered; the reason says the score."""
    mine = [s for s in steps if s.block == block]
    if not mine or any(s.key not in answers for s in mine):
        return None, ""
    right = sum(answers[s.key] in s.accept for s in mine)
    if block == "headphone":
        need = headphone.PASS_MIN if len(mine) == headphone.TRIALS else len(mine)
        name = "headphone check"
    else:
        need = QualityControl.from_dict(design.get("quality")).qualification_min_correct or len(mine)
        name = "qualification"
    return right >= need, f"{name}: {right} of {len(mine)} right, {need} needed"


def screening_outcome(design: Mapping[str, Any], steps: list[ScreeningStep],
                      answers: Mapping[str, int]) -> tuple[bool | None, str]:
    """``(passed, reason)`` over every block in order: False at the first failed block, None while a
    block is still open, True when every block passed (or there is none)."""
    for block in dict.fromkeys(s.block for s in steps):
        passed, reason = block_outcome(design, steps, answers, block)
        if not passed:
            return passed, reason
    return True, ""
