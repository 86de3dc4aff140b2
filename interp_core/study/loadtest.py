"""Many participants answering at once: through the runner and store the participant page uses
(:func:`run_loadtest`), or as websocket clients of real dashboard servers (:func:`run_dashboard_loadtest`).

``participants`` threads each open a fresh link, consent, wait for the others, then give ``answers``
answers as fast as they can (one item per answer). Reported: ``written`` (rows in the database),
``lost`` (answers acknowledged to a participant but not in the database afterwards), ``errors`` and the
latency of an answer (``p50_ms``, ``p95_ms``, ``max_ms``). Without a URL it runs on a fresh SQLite file
in a temporary folder; with one, its study is deleted afterwards (``keep=True`` keeps it).
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from interp_core.study.design import RATING_SCALE, ItemSpec, StimulusFile, StudyContent
from interp_core.study.errors import StudyError
from interp_core.study.runner import ParticipantSession
from interp_core.study.schema import utcnow
from interp_core.study.storage import StudyStore
from interp_core.study.tokens import make_token

# A 1x1 PNG: the load test measures storage, not pictures.
_PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
                       "53de0000000c4944415408d763f8ffff3f0005fe02fea7d605a00000000049454e44ae426082")


def synthetic_content(answers: int, name: str = "load test") -> StudyContent:
    """A study of ``answers`` one-slot rating items (no attention checks) on one tiny picture."""
    slot = {"method": "synthetic", "model": "none", "fingerprint": "0" * 12, "picture": "pixel.png", "sound": None,
            "explained": 0, "explained_name": "none"}
    items = [ItemSpec(f"load-{n}", "rating", "Rate it.", {"picture": "pixel.png", "sound": None, "source": "synthetic"},
                      [slot], [list(v) for v in RATING_SCALE], "none") for n in range(answers)]
    design = {"name": name, "items_per_participant": 0}
    return StudyContent(design, [StimulusFile("pixel.png", "image/png", _PIXEL)], items, name, "Load test.", "Load test.", 0)


@contextlib.contextmanager
def load_study(answers: int, url: str | None, keep: bool, name: str = "load test") -> Iterator[tuple[StudyStore, str]]:
    """A migrated store of ``url`` (default: a fresh SQLite file in a temporary folder) holding a new
    synthetic study; the study (or the folder) is removed afterwards unless ``keep``."""
    folder = None
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="study-loadtest-"))
        url = f"sqlite:///{folder / 'loadtest.db'}"
    store = StudyStore(url)
    try:
        store.migrate()
        study_id = store.create_study(synthetic_content(answers, name))
        yield store, study_id
        if not keep:
            store.delete_study(study_id)
    finally:
        store.dispose()
        if folder is not None and not keep:
            shutil.rmtree(folder, ignore_errors=True)


def latency_summary(seconds: list[float]) -> dict[str, float | None]:
    """``p50_ms``, ``p95_ms`` and ``max_ms`` of latencies given in seconds (None when there are none)."""
    ms = np.asarray(seconds) * 1000
    pick = lambda q: round(float(np.percentile(ms, q)), 2) if len(ms) else None  # noqa: E731
    return {"p50_ms": pick(50), "p95_ms": pick(95), "max_ms": round(float(ms.max()), 2) if len(ms) else None}


def run_loadtest(participants: int = 50, answers: int = 20, url: str | None = None, keep: bool = False) -> dict[str, Any]:
    if participants < 1 or answers < 1:
        raise ValueError("The load test needs at least one participant and one answer each.")
    with load_study(answers, url, keep) as (store, study_id):
        tokens = [make_token(study_id) for _ in range(participants)]
        start = threading.Barrier(participants)
        lock = threading.Lock()
        latencies: list[float] = []
        acknowledged: set[tuple[str, int]] = set()
        errors: list[str] = []

        def participant(token: str, seed: int) -> None:
            rng = np.random.default_rng(seed)
            try:
                session = ParticipantSession.open(store, study_id, token, client="loadtest")
                session.consent()
            except Exception as err:  # reported, not raised: the run must finish to count what was lost
                with lock:
                    errors.append(f"open: {type(err).__name__}: {err}")
                start.abort()
                return
            try:
                start.wait()
            except threading.BrokenBarrierError:
                return
            for _ in range(answers):
                screen = session.screen()
                t0 = time.perf_counter()
                try:
                    session.answer(screen.item_id, 0, int(rng.integers(1, 6)), shown_at=utcnow())
                except Exception as err:
                    with lock:
                        errors.append(f"answer: {type(err).__name__}: {err}")
                    continue
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    acknowledged.add((session.participant.code, screen.item_id))

        threads = [threading.Thread(target=participant, args=(t, n)) for n, t in enumerate(tokens)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - began
        rows = store.responses(study_id)
        item_keys = {i["id"]: i["key"] for i in store.items(study_id)}
        stored = {(r["participant"], r["item"]) for r in rows}
        lost = {(code, item_keys[item]) for code, item in acknowledged} - stored
    return {"backend": store.engine.dialect.name, "participants": participants, "answers_per_participant": answers,
            "written": len(rows), "acknowledged": len(acknowledged), "lost": len(lost), "errors": len(errors),
            **latency_summary(latencies), "seconds": round(seconds, 2), "first_errors": errors[:3]}


def run_dashboard_loadtest(browsers: int = 50, answers: int = 20, url: str | None = None, servers: int = 1,
                           think_ms: float = 0.0, keep: bool = False, timeout_s: float = 480.0,
                           post_script_gc: bool = False) -> dict[str, Any]:
    """``browsers`` participants as websocket clients of ``servers`` dashboards that this call starts on
    127.0.0.1 (several behind a local haproxy), sharing the study database ``url`` (default: a fresh
    SQLite file). Each answers ``answers`` one-picture rating items, ``think_ms`` apart on average (0: as
    fast as the server answers). Reports ``written``, ``acknowledged``, ``lost`` (shown as stored but not
    in the database), ``errors``, the latency from click to the stored answer shown (``p50_ms``,
    ``p95_ms``, ``max_ms``), and the participants per server. Bounded by ``timeout_s``; stops by itself.
    The servers run with :data:`~.scaleout.STUDY_SERVER_OPTIONS` (``post_script_gc``: Streamlit's default
    collection after every run, to compare)."""
    import asyncio
    import secrets
    from collections import Counter

    from interp_core.study.dashboard_load import drive, make_tokens
    from interp_core.study.scaleout import serve

    if browsers < 1 or answers < 1 or servers < 1:
        raise ValueError("The load test needs at least one browser, one answer and one server.")
    secret = secrets.token_hex(32)
    with load_study(answers, url, keep, "dashboard load test") as (store, study_id):
        tokens = make_tokens(study_id, browsers, secret.encode())
        env = {"INTERP_CORE_STUDY_URL": store.url, "INTERP_CORE_STUDY_SECRET": secret}
        with serve(servers, env, post_script_gc) as (front, _):
            began = time.perf_counter()
            try:
                runs = asyncio.run(asyncio.wait_for(drive(front, study_id, tokens, answers, think_ms / 1000), timeout_s))
            except asyncio.TimeoutError:
                raise StudyError(f"The load test did not finish within {timeout_s:.0f} s; the servers were stopped.") from None
            seconds = time.perf_counter() - began
        rows = store.responses(study_id)
        items = {i["id"]: i["key"] for i in store.items(study_id)}
        stored = {(r["participant"], r["item"]) for r in rows}
        acknowledged = {(run.token.split(".")[1], items[item]) for run in runs for item in run.acknowledged}
        errors = [run.error for run in runs if run.error]
        per_server = Counter(run.server or "direct" for run in runs)
    return {"backend": store.engine.dialect.name, "servers": servers, "browsers": browsers, "answers_per_browser": answers,
            "think_ms": think_ms, "post_script_gc": post_script_gc, "written": len(rows), "acknowledged": len(acknowledged),
            "lost": len(acknowledged - stored), "errors": len(errors), **latency_summary([x for run in runs for x in run.latencies]), "seconds": round(seconds, 2),
            "answers_per_second": round(len(rows) / seconds, 1) if seconds else None, "per_server": dict(sorted(per_server.items())),
            "first_errors": errors[:3]}
