"""A participant's way through a study: token check, consent, their own order, one screen per item,
every answer committed the moment it is given, and resuming wherever the link is opened again.

What a participant sees is built only from the study's items and their own answers (:class:`Screen`):
methods are blinded (a neutral letter per screen position, positions shuffled per participant and item),
and nothing of other participants or of any result is ever read on this path.

The order is drawn once, when the participant consents (nothing about them is stored before), from a
seed derived from the study seed and the participant code (reproducible), and stored with the
participant, so a reload or another browser continues at the first unanswered item. An answer is checked before it is written: the
current item only, a value among the item's options, consent given, the study open, every sound of the
screen played to its end; the database's unique key refuses a second answer to the same question.

A participant arrives by a signed personal link (:meth:`ParticipantSession.open`) or by the study's
platform link (:meth:`ParticipantSession.open_platform`, :mod:`.recruitment`): then their code is made
from the platform's participant id, so coming back resumes the same session. Studies with screening
(:mod:`.screening`) show the qualification questions and the headphone check right after consent; the
items are assigned (:mod:`.assignment`) only to a participant who passed, and one who failed is
screened out (their code: the study's screened-out code) without any rating stored.
"""
from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from interp_core.study.assignment import block_count, participant_plan
from interp_core.study.errors import AnswerError, DuplicateAnswerError, InvalidTokenError, StudyClosedError
from interp_core.study.quality import QualityControl
from interp_core.study.recruitment import PlatformIdentity, Recruitment, StudyFullError, platform_code, platform_identity, verify_entry
from interp_core.study.schema import utcnow
from interp_core.study.screening import ScreeningStep, block_outcome, screening_outcome, screening_steps
from interp_core.study.storage import ParticipantRecord, StudyStore
from interp_core.study.tokens import verify_token

__all__ = ["LETTERS", "Completion", "ParticipantSession", "Screen", "ScreenSlot", "participant_plan", "participant_seed", "parts_of"]

LETTERS = string.ascii_uppercase


def participant_seed(study_seed: int, code: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{study_seed}:{code}".encode()).digest()[:8], "big") >> 1


def parts_of(item: dict[str, Any], shown: list[int] | None = None) -> list[int]:
    """The answers an item needs: one per shown slot for ratings (``shown``: the plan's slots, default
    all), one for simulation and preference."""
    if item["question"] != "rating":
        return [0]
    return sorted(shown) if shown is not None else list(range(len(item["slots"])))


@dataclass(frozen=True)
class Completion:
    """The last page: finished or screened out, the code to hand to the platform, and where to go next."""

    screened_out: bool
    code: str
    redirect: str
    reason: str = ""


@dataclass(frozen=True)
class ScreenSlot:
    letter: str  # neutral name on screen
    slot: int  # index into the item's slots (what an answer refers to)
    picture: str
    sound: str | None


@dataclass(frozen=True)
class Screen:
    """What one screen shows: never a method name, never another participant's answer."""

    item_id: int
    position: int  # 0-based place in the participant's order
    total: int
    question: str
    prompt: str
    input_picture: str | None
    input_sound: str | None
    slots: tuple[ScreenSlot, ...]
    options: tuple[tuple[int, str], ...]
    answered: dict[int, int] = field(default_factory=dict)  # part -> value already stored

    def sounds(self) -> list[str]:
        return [k for k in [self.input_sound, *(s.sound for s in self.slots)] if k]


class ParticipantSession:
    """One participant in one browser tab. Open with :meth:`open`; then :meth:`consent`, :meth:`screen`,
    :meth:`answer` until :attr:`done`."""

    def __init__(self, store: StudyStore, study: dict[str, Any], code: str, participant: ParticipantRecord | None,
                 items: dict[int, dict[str, Any]], client: str = "", platform: PlatformIdentity | None = None):
        self.store = store
        self.study = study
        self.code = code
        self.participant = participant
        self.items = items
        self.client = client
        self.platform = platform
        self.recruitment = Recruitment.from_dict(study.get("recruitment"))
        screens = QualityControl.from_dict(study["design"].get("quality")).screens
        self.steps: list[ScreeningStep] = screening_steps(study["design"], store.stimulus_meta(study["id"])) if screens else []
        self.session_id = store.open_session(participant.id, client) if participant else None
        self._answers = store.answers(participant.id) if participant else {}
        self._screening = store.screening_answers(participant.id) if participant and self.steps else {}
        self._played: dict[str, datetime] = {}
        self._ensure_plan()

    @classmethod
    def open(cls, store: StudyStore, study_id: str, token: str, client: str = "") -> "ParticipantSession":
        """Check the study (:class:`~interp_core.study.errors.UnknownStudyError`) and the token
        (:class:`~interp_core.study.errors.InvalidTokenError`) and find a returning participant (a new
        session row). Nothing is stored about a new participant before they consent."""
        study = store.study(study_id)
        code = verify_token(study_id, token)
        items = {i["id"]: i for i in store.items(study_id)}
        return cls(store, study, code, store.participant(study_id, code), items, client)

    @classmethod
    def open_platform(cls, store: StudyStore, study_id: str, entry: str, params: dict[str, str],
                      client: str = "") -> "ParticipantSession":
        """Open the study's platform link: check its entry tag and the platform's ids in ``params`` (the
        URL parameters), and find the participant those ids belong to (the same ids resume). Refused
        (:class:`~interp_core.study.errors.InvalidTokenError`) when the link is closed, forged or its
        ids are malformed, and (:class:`~.recruitment.StudyFullError`) for a newcomer once the cap is reached."""
        study = store.study(study_id)
        recruitment = Recruitment.from_dict(study.get("recruitment"))
        if recruitment is None:
            raise InvalidTokenError("This study takes no participants through a platform link.")
        verify_entry(study_id, recruitment.platform, entry)
        identity = platform_identity(recruitment.platform, params)
        code = platform_code(study_id, recruitment.platform, identity.participant)
        participant = store.participant(study_id, code)
        if participant is None:
            if not recruitment.open or study["status"] != "open":
                raise InvalidTokenError("This study takes no new participants. Thank you for your interest.")
            if recruitment.cap and store.count_participants(study_id) >= recruitment.cap:
                raise StudyFullError("This study has all the participants it needs. Thank you for your interest.")
        items = {i["id"]: i for i in store.items(study_id)}
        return cls(store, study, code, participant, items, client, identity)

    # --------------------------------------------------------------------------------------- state

    @property
    def consented(self) -> bool:
        return self.participant is not None and self.participant.consented_at is not None

    def consent(self) -> None:
        """Register the participant if new (a platform participant within the cap), record their consent,
        and assign their items unless screening comes first."""
        if self.participant is None:
            seed = participant_seed(self.study["seed"], self.code)
            platform = self.platform
            cap = self.recruitment.cap if platform and self.recruitment else 0
            self.participant = self.store.add_participant(self.study["id"], self.code, seed, [], platform and platform.platform,
                                                          platform and platform.ids, cap)
            self.session_id = self.store.open_session(self.participant.id, self.client)
            self._answers = self.store.answers(self.participant.id)
        when = self.store.record_consent(self.participant.id)
        self.participant = replace(self.participant, consented_at=when)
        self._ensure_plan()

    def _ensure_plan(self) -> None:
        """Assign the items (a balanced block, see :mod:`.assignment`) once consent is given and screening passed."""
        p = self.participant
        if p is None or p.plan or not self.consented or p.screened_out_at or screening_outcome(self.study["design"], self.steps,
                                                                                                self._screening)[0] is not True:
            return
        design = self.study["design"]
        assignment, per = design.get("assignment", "random"), int(design.get("items_per_participant", 0))
        items = list(self.items.values())
        self.participant = self.store.assign_block(p.id, block_count(assignment, items, per),
                                                   lambda block: participant_plan(items, p.seed, per, assignment, block))

    def refresh(self) -> None:
        """Re-read this participant's answers (another tab may have answered)."""
        if self.participant is not None:
            self._answers = self.store.answers(self.participant.id)

    def _complete(self, entry: dict[str, Any]) -> bool:
        item = self.items[entry["item"]]
        return all((item["id"], p) in self._answers for p in parts_of(item, entry["order"]))

    @property
    def stage(self) -> str:
        """consent | screening | screened_out | items | done."""
        p = self.participant
        if p is None or p.consented_at is None:
            return "consent"
        if p.screened_out_at is not None:
            return "screened_out"
        if not p.plan:
            return "screening"
        return "done" if self.done else "items"

    @property
    def progress(self) -> tuple[int, int]:
        """(screens finished, screens in total)."""
        if self.participant is None:
            return 0, 0
        return sum(self._complete(e) for e in self.participant.plan), len(self.participant.plan)

    @property
    def done(self) -> bool:
        done, total = self.progress
        return self.participant is not None and total > 0 and done == total

    def completion(self) -> Completion | None:
        """What the last page shows: None before the end; else the platform code (empty without a
        platform link) and the URL to send the participant to."""
        stage = self.stage
        if stage not in ("done", "screened_out"):
            return None
        out = stage == "screened_out"
        r = self.recruitment
        return Completion(out, r.code(out) if r else "", r.redirect(out) if r else "", self.participant.screen_reason or "")

    # ------------------------------------------------------------------------------------ screening

    def screening_screen(self) -> tuple[int, ScreeningStep] | None:
        """``(position, step)`` of the first unanswered screening step, or None outside screening."""
        if self.stage != "screening":
            return None
        return next(((n, s) for n, s in enumerate(self.steps) if s.key not in self._screening), None)

    def answer_screening(self, key: str, value: int) -> None:
        """Store the answer to screening step ``key``; a failed block screens the participant out, the last
        passed block assigns their items. Raises :class:`AnswerError` (nothing written) like :meth:`answer`."""
        if self.study["status"] != "open":
            raise StudyClosedError("This study is closed and takes no more answers. Thank you for your interest.")
        current = self.screening_screen()
        if current is None:
            raise AnswerError("There is no screening question to answer now.")
        step = current[1]
        if key != step.key:
            if key in self._screening:
                raise DuplicateAnswerError("You answered this already; your first answer is kept.")
            raise AnswerError("This is not the question on your screen; reload the page to continue where you are.")
        if isinstance(value, bool) or not isinstance(value, int) or value not in {v for v, _ in step.options}:
            raise AnswerError(f"{value!r} is not a possible answer here.")
        self._check_played([step.sound] if step.sound else [], utcnow())
        self.store.insert_screening(self.study["id"], self.participant.id, key, value, value in step.accept)
        self._screening[key] = value
        passed, reason = block_outcome(self.study["design"], self.steps, self._screening, step.block)
        if passed is False:
            self.store.screen_out(self.participant.id, reason)
            self.participant = replace(self.participant, screened_out_at=utcnow(), screen_reason=reason)
        else:
            self._ensure_plan()

    def _current(self) -> tuple[int, dict[str, Any]] | None:
        for position, entry in enumerate(self.participant.plan):
            if not self._complete(entry):
                return position, entry
        return None

    def screen(self) -> Screen | None:
        """The first screen not fully answered, or None when the participant is done (or has not consented,
        is being screened, or was screened out)."""
        if self.participant is None or not self.participant.plan or self.participant.screened_out_at:
            return None
        current = self._current()
        if current is None:
            return None
        position, entry = current
        item = self.items[entry["item"]]
        slots = tuple(ScreenSlot(LETTERS[d], s, item["slots"][s]["picture"], item["slots"][s]["sound"])
                      for d, s in enumerate(entry["order"]))
        answered = {p: v for (i, p), v in self._answers.items() if i == item["id"]}
        return Screen(item["id"], position, len(self.participant.plan), item["question"], item["prompt"],
                      item["input"].get("picture"), item["input"].get("sound"), slots,
                      tuple((int(v), str(label)) for v, label in item["options"]), answered)

    # -------------------------------------------------------------------------------------- answers

    def played(self, sound: str, at: datetime | None = None) -> None:
        """The participant started playing ``sound`` (a stimulus key of the current screen)."""
        self._played.setdefault(sound, at or utcnow())

    def unplayed(self, screen: Screen) -> list[str]:
        """The sounds of ``screen`` not played yet (answers wait for them)."""
        return [k for k in screen.sounds() if k not in self._played]

    def has_played(self, sound: str) -> bool:
        return sound in self._played

    def _check_played(self, sounds: list[str], now: datetime) -> None:
        for key in sounds:
            started = self._played.get(key)
            if started is None:
                raise AnswerError("Play the sound(s) on this screen before answering.")
            seconds = float(self.store.stimulus(self.study["id"], key)[2].get("seconds", 0.0))
            if now - started < timedelta(seconds=seconds) - timedelta(milliseconds=250):
                raise AnswerError(f"Listen to the whole sound ({seconds:.1f} s) before answering.")

    def answer(self, item_id: int, part: int, value: int, shown_at: datetime, slot: int | None = None) -> None:
        """Commit one answer now. ``part``: the rated slot for ratings, 0 otherwise; ``value``: the rating
        (1-5), the chosen class (simulation) or the chosen slot (preference); ``shown_at``: when the screen
        appeared. Raises :class:`~interp_core.study.errors.AnswerError` (and writes nothing) when the
        answer cannot be taken, :class:`~interp_core.study.errors.DuplicateAnswerError` for a repeat."""
        # The store checks the study's status again in the transaction that writes the answer.
        if self.study["status"] != "open":
            raise StudyClosedError("This study is closed and takes no more answers. Thank you for your interest.")
        if not self.consented:
            raise AnswerError("Please give your consent before answering.")
        screen = self.screen()
        if screen is None:
            raise AnswerError("You have answered every item of this study already.")
        if item_id != screen.item_id:
            if any(i == item_id for i, _ in self._answers):
                raise DuplicateAnswerError("You answered this already; your first answer is kept.")
            raise AnswerError("This is not the item on your screen; reload the page to continue where you are.")
        item = self.items[item_id]
        order = self.participant.plan[screen.position]["order"]
        if part not in parts_of(item, order):
            raise AnswerError(f"This item has no question {part}.")
        if part in screen.answered:
            raise DuplicateAnswerError("You answered this already; your first answer is kept.")
        if isinstance(value, bool) or not isinstance(value, int) or value not in {v for v, _ in screen.options}:
            allowed = ", ".join(str(v) for v, _ in screen.options)
            raise AnswerError(f"{value!r} is not a possible answer here; choose one of {allowed}.")
        now = utcnow()
        shown_at = shown_at if shown_at.tzinfo else shown_at.replace(tzinfo=timezone.utc)
        if shown_at > now + timedelta(seconds=5):
            raise AnswerError("The time the item was shown lies in the future.")
        self._check_played(screen.sounds(), now)
        position = screen.position
        if item["question"] == "preference":
            chosen = value
        else:
            chosen = part if item["question"] == "rating" else 0
        about = item["slots"][chosen]
        correct = None
        if item.get("kind") == "gold":
            correct = abs(value - item["expected"]) <= (item["tolerance"] or 0)
        elif item["attention"]:
            correct = value == item["expected"]
        elif item["question"] == "simulation":
            correct = value == about["explained"]
        row = {"study_id": self.study["id"], "participant_id": self.participant.id, "session_id": self.session_id, "item_id": item_id,
               "part": part, "slot": chosen, "method": about["method"], "model": about["model"], "fingerprint": about["fingerprint"],
               "value": value, "correct": correct, "position": position, "display": order.index(chosen),
               "shown_at": shown_at, "answered_at": now}
        remaining = {(item_id, p) for p in parts_of(item, order)} - set(self._answers) - {(item_id, part)}
        # The current screen is the first unfinished one, so finishing the last place finishes the study.
        last = not remaining and position == len(self.participant.plan) - 1
        try:
            self.store.insert_answer(row, completes=last)
        except Exception:
            self.refresh()
            raise
        self._answers[(item_id, part)] = value
