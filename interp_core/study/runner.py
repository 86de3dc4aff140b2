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
"""
from __future__ import annotations

import hashlib
import random
import string
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from interp_core.study.errors import AnswerError, DuplicateAnswerError, StudyClosedError
from interp_core.study.schema import utcnow
from interp_core.study.storage import ParticipantRecord, StudyStore
from interp_core.study.tokens import verify_token

LETTERS = string.ascii_uppercase


def participant_seed(study_seed: int, code: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{study_seed}:{code}".encode()).digest()[:8], "big") >> 1


def participant_plan(items: list[dict[str, Any]], seed: int, items_per_participant: int = 0) -> list[dict[str, Any]]:
    """The participant's screens: ``[{"item": id, "order": [slot, ...]}]``. Main items shuffled (a seeded
    sample when ``items_per_participant`` is set), attention items at seeded places (never first), and
    the slots of each item in a seeded order."""
    rng = random.Random(seed)
    main = [i for i in items if not i["attention"]]
    checks = [i for i in items if i["attention"]]
    if items_per_participant and items_per_participant < len(main):
        main = rng.sample(main, items_per_participant)
    rng.shuffle(main)
    order = list(main)
    for check in checks:
        order.insert(rng.randint(1, len(order)) if order else 0, check)
    plan = []
    for item in order:
        slots = list(range(len(item["slots"])))
        rng.shuffle(slots)
        plan.append({"item": item["id"], "order": slots})
    return plan


def parts_of(item: dict[str, Any]) -> list[int]:
    """The answers an item needs: one per slot for ratings, one for simulation and preference."""
    return list(range(len(item["slots"]))) if item["question"] == "rating" else [0]


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
                 items: dict[int, dict[str, Any]], client: str = ""):
        self.store = store
        self.study = study
        self.code = code
        self.participant = participant
        self.items = items
        self.client = client
        self.session_id = store.open_session(participant.id, client) if participant else None
        self._answers = store.answers(participant.id) if participant else {}
        self._played: dict[str, datetime] = {}

    @classmethod
    def open(cls, store: StudyStore, study_id: str, token: str, client: str = "") -> "ParticipantSession":
        """Check the study (:class:`~interp_core.study.errors.UnknownStudyError`) and the token
        (:class:`~interp_core.study.errors.InvalidTokenError`) and find a returning participant (a new
        session row). Nothing is stored about a new participant before they consent."""
        study = store.study(study_id)
        code = verify_token(study_id, token)
        items = {i["id"]: i for i in store.items(study_id)}
        return cls(store, study, code, store.participant(study_id, code), items, client)

    # --------------------------------------------------------------------------------------- state

    @property
    def consented(self) -> bool:
        return self.participant is not None and self.participant.consented_at is not None

    def consent(self) -> None:
        """Register the participant (with their order) if new, and record their consent."""
        if self.participant is None:
            seed = participant_seed(self.study["seed"], self.code)
            plan = participant_plan(list(self.items.values()), seed, int(self.study["design"].get("items_per_participant", 0)))
            self.participant = self.store.add_participant(self.study["id"], self.code, seed, plan)
            self.session_id = self.store.open_session(self.participant.id, self.client)
            self._answers = self.store.answers(self.participant.id)
        when = self.store.record_consent(self.participant.id)
        self.participant = replace(self.participant, consented_at=when)

    def refresh(self) -> None:
        """Re-read this participant's answers (another tab may have answered)."""
        if self.participant is not None:
            self._answers = self.store.answers(self.participant.id)

    def _complete(self, entry: dict[str, Any]) -> bool:
        item = self.items[entry["item"]]
        return all((item["id"], p) in self._answers for p in parts_of(item))

    @property
    def progress(self) -> tuple[int, int]:
        """(screens finished, screens in total)."""
        if self.participant is None:
            return 0, 0
        return sum(self._complete(e) for e in self.participant.plan), len(self.participant.plan)

    @property
    def done(self) -> bool:
        done, total = self.progress
        return self.participant is not None and done == total

    def _current(self) -> tuple[int, dict[str, Any]] | None:
        for position, entry in enumerate(self.participant.plan):
            if not self._complete(entry):
                return position, entry
        return None

    def screen(self) -> Screen | None:
        """The first screen not fully answered, or None when the participant is done (or has not consented)."""
        if self.participant is None:
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

    def _check_played(self, screen: Screen, now: datetime) -> None:
        for key in screen.sounds():
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
        if part not in parts_of(item):
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
        self._check_played(screen, now)
        position = screen.position
        order = self.participant.plan[position]["order"]
        if item["question"] == "preference":
            chosen = value
        else:
            chosen = part if item["question"] == "rating" else 0
        about = item["slots"][chosen]
        correct = None
        if item["attention"]:
            correct = value == item["expected"]
        elif item["question"] == "simulation":
            correct = value == about["explained"]
        row = {"study_id": self.study["id"], "participant_id": self.participant.id, "session_id": self.session_id, "item_id": item_id,
               "part": part, "slot": chosen, "method": about["method"], "model": about["model"], "fingerprint": about["fingerprint"],
               "value": value, "correct": correct, "position": position, "display": order.index(chosen),
               "shown_at": shown_at, "answered_at": now}
        remaining = {(item_id, p) for p in parts_of(item)} - set(self._answers) - {(item_id, part)}
        # The current screen is the first unfinished one, so finishing the last place finishes the study.
        last = not remaining and position == len(self.participant.plan) - 1
        try:
            self.store.insert_answer(row, completes=last)
        except Exception:
            self.refresh()
            raise
        self._answers[(item_id, part)] = value
