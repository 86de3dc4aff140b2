"""Many participants answering at once, through the same runner and store as the participant page.

``participants`` threads each open a fresh link, consent, wait for the others, then give ``answers``
answers as fast as they can (one item per answer). Reported: ``written`` (rows in the database),
``lost`` (answers acknowledged to a participant but not in the database afterwards), ``errors`` and the
latency of an answer (``p50_ms``, ``p95_ms``, ``max_ms``). Without a URL it runs on a fresh SQLite file
in a temporary folder; with one, its study is deleted afterwards (``keep=True`` keeps it).
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from interp_core.study.design import RATING_SCALE, ItemSpec, StimulusFile, StudyContent
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


def run_loadtest(participants: int = 50, answers: int = 20, url: str | None = None, keep: bool = False) -> dict[str, Any]:
    if participants < 1 or answers < 1:
        raise ValueError("The load test needs at least one participant and one answer each.")
    folder = None
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="study-loadtest-"))
        url = f"sqlite:///{folder / 'loadtest.db'}"
    store = StudyStore(url)
    try:
        store.migrate()
        study_id = store.create_study(synthetic_content(answers))
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
        ms = np.asarray(latencies) * 1000
        result = {
            "backend": store.engine.dialect.name, "participants": participants, "answers_per_participant": answers,
            "written": len(rows), "acknowledged": len(acknowledged), "lost": len(lost), "errors": len(errors),
            "p50_ms": round(float(np.percentile(ms, 50)), 2) if len(ms) else None,
            "p95_ms": round(float(np.percentile(ms, 95)), 2) if len(ms) else None,
            "max_ms": round(float(ms.max()), 2) if len(ms) else None,
            "seconds": round(seconds, 2), "first_errors": errors[:3],
        }
        if not keep:
            store.delete_study(study_id)
        return result
    finally:
        store.dispose()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
