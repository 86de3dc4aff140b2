"""Quality control of a crowdsourced study, as the lead sets it in the designer or in ``study create``'s
design file (the ``"quality"`` object). Torch-free, no I/O: what to check, not how it is shown.

Follows the ITU-T P.808 crowdsourcing practice (microsoft/P.808): a qualification step before the real
items, an environment check (here the headphone check of Woods et al. 2017 for studies with sounds),
gold items with a known answer and a tolerance (P.808: expected answer ±1), trapping items (an
instruction inside the stimulus itself, so only a participant who looks at it can follow it), and rules
that exclude participants from the results. Exclusions never delete anything: the raw answers keep every
participant, and the results list the excluded ones with their reasons (:mod:`.exclusion`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from interp_core.study.errors import DesignError

MAX_QUALIFICATION_QUESTIONS = 20
MAX_CHECK_ITEMS = 20


@dataclass(frozen=True)
class QualificationQuestion:
    """A multiple-choice question answered before the real items. ``options`` are shown numbered from 1;
    ``accept`` holds the numbers that count as correct (e.g. ``(2,)``)."""

    prompt: str
    options: tuple[str, ...]
    accept: tuple[int, ...]

    def validate(self, n: int) -> None:
        if not self.prompt.strip():
            raise DesignError(f"Qualification question {n + 1} has no text.")
        if not 2 <= len(self.options) <= 10:
            raise DesignError(f"Qualification question {n + 1} needs 2 to 10 options.")
        if not self.accept or any(not 1 <= a <= len(self.options) for a in self.accept):
            raise DesignError(f"Qualification question {n + 1}: the accepted answers must be option numbers 1-{len(self.options)}.")


@dataclass(frozen=True)
class GoldItem:
    """An interpretation whose rating the lead knows: ``condition`` (index into the design's conditions)
    on ``input`` (index into its inputs), ``expected`` rating 1-5, passed when within ``tolerance``."""

    input: int
    condition: int
    expected: int
    tolerance: int = 1


@dataclass(frozen=True)
class ExclusionRules:
    """Who is left out of the results: more failed checks than allowed of each kind (0: any failure
    excludes; -1: never excluded for it), and, with ``incomplete``, participants who did not finish."""

    attention: int = 0
    gold: int = 0
    trap: int = 0
    incomplete: bool = True

    def allowed(self, kind: str) -> int:
        return {"attention": self.attention, "gold": self.gold, "trap": self.trap}[kind]


@dataclass(frozen=True)
class QualityControl:
    qualification: tuple[QualificationQuestion, ...] = ()
    qualification_min_correct: int = 0  # 0: every question right
    headphone_check: bool = False
    gold: tuple[GoldItem, ...] = ()
    traps: int = 0
    exclusion: ExclusionRules = field(default_factory=ExclusionRules)

    @property
    def screens(self) -> bool:
        """Whether participants are screened before the real items."""
        return bool(self.qualification) or self.headphone_check

    def validate(self, inputs: int, conditions: int) -> None:
        """Raise :class:`DesignError` naming the first wrong setting."""
        if len(self.qualification) > MAX_QUALIFICATION_QUESTIONS:
            raise DesignError(f"At most {MAX_QUALIFICATION_QUESTIONS} qualification questions.")
        for n, question in enumerate(self.qualification):
            question.validate(n)
        if not 0 <= self.qualification_min_correct <= len(self.qualification):
            raise DesignError(f"Qualification: the number of right answers needed must be 0 (all) to {len(self.qualification)}.")
        if len(self.gold) > MAX_CHECK_ITEMS or not 0 <= self.traps <= MAX_CHECK_ITEMS:
            raise DesignError(f"At most {MAX_CHECK_ITEMS} gold items and {MAX_CHECK_ITEMS} trapping items.")
        for n, gold in enumerate(self.gold):
            if not 0 <= gold.input < inputs or not 0 <= gold.condition < conditions:
                raise DesignError(f"Gold item {n + 1} names input {gold.input} / method {gold.condition}, which the design does not "
                                  f"have (inputs 0-{inputs - 1}, methods 0-{conditions - 1}).")
            if not 1 <= gold.expected <= 5 or not 0 <= gold.tolerance <= 4:
                raise DesignError(f"Gold item {n + 1}: the expected rating is 1-5 and the tolerance 0-4.")
        rules = self.exclusion
        if any(v < -1 for v in (rules.attention, rules.gold, rules.trap)):
            raise DesignError("Exclusion rules: allowed failures are -1 (never exclude) or more.")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["qualification"] = [{"prompt": q.prompt, "options": list(q.options), "accept": list(q.accept)} for q in self.qualification]
        out["gold"] = [asdict(g) for g in self.gold]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "QualityControl":
        """Inverse of :meth:`to_dict`; a qualification may also be given as ``{"questions": [...], "min_correct": N}``."""
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise DesignError(f"Unknown quality field(s): {', '.join(sorted(unknown))}.")
        try:
            qualification = data.get("qualification") or []
            if isinstance(qualification, dict):
                data.setdefault("qualification_min_correct", qualification.get("min_correct", 0))
                qualification = qualification.get("questions", [])
            questions = tuple(QualificationQuestion(str(q["prompt"]), tuple(str(o) for o in q["options"]),
                                                    tuple(int(a) for a in q["accept"])) for q in qualification)
            gold = tuple(GoldItem(int(g["input"]), int(g["condition"]), int(g["expected"]), int(g.get("tolerance", 1)))
                         for g in data.get("gold") or [])
            rules = data.get("exclusion") or {}
            unknown = set(rules) - set(ExclusionRules.__dataclass_fields__)
            if unknown:
                raise DesignError(f"Unknown exclusion rule(s): {', '.join(sorted(unknown))}.")
            exclusion = ExclusionRules(**{k: (bool(v) if k == "incomplete" else int(v)) for k, v in rules.items()})
            return cls(questions, int(data.get("qualification_min_correct", 0)), bool(data.get("headphone_check", False)), gold,
                       int(data.get("traps", 0)), exclusion)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise DesignError(f"The quality settings are malformed: {err}") from None
