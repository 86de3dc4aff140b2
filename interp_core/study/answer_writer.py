"""Group commit of participants' answers: a writer thread commits every answer queued at that moment in
one transaction, so one disk flush serves many participants, and each caller returns only once the
transaction holding its own answer has committed (no answer is acknowledged before it is on disk).

When one answer of a batch is refused (a duplicate, a closed study), the batch is redone with a
savepoint per answer, so the others stay in. SQLite has one writer at a time (the store's write lock);
a server database commits three batches in parallel, so a new answer need not wait for the batch being
flushed.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from interp_core.study.errors import DuplicateAnswerError, StudyClosedError
from interp_core.study.schema import Participant, Response, Study

# Answers per group commit, so one transaction stays short even after a stall.
_MAX_BATCH = 500
# Tries of one batch when the database connection fails or two batches deadlock.
_ATTEMPTS = 3


@dataclass
class _PendingAnswer:
    row: dict[str, Any]
    completes: bool
    error: Exception | None = None
    committed: threading.Event = field(default_factory=threading.Event)


class AnswerWriter:
    """The answer queue of one store: ``engine``, and ``write_lock`` for SQLite (None for a server)."""

    def __init__(self, engine: Engine, write_lock: threading.Lock | None):
        self.engine = engine
        self._write_lock = write_lock
        self._queue: list[_PendingAnswer] = []
        self._queue_lock = threading.Lock()
        self._queue_ready = threading.Condition(self._queue_lock)
        self._writers: list[threading.Thread] = []
        self._writer_count = 1 if write_lock is not None else 3
        self._stopping = False

    def stop(self) -> None:
        """Finish queued answers and stop the writer threads."""
        with self._queue_lock:
            self._stopping = True
            self._queue_ready.notify_all()
        for writer in self._writers:
            writer.join()

    def insert(self, row: dict[str, Any], completes: bool = False) -> None:
        """Queue one answer (and the participant's completion with it) and wait until it is committed;
        raises what refused it."""
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
                with self._write_lock or contextlib.nullcontext():
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
