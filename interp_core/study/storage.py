"""The study database behind every page, the CLI and the load test: one :class:`StudyStore` per URL.

SQLite (the default, a file under the cache folder) is opened in WAL mode with ``synchronous=FULL``:
readers never block the writer, and a commit is on disk before it returns, so a participant's answer
survives the server (or the machine) going down the moment after. Writes take ``BEGIN IMMEDIATE`` (the
write lock up front, so a transaction never fails half way on an upgrade from reading to writing) and
queue on one lock per process instead of SQLite's sleeping busy handler; other processes wait on
``busy_timeout``. Any other URL (PostgreSQL through psycopg 3) gets a connection pool.

Answers are group-committed (:meth:`StudyStore.insert_answer`): a writer thread commits every answer
queued at that moment in one transaction, so one disk flush serves many participants, and each caller
returns only once its own answer is committed (one writer for SQLite, three in parallel for a server).

The schema is created and upgraded by the Alembic migrations in ``migrations/`` (:func:`migrate`), run
once per process and URL when the store opens, so a study database survives an upgrade of the tool.
"""
from __future__ import annotations

import contextlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from interp_core.study.config import database_url
from interp_core.study.design import StudyContent
from interp_core.study.errors import DuplicateAnswerError, StudyClosedError, StudyError, UnknownStudyError
from interp_core.study.schema import Item, Participant, Response, Stimulus, Study, StudySession, utcnow

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Answers per group commit, so one transaction stays short even after a stall.
_MAX_BATCH = 500
# Tries of one batch when the database connection fails or two batches deadlock.
_ATTEMPTS = 3


def condition_label(method: str, model: str) -> str:
    """How results name a condition: ``"gradcam on cnn-digits"`` (the same method may run on several models)."""
    return f"{method} on {model}" if model else method


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


@dataclass
class _PendingAnswer:
    row: dict[str, Any]
    completes: bool
    error: Exception | None = None
    committed: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class ParticipantRecord:
    id: int
    study_id: str
    code: str
    seed: int
    plan: list[dict[str, Any]]
    consented_at: datetime | None
    completed_at: datetime | None


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
        self._queue: list[_PendingAnswer] = []
        self._queue_lock = threading.Lock()
        self._queue_ready = threading.Condition(self._queue_lock)
        self._writers: list[threading.Thread] = []
        # SQLite has one writer at a time; a server database commits batches in parallel, so a new answer
        # need not wait for the batch being flushed.
        self._writer_count = 1 if self.is_sqlite else 3
        self._stopping = False

    def migrate(self) -> None:
        with self._write_lock:
            migrate(self.engine)

    def dispose(self) -> None:
        """Finish queued answers, stop the writer thread, close every connection."""
        with self._queue_lock:
            self._stopping = True
            self._queue_ready.notify_all()
        for writer in self._writers:
            writer.join()
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
                                              status="open", created_at=utcnow()))
            if content.stimuli:
                conn.execute(insert(Stimulus), [{"study_id": study_id, "key": s.key, "media_type": s.media_type, "data": s.data,
                                                 "sha256": s.sha256, "meta": s.meta} for s in content.stimuli])
            conn.execute(insert(Item), [{"study_id": study_id, "key": i.key, "question": i.question, "prompt": i.prompt,
                                         "input": i.input, "slots": i.slots, "options": i.options, "class_name": i.class_name,
                                         "attention": i.attention, "expected": i.expected} for i in content.items])
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

    def delete_study(self, study_id: str) -> None:
        """Remove a study and everything stored with it."""
        with self._write() as conn:
            pids = select(Participant.id).where(Participant.study_id == study_id)
            conn.execute(delete(Response).where(Response.study_id == study_id))
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
                                 _as_utc(row["consented_at"]), _as_utc(row["completed_at"]))

    def add_participant(self, study_id: str, code: str, seed: int, plan: list[dict[str, Any]]) -> ParticipantRecord:
        """Create the participant ``code`` with its order, or return the one made first (two tabs opening
        one new link at once get the same participant and order)."""
        try:
            with self._write() as conn:
                conn.execute(insert(Participant).values(study_id=study_id, code=code, seed=seed, plan=plan, created_at=utcnow()))
        except IntegrityError:
            pass
        record = self.participant(study_id, code)
        if record is None:
            raise StudyError("The participant could not be registered; try the link again.")
        return record

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
        is committed. A second answer to the same part of the same item raises
        :class:`DuplicateAnswerError`, an answer to a closed study :class:`StudyClosedError`; nothing is
        written for either.

        Group commit: answers given at the same moment are committed together in one transaction by a
        writer thread of the store (when one of them is refused, the batch is redone with a savepoint per
        answer, so the others stay in); every caller returns only after the transaction holding its
        answer has committed. One disk flush serves many participants, and no answer is acknowledged
        before it is on disk."""
        pending = _PendingAnswer(row, completes)
        with self._queue_lock:
            self._queue.append(pending)
            self._writers = [w for w in self._writers if w.is_alive()]
            while len(self._writers) < self._writer_count:
                writer = threading.Thread(target=self._write_answers, name="study-answer-writer", daemon=True)
                writer.start()
                self._writers.append(writer)
            self._queue_ready.notify()
        pending.committed.wait()
        if pending.error is not None:
            raise pending.error

    @staticmethod
    def _insert_answers(conn: Connection, pending: list["_PendingAnswer"]) -> None:
        if not pending:
            return
        conn.execute(insert(Response), [p.row for p in pending])
        for p in pending:
            if p.completes:
                conn.execute(update(Participant).where(Participant.id == p.row["participant_id"]).values(completed_at=p.row["answered_at"]))

    def _write_answers(self) -> None:
        """A writer thread: commit whatever answers are queued, in one transaction, until told to stop.
        It keeps one connection (fewer steps per batch, so participants' threads slow it down less)."""
        conn: Connection | None = None
        try:
            while True:
                with self._queue_lock:
                    while not self._queue and not self._stopping:
                        self._queue_ready.wait()
                    if not self._queue:
                        return
                    batch, self._queue = self._queue[:_MAX_BATCH], self._queue[_MAX_BATCH:]
                with self._write_lock if self.is_sqlite else contextlib.nullcontext():
                    for attempt in range(_ATTEMPTS):
                        try:
                            if conn is None:
                                conn = self.engine.connect()
                                conn.execution_options(study_write=True)
                            self._commit_answers(conn, batch)
                            break
                        except Exception as err:  # not committed: no answer of the batch is acknowledged
                            if conn is not None:
                                conn.close()
                            conn = None
                            # A lost connection or a deadlock between two writers' batches: try again.
                            if not isinstance(err, OperationalError) or attempt == _ATTEMPTS - 1:
                                for p in batch:
                                    p.error = err
                                break
                for p in batch:
                    p.committed.set()
        finally:
            if conn is not None:
                conn.close()

    def _commit_answers(self, conn: Connection, batch: list[_PendingAnswer]) -> None:
        def refuse_closed() -> list[_PendingAnswer]:
            studies = {p.row["study_id"] for p in batch}
            status = dict(conn.execute(select(Study.id, Study.status).where(Study.id.in_(studies))).all())
            for p in batch:
                p.error = None if status.get(p.row["study_id"]) == "open" else \
                    StudyClosedError("This study is closed and takes no more answers. Thank you for your interest.")
            return [p for p in batch if p.error is None]

        try:  # the usual case: every answer is new, one statement for all
            with conn.begin():
                self._insert_answers(conn, refuse_closed())
            return
        except IntegrityError:
            pass
        with conn.begin():  # some answer is refused: find which, one savepoint each, and keep the others
            for p in refuse_closed():
                try:
                    with conn.begin_nested():
                        self._insert_answers(conn, [p])
                except IntegrityError as err:
                    text = str(err.orig)
                    duplicate = "uq_response_answer" in text or "UNIQUE constraint failed: response" in text
                    p.error = DuplicateAnswerError("This answer was given already; the first answer is kept.") if duplicate else err

    # --------------------------------------------------------------------------------------- results

    def responses(self, study_id: str) -> list[dict[str, Any]]:
        """Every answer of the study in long format, one dict per row (times as ISO 8601 UTC)."""
        q = (select(Response.participant_id, Participant.code.label("participant"), Response.session_id.label("session"),
                    Item.key.label("item"), Item.question, Item.class_name, Item.attention, Item.expected, Item.options, Item.slots,
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
            r["condition"] = condition_label(r["method"], r["model"])
            r["pair"] = "|".join(condition_label(s["method"], s["model"]) for s in slots) if r["question"] == "preference" else ""
            r["shown_at"] = _as_utc(r["shown_at"]).isoformat()
            r["answered_at"] = _as_utc(r["answered_at"]).isoformat()
            r.pop("participant_id")
        return rows

    def count_responses(self, study_id: str) -> int:
        with self._read() as conn:
            return int(conn.scalar(select(func.count()).select_from(Response).where(Response.study_id == study_id)) or 0)
