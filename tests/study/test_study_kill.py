"""A writer process killed (SIGKILL) in the middle of a session loses no committed answer, and the
participant resumes at the right item."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from study_fixtures import SECRET, study_env, synthetic_study  # noqa: F401  (fixture)

from interp_core.study.runner import ParticipantSession, parts_of
from interp_core.study.storage import StudyStore
from interp_core.study.tokens import make_token

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys, time
    from datetime import datetime, timezone
    from interp_core.study.runner import ParticipantSession
    from interp_core.study.storage import StudyStore
    store = StudyStore(sys.argv[1])
    session = ParticipantSession.open(store, sys.argv[2], sys.argv[3])
    while not session.done:
        screen = session.screen()
        for slot in screen.slots:
            expected = session.items[screen.item_id]["expected"]
            session.answer(screen.item_id, slot.slot, expected or 4, datetime.now(timezone.utc))
            # the answer is committed when answer() returns: only then is it reported
            print(f"{screen.item_id} {slot.slot}", flush=True)
    print("done", flush=True)
    time.sleep(60)
""")


def test_sigkill_mid_session_loses_no_committed_answer(tmp_path):
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    store = StudyStore(url)
    store.migrate()
    study_id = store.create_study(synthetic_study(inputs=12))
    token = make_token(study_id)
    ParticipantSession.open(store, study_id, token).consent()
    env = dict(os.environ, PYTHONPATH=str(ROOT), INTERP_CORE_STUDY_SECRET=SECRET)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, url, study_id, token], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    reported = []
    try:
        while len(reported) < 14:  # mid-way through the fifth screen of three answers each
            line = proc.stdout.readline()
            assert line and line != "done\n", "the writer ended early"
            reported.append(tuple(int(x) for x in line.split()))
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    after = StudyStore(url)  # a fresh process's view of the file
    session = ParticipantSession.open(after, study_id, token)
    stored = set(after.answers(session.participant.id))
    assert set(reported) <= stored  # every reported (committed) answer survived
    assert len(stored) <= len(reported) + 1  # at most the one answer in flight when killed
    plan = session.participant.plan
    complete = [all((e["item"], p) in stored for p in parts_of(session.items[e["item"]])) for e in plan]
    first_open = complete.index(False)
    assert all(complete[:first_open]) and not any(complete[first_open + 1:])
    screen = session.screen()
    assert screen.position == first_open
    assert set(screen.answered) == {p for i, p in stored if i == screen.item_id}
    after.dispose()
    store.dispose()
