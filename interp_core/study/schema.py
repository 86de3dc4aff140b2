"""The study database (SQLAlchemy 2 declarative tables), versioned by the Alembic migrations beside it.

One row per study, per stored stimulus file, per item (a screen), per participant, per session (each
opening of a participant's link), per answer, and per screening answer (qualification questions and the
headphone check, kept apart from the ratings). A :class:`Response` keeps what the analysis needs
without joins: item, method, model and the model's weights fingerprint, the value, the time the item was
shown and answered, the item's position in the participant's order and the slot's position on screen.

``UniqueConstraint(participant, item, part)`` is what makes an answer final: a replayed or duplicated
submission cannot add a second row, whatever the client does. Changing a table means a new migration in
``migrations/versions`` (tests compare the migrated database with these tables).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Study(Base):
    __tablename__ = "study"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text)
    consent: Mapped[str] = mapped_column(Text)
    design: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The open platform link (Prolific, MTurk): platform, cap, completion codes and URLs; None when closed.
    recruitment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Stimulus(Base):
    """One rendered file (PNG picture or WAV sound), stored with the study so it never changes."""

    __tablename__ = "stimulus"
    __table_args__ = (UniqueConstraint("study_id", "key", name="uq_stimulus_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    media_type: Mapped[str] = mapped_column(String(32))  # image/png | audio/wav
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)


class Item(Base):
    """One screen: its ``question`` (rating | simulation | preference), the input shown first and its
    ``slots`` (the interpretations: method, model, fingerprint, picture and sound keys, explained class)."""

    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("study_id", "key", name="uq_item_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    question: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(Text)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"picture": key, "sound": key | None, "source": text}
    slots: Mapped[list[Any]] = mapped_column(JSON)
    options: Mapped[list[Any]] = mapped_column(JSON)  # [[value, label], ...]
    class_name: Mapped[str] = mapped_column(String(120))
    attention: Mapped[bool] = mapped_column(Boolean, default=False)  # any check item (attention, gold, trap): not data
    expected: Mapped[int | None] = mapped_column(Integer, nullable=True)  # check items: the instructed or known answer
    kind: Mapped[str] = mapped_column(String(16), default="main")  # main | attention | gold | trap
    tolerance: Mapped[int | None] = mapped_column(Integer, nullable=True)  # gold items: |answer - expected| allowed


class Participant(Base):
    __tablename__ = "participant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    plan: Mapped[list[Any]] = mapped_column(JSON)  # [{"item": id, "order": [slot, ...]}, ...] in screen order
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Recruited through a platform link: its name and the raw ids it passed (shown only to the lead).
    platform: Mapped[str | None] = mapped_column(String(16), nullable=True)
    platform_ids: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    block: Mapped[int | None] = mapped_column(Integer, nullable=True)  # balanced designs: the block of items assigned
    screened_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    screen_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ScreeningAnswer(Base):
    """One answer to a screening step (a qualification question or a headphone-check trial)."""

    __tablename__ = "screening_answer"
    __table_args__ = (UniqueConstraint("participant_id", "step", name="uq_screening_answer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StudySession(Base):
    """One opening of a participant's link (a browser tab); answers name the session they came from."""

    __tablename__ = "session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    client: Mapped[str] = mapped_column(String(200), default="")


class Response(Base):
    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("participant_id", "item_id", "part", name="uq_response_answer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("session.id", ondelete="SET NULL"), nullable=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    part: Mapped[int] = mapped_column(Integer)  # which answer of the item: the rated slot, 0 for single-answer items
    slot: Mapped[int] = mapped_column(Integer)  # the slot the answer is about (preference: the chosen one)
    method: Mapped[str] = mapped_column(String(80))
    model: Mapped[str] = mapped_column(String(120))
    fingerprint: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    position: Mapped[int] = mapped_column(Integer)  # the item's place in the participant's order (0-based)
    display: Mapped[int] = mapped_column(Integer)  # the slot's place on screen (0 = "A")
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
