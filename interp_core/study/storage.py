"""The study database behind every page, the CLI and the load test: one :class:`StudyStore` per URL.

SQLite (the default, a file under the cache folder) is opened in WAL mode with ``synchronous=FULL``:
readers never block the writer, and a commit is on disk before it returns, so a participant's answer
survives the server (or the machine) going down the moment after. Writes take ``BEGIN IMMEDIATE`` (the
write lock up front, so a transaction never fails half way on an upgrade from reading to writing) and
queue on one lock per process instead of SQLite's sleeping busy handler; other processes wait on
``busy_timeout``. Any other URL (PostgreSQL through psycopg 3) gets a connection pool.

Answers are group-committed (:meth:`StudyStore.insert_answer`, :mod:`.answer_writer`): a writer thread
commits every answer queued at that moment in one transaction, so one disk flush serves many
participants, and each caller returns only once its own answer is committed.

The schema is created and upgraded by the Alembic migrations in ``migrations/`` (:func:`migrate`), run
once per process and URL when the store opens, so a study database survives an upgrade of the tool.
"""
from __future__ import annotations

import contextlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from interp_core.study.assignment import condition_label, stimulus_of
from interp_core.study.answer_writer import AnswerWriter
from interp_core.study.config import database_url
from interp_core.study.design import StudyContent
from interp_core.study.errors import DuplicateAnswerError, StudyError, UnknownStudyError
from interp_core.study.recruitment import StudyFullError
from interp_core.study.schema import Item, Participant, Response, ScreeningAnswer, Stimulus, Study, StudySession, utcnow

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _sqlite_engine(url: str) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=20, max_overflow=40)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN, instead of the driver's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("study_write") else "BEGIN")

    return engine


_STORES: dict[str, "StudyStore"] = {}
_STORES_LOCK = threading.Lock()


def open_store(url: str | None = None) -> "StudyStore":
    """The store of ``url`` (default: :func:`~interp_core.study.config.database_url`), migrated to the
    newest schema; one per URL and process, shared by every thread."""
    url = database_url(url)
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            store = _STORES[url] = StudyStore(url)
            store.migrate()
        return store


def migrate(engine: Engine) -> None:
    """Upgrade the database of ``engine`` to the newest schema (Alembic, programmatically)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        conn.execution_options(study_write=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":  # two servers starting at once migrate one after the other
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(720111)")
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


@dataclass(frozen=True)
class ParticipantRecord:
    id: int
    study_id: str
    code: str
    seed: int
    plan: list[dict[str, Any]]
    consented_at: datetime | None
    completed_at: datetime | None
    platform: str | None = None
    block: int | None = None
    screened_out_at: datetime | None = None
    screen_reason: str | None = None
    platform_ids: dict[str, str] | None = field(default=None, repr=False)  # raw platform ids: for the lead only


class StudyStore:
    """Typed access to the study tables; every write is one transaction."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        # One writer per process at a time: SQLite allows only one anyway, and answers are group-committed.
        self._write_lock = threading.Lock()
        if self.is_sqlite:
            self.engine = _sqlite_engine(url)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=40, pool_pre_ping=True)
        self._answers = AnswerWriter(self.engine, self._write_lock if self.is_sqlite else None)

    def migrate(self) -> None:
        with self._write_lock:
            migrate(self.engine)

    def dispose(self) -> None:
        """Finish queued answers, stop the writer threads, close every connection."""
        self._answers.stop()
        self.engine.dispose()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock, self.engine.connect() as conn:
            conn.execution_options(study_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    # -------------------------------------------------------------------------------------- studies

    def create_study(self, content: StudyContent, study_id: str | None = None) -> str:
        """Store a rendered study (its row, stimuli and items) in one transaction; returns its id."""
        study_id = study_id or f"s{secrets.token_hex(5)}"
        keys = {s.key for s in content.stimuli}
        for item in content.items:
            wanted = [item.input.get("picture"), item.input.get("sound")] + [s.get(k) for s in item.slots for k in ("picture", "sound")]
            missing = [k for k in wanted if k and k not in keys]
            if missing:
                raise StudyError(f"Item {item.key!r} refers to stimuli that are not stored: {', '.join(missing)}.")
        with self._write() as conn:
            if conn.scalar(select(func.count()).select_from(Study).where(Study.id == study_id)):
                raise StudyError(f"A study with id {study_id!r} exists already.")
            conn.execute(insert(Study).values(id=study_id, name=content.name, instructions=content.instructions,
                                              consent=content.consent, design=content.design, seed=content.seed,
                                              status="open", created_at=utcnow(), recruitment=content.recruitment))
            if content.stimuli:
                conn.execute(insert(Stimulus), [{"study_id": study_id, "key": s.key, "media_type": s.media_type, "data": s.data,
                                                 "sha256": s.sha256, "meta": s.meta} for s in content.stimuli])
            conn.execute(insert(Item), [{"study_id": study_id, "key": i.key, "question": i.question, "prompt": i.prompt,
                                         "input": i.input, "slots": i.slots, "options": i.options, "class_name": i.class_name,
                                         "attention": i.attention, "expected": i.expected, "kind": i.kind,
                                         "tolerance": i.tolerance} for i in content.items])
        return study_id

    def study(self, study_id: str) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute(select(Study).where(Study.id == study_id)).mappings().first()
        if row is None:
            raise UnknownStudyError(f"There is no study {study_id!r}. Check the link or the study id.")
        return {**row, "created_at": _as_utc(row["created_at"])}

    def studies(self) -> list[dict[str, Any]]:
        """Every study with its counts of items, participants (started, finished) and answers."""
        with self._read() as conn:
            rows = conn.execute(select(Study.id, Study.name, Study.status, Study.created_at).order_by(Study.created_at)).all()
            out = []
            for r in rows:
                count = lambda q: conn.scalar(q) or 0  # noqa: E731
                out.append({"id": r.id, "name": r.name, "status": r.status, "created_at": _as_utc(r.created_at),
                            "items": count(select(func.count()).select_from(Item).where(Item.study_id == r.id)),
                            "participants": count(select(func.count()).select_from(Participant).where(Participant.study_id == r.id)),
                            "finished": count(select(func.count()).select_from(Participant).where(
                                Participant.study_id == r.id, Participant.completed_at.is_not(None))),
                            "answers": count(select(func.count()).select_from(Response).where(Response.study_id == r.id))})
        return out

    def set_status(self, study_id: str, status: str) -> None:
        if status not in ("open", "closed"):
            raise ValueError("A study is open or closed.")
        self.study(study_id)
        with self._write() as conn:
            conn.execute(update(Study).where(Study.id == study_id).values(status=status))

    def set_recruitment(self, study_id: str, recruitment: dict[str, Any] | None) -> None:
        """Open (or, with None, close) the study's platform link (:class:`~.recruitment.Recruitment` as a dict)."""
        self.study(study_id)
        with self._write() as conn:
            conn.execute(update(Study).where(Study.id == study_id).values(recruitment=recruitment))

    def delete_study(self, study_id: str) -> None:
        """Remove a study and everything stored with it."""
        with self._write() as conn:
            pids = select(Participant.id).where(Participant.study_id == study_id)
            conn.execute(delete(Response).where(Response.study_id == study_id))
            conn.execute(delete(ScreeningAnswer).where(ScreeningAnswer.study_id == study_id))
            conn.execute(delete(StudySession).where(StudySession.participant_id.in_(pids)))
            for table in (Participant, Item, Stimulus):
                conn.execute(delete(table).where(table.study_id == study_id))
            conn.execute(delete(Study).where(Study.id == study_id))

    def items(self, study_id: str) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [dict(r) for r in conn.execute(select(Item).where(Item.study_id == study_id).order_by(Item.id)).mappings()]

    def stimuli(self, study_id: str, with_data: bool = True) -> list[dict[str, Any]]:
        cols = [Stimulus.key, Stimulus.media_type, Stimulus.sha256, Stimulus.meta] + ([Stimulus.data] if with_data else [])
        with self._read() as conn:
            return [dict(r) for r in conn.execute(select(*cols).where(Stimulus.study_id == study_id).order_by(Stimulus.id)).mappings()]

    def stimulus_meta(self, study_id: str) -> dict[str, dict[str, Any]]:
        """``key -> facts`` of every stored file (no bytes)."""
        return {s["key"]: s["meta"] or {} for s in self.stimuli(study_id, with_data=False)}

    def stimulus(self, study_id: str, key: str) -> tuple[str, bytes, dict[str, Any]]:
        """``(media_type, data, meta)`` of one stored file."""
        with self._read() as conn:
            row = conn.execute(select(Stimulus.media_type, Stimulus.data, Stimulus.meta)
                               .where(Stimulus.study_id == study_id, Stimulus.key == key)).first()
        if row is None:
            raise StudyError(f"Stimulus {key!r} is not stored with study {study_id!r}.")
        return row.media_type, bytes(row.data), row.meta

    # ---------------------------------------------------------------------------------- participants

    def participant(self, study_id: str, code: str) -> ParticipantRecord | None:
        with self._read() as conn:
            row = conn.execute(select(Participant).where(Participant.study_id == study_id, Participant.code == code)).mappings().first()
        return self._participant(row)

    @staticmethod
    def _participant(row) -> ParticipantRecord | None:
        if row is None:
            return None
        return ParticipantRecord(row["id"], row["study_id"], row["code"], row["seed"], row["plan"],
                                 _as_utc(row["consented_at"]), _as_utc(row["completed_at"]), row["platform"], row["block"],
                                 _as_utc(row["screened_out_at"]), row["screen_reason"], row["platform_ids"])

    @staticmethod
    def _lock_study(conn: Connection, study_id: str) -> None:
        """Serialise the writers of one study's participants (SQLite's BEGIN IMMEDIATE does it already)."""
        if conn.dialect.name != "sqlite":
            conn.execute(select(Study.id).where(Study.id == study_id).with_for_update())

    def add_participant(self, study_id: str, code: str, seed: int, plan: list[dict[str, Any]], platform: str | None = None,
                        platform_ids: dict[str, str] | None = None, cap: int = 0) -> ParticipantRecord:
        """Create the participant ``code`` with its order, or return the one made first (two tabs opening
        one new link at once get the same participant and order). With ``cap``, a new participant is
        refused (:class:`~.recruitment.StudyFullError`) once ``cap`` participants who were not screened
        out are registered; the count and the insert are one transaction, so two servers cannot overshoot."""
        try:
            with self._write() as conn:
                self._lock_study(conn, study_id)
                exists = conn.scalar(select(func.count()).select_from(Participant).where(Participant.code == code))
                if cap and not exists:
                    taken = conn.scalar(select(func.count()).select_from(Participant).where(
                        Participant.study_id == study_id, Participant.screened_out_at.is_(None)))
                    if taken >= cap:
                        raise StudyFullError("This study has all the participants it needs. Thank you for your interest.")
                if not exists:
                    conn.execute(insert(Participant).values(study_id=study_id, code=code, seed=seed, plan=plan, created_at=utcnow(),
                                                            platform=platform, platform_ids=platform_ids))
        except IntegrityError:
            pass
        record = self.participant(study_id, code)
        if record is None:
            raise StudyError("The participant could not be registered; try the link again.")
        return record

    def assign_block(self, participant_id: int, blocks: int, plan_of_block, idle_minutes: float = 60.0) -> ParticipantRecord:
        """Give the participant the block (0 to ``blocks`` - 1) that the fewest others hold, ties to the
        lowest, and the plan ``plan_of_block(block)``; once given, a block stays. Holders are participants
        with a block who were not screened out and who finished or answered (or registered) within
        ``idle_minutes``: an abandoned session frees its block for the next participant."""
        with self._write() as conn:
            study_id = conn.scalar(select(Participant.study_id).where(Participant.id == participant_id))
            self._lock_study(conn, study_id)
            row = conn.execute(select(Participant).where(Participant.id == participant_id)).mappings().one()
            if row["block"] is None:
                since = utcnow() - timedelta(minutes=idle_minutes)
                last = (select(Response.participant_id, func.max(Response.answered_at).label("last"))
                        .where(Response.study_id == study_id).group_by(Response.participant_id).subquery())
                holders = conn.execute(
                    select(Participant.block, func.count()).outerjoin(last, last.c.participant_id == Participant.id)
                    .where(Participant.study_id == study_id, Participant.block.is_not(None), Participant.screened_out_at.is_(None),
                           Participant.completed_at.is_not(None) | (func.coalesce(last.c.last, Participant.created_at) >= since))
                    .group_by(Participant.block)).all()
                held = dict(holders)
                block = min(range(blocks), key=lambda b: (held.get(b, 0), b))
                conn.execute(update(Participant).where(Participant.id == participant_id).values(block=block, plan=plan_of_block(block)))
            row = conn.execute(select(Participant).where(Participant.id == participant_id)).mappings().one()
        return self._participant(row)

    def screening_answers(self, participant_id: int) -> dict[str, int]:
        with self._read() as conn:
            return dict(conn.execute(select(ScreeningAnswer.step, ScreeningAnswer.value)
                                     .where(ScreeningAnswer.participant_id == participant_id)).all())

    def insert_screening(self, study_id: str, participant_id: int, step: str, value: int, correct: bool) -> None:
        """Store one screening answer; a second answer to the same step raises :class:`DuplicateAnswerError`."""
        try:
            with self._write() as conn:
                conn.execute(insert(ScreeningAnswer).values(study_id=study_id, participant_id=participant_id, step=step, value=value,
                                                            correct=correct, answered_at=utcnow()))
        except IntegrityError:
            raise DuplicateAnswerError("You answered this already; your first answer is kept.") from None

    def screen_out(self, participant_id: int, reason: str) -> None:
        with self._write() as conn:
            conn.execute(update(Participant).where(Participant.id == participant_id, Participant.screened_out_at.is_(None))
                         .values(screened_out_at=utcnow(), screen_reason=reason))

    def screening(self, study_id: str) -> list[dict[str, Any]]:
        """Every screening answer of the study: participant code, step, value, correct, time."""
        q = (select(Participant.code.label("participant"), ScreeningAnswer.step, ScreeningAnswer.value, ScreeningAnswer.correct,
                    ScreeningAnswer.answered_at).join(Participant, Participant.id == ScreeningAnswer.participant_id)
             .where(ScreeningAnswer.study_id == study_id).order_by(ScreeningAnswer.participant_id, ScreeningAnswer.id))
        with self._read() as conn:
            return [{**r, "answered_at": _as_utc(r["answered_at"]).isoformat()} for r in conn.execute(q).mappings()]

    def count_participants(self, study_id: str) -> int:
        """Participants registered and not screened out (the places a cap counts)."""
        with self._read() as conn:
            return int(conn.scalar(select(func.count()).select_from(Participant).where(
                Participant.study_id == study_id, Participant.screened_out_at.is_(None))) or 0)

    def participants(self, study_id: str) -> list[ParticipantRecord]:
        with self._read() as conn:
            rows = conn.execute(select(Participant).where(Participant.study_id == study_id).order_by(Participant.id)).mappings().all()
        return [self._participant(r) for r in rows]

    def record_consent(self, participant_id: int) -> datetime:
        now = utcnow()
        with self._write() as conn:
            conn.execute(update(Participant).where(Participant.id == participant_id, Participant.consented_at.is_(None))
                         .values(consented_at=now))
            stored = conn.scalar(select(Participant.consented_at).where(Participant.id == participant_id))
        return _as_utc(stored)

    def open_session(self, participant_id: int, client: str = "") -> int:
        with self._write() as conn:
            return int(conn.execute(insert(StudySession).values(participant_id=participant_id, opened_at=utcnow(),
                                                                client=client[:200])).inserted_primary_key[0])

    def answers(self, participant_id: int) -> dict[tuple[int, int], int]:
        """``(item id, part) -> value`` of everything this participant has answered."""
        with self._read() as conn:
            rows = conn.execute(select(Response.item_id, Response.part, Response.value).where(Response.participant_id == participant_id))
            return {(r.item_id, r.part): r.value for r in rows}

    def insert_answer(self, row: dict[str, Any], completes: bool = False) -> None:
        """Store one answer (and, when it is the last one, the participant's completion); returns once it
        is committed, group-committed with the answers given at the same moment
        (:class:`~interp_core.study.answer_writer.AnswerWriter`). A second answer to the same part of the
        same item raises :class:`DuplicateAnswerError`, an answer to a closed study
        :class:`StudyClosedError`; nothing is written for either."""
        self._answers.insert(row, completes)

    # --------------------------------------------------------------------------------------- results

    def responses(self, study_id: str) -> list[dict[str, Any]]:
        """Every answer of the study in long format, one dict per row (times as ISO 8601 UTC)."""
        q = (select(Response.participant_id, Participant.code.label("participant"), Response.session_id.label("session"),
                    Item.key.label("item"), Item.question, Item.class_name, Item.attention, Item.expected, Item.kind, Item.tolerance,
                    Item.input, Item.options, Item.slots,
                    Response.part, Response.slot, Response.method, Response.model, Response.fingerprint, Response.value,
                    Response.correct, Response.position, Response.display, Response.shown_at, Response.answered_at)
             .join(Participant, Participant.id == Response.participant_id).join(Item, Item.id == Response.item_id)
             .where(Response.study_id == study_id).order_by(Response.participant_id, Response.position, Response.part))
        with self._read() as conn:
            rows = [dict(r) for r in conn.execute(q).mappings()]
        for r in rows:
            r["study"] = study_id
            r["choices"] = len(r.pop("options") or [])
            slots = r.pop("slots")
            r["stimulus"] = stimulus_of({"input": r.pop("input"), "key": r["item"]})
            r["condition"] = condition_label(r["method"], r["model"])
            r["pair"] = "|".join(condition_label(s["method"], s["model"]) for s in slots) if r["question"] == "preference" else ""
            r["shown_at"] = _as_utc(r["shown_at"]).isoformat()
            r["answered_at"] = _as_utc(r["answered_at"]).isoformat()
            r.pop("participant_id")
        return rows

    def count_responses(self, study_id: str) -> int:
        with self._read() as conn:
            return int(conn.scalar(select(func.count()).select_from(Response).where(Response.study_id == study_id)) or 0)
