"""The study store and participant runner, the same tests on SQLite and on PostgreSQL.

PostgreSQL runs when INTERP_CORE_TEST_POSTGRES_URL names a server (``.ci/run`` starts one and sets
INTERP_CORE_REQUIRE_POSTGRES=1, so a missing server fails there instead of skipping)."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from study_fixtures import store, study_env, synthetic_study  # noqa: F401  (fixtures)

from interp_core.study.errors import AnswerError, DuplicateAnswerError, StudyClosedError, UnknownStudyError
from interp_core.study.runner import LETTERS, ParticipantSession, participant_plan
from interp_core.study.tokens import make_token


def now() -> datetime:
    return datetime.now(timezone.utc)


def open_participant(store, study_id, token=None):
    session = ParticipantSession.open(store, study_id, token or make_token(study_id))
    session.consent()
    return session


def answer_screen(session, value=3):
    """Answer every open part of the current screen; returns the screen."""
    screen = session.screen()
    if screen.question == "rating":
        for slot in screen.slots:
            if slot.slot not in screen.answered:
                expected = session.items[screen.item_id]["expected"]
                session.answer(screen.item_id, slot.slot, expected or value, now())
    elif screen.question == "preference":
        session.answer(screen.item_id, 0, screen.slots[0].slot, now())
    else:
        session.answer(screen.item_id, 0, screen.options[0][0], now())
    return screen


def test_migrations_build_exactly_the_schema_and_are_idempotent(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import text

    from interp_core.study.schema import Base

    store.migrate()  # a second run changes nothing
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"


def test_upgrading_a_0001_database_keeps_its_answers_and_marks_attention_checks(store):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from interp_core.study.storage import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.connect() as conn:  # back to the first schema, as an older version of the tool left it
        config.attributes["connection"] = conn
        with conn.begin():
            command.downgrade(config, "0001")
        with conn.begin():
            conn.execute(text("INSERT INTO study (id, name, instructions, consent, design, seed, status, created_at) VALUES "
                              "('old', 'Old', 'i', 'c', '{}', 1, 'open', '2026-01-01T00:00:00+00:00')"))
            conn.execute(text("INSERT INTO item (study_id, key, question, prompt, input, slots, options, class_name, attention, "
                              "expected) VALUES ('old', 'attention-0', 'rating', 'p', '{}', '[]', '[]', 'c', TRUE, 2), "
                              "('old', 'rating-0', 'rating', 'p', '{}', '[]', '[]', 'c', FALSE, NULL)"))
            conn.execute(text("INSERT INTO participant (study_id, code, seed, plan, created_at) VALUES "
                              "('old', '0123456789abcdef', 3, '[]', '2026-01-01T00:00:00+00:00')"))
    store.migrate()
    assert {i["key"]: i["kind"] for i in store.items("old")} == {"attention-0": "attention", "rating-0": "main"}
    [record] = store.participants("old")
    assert (record.code, record.platform, record.block, record.screened_out_at) == ("0123456789abcdef", None, None, None)


def test_study_round_trip_and_stimuli_bytes(store):
    content = synthetic_study()
    study_id = store.create_study(content)
    assert store.study(study_id)["name"] == "Toy study"
    stored = {s["key"]: s for s in store.stimuli(study_id)}
    assert {s.key for s in content.stimuli} == set(stored)
    assert all(bytes(stored[s.key]["data"]) == s.data and stored[s.key]["sha256"] == s.sha256 for s in content.stimuli)
    assert [i["key"] for i in store.items(study_id)] == [i.key for i in content.items]
    [row] = store.studies()
    assert (row["items"], row["participants"], row["answers"]) == (4, 0, 0)


def test_unknown_study_is_refused(store):
    with pytest.raises(UnknownStudyError, match="no study 'nope'"):
        ParticipantSession.open(store, "nope", make_token("nope"))


def test_full_session_stores_long_format_rows_and_completes(store):
    study_id = store.create_study(synthetic_study(simulation=True, preference=True))
    session = open_participant(store, study_id)
    shown = []
    while not session.done:
        shown.append(answer_screen(session))
    assert [s.position for s in shown] == list(range(len(session.participant.plan)))
    rows = store.responses(study_id)
    # 3 rating screens x 3 methods + 3 simulation + 3 preference + 1 attention check
    assert len(rows) == 9 + 3 + 3 + 1
    assert {r["method"] for r in rows} == {"alpha", "beta", "gamma", "attention-check"}
    assert all(r["fingerprint"] == "f" * 12 for r in rows if r["method"] != "attention-check")
    assert all(r["shown_at"] <= r["answered_at"] for r in rows)
    sim = [r for r in rows if r["question"] == "simulation"]
    assert all(r["correct"] == (r["value"] == int(r["item"][-1]) % 3) for r in sim)
    assert [r["correct"] for r in rows if r["attention"]] == [True]
    assert store.participants(study_id)[0].completed_at is not None
    with pytest.raises(AnswerError, match="every item"):
        session.answer(shown[0].item_id, 0, 3, now())


def test_order_is_seeded_per_participant_and_methods_blinded(store):
    study_id = store.create_study(synthetic_study(inputs=6))
    items = store.items(study_id)
    assert participant_plan(items, 42) == participant_plan(items, 42)  # reproducible
    a, b = open_participant(store, study_id), open_participant(store, study_id)
    assert a.participant.plan != b.participant.plan
    for session in (a, b):
        assert session.participant.plan[0]["item"] != next(i["id"] for i in items if i["attention"])  # never first
        screen = session.screen()
        assert [s.letter for s in screen.slots] == list(LETTERS[:3])
        assert "alpha" not in repr(screen) and "beta" not in repr(screen)  # no method name on screen
    by_id = {i["id"]: i for i in items}
    sample = participant_plan(items, 1, items_per_participant=2)  # two of the six main items, plus the check
    assert len(sample) == 3 and sum(by_id[e["item"]]["attention"] for e in sample) == 1


def test_resume_after_reload_continues_at_the_first_unanswered_item(store):
    study_id = store.create_study(synthetic_study(attention=False))
    token = make_token(study_id)
    first = open_participant(store, study_id, token)
    answer_screen(first)
    screen = first.screen()
    first.answer(screen.item_id, screen.slots[0].slot, 4, now())  # one of the second screen's three ratings
    again = ParticipantSession.open(store, study_id, token)  # a reload, or another browser
    assert again.consented and again.session_id != first.session_id
    assert again.participant.plan == first.participant.plan
    resumed = again.screen()
    assert (resumed.item_id, resumed.position, resumed.answered) == (screen.item_id, 1, first.screen().answered)
    assert len(store.participants(study_id)) == 1


def test_nothing_is_stored_before_consent_and_answers_need_it(store):
    study_id = store.create_study(synthetic_study())
    session = ParticipantSession.open(store, study_id, make_token(study_id))
    assert store.participants(study_id) == [] and session.screen() is None
    with pytest.raises(AnswerError, match="consent"):
        session.answer(store.items(study_id)[0]["id"], 0, 3, now())
    assert store.count_responses(study_id) == 0


def test_duplicate_and_replayed_answers_are_refused_and_the_first_is_kept(store):
    study_id = store.create_study(synthetic_study())
    session = open_participant(store, study_id)
    screen = session.screen()
    part = screen.slots[0].slot
    value = session.items[screen.item_id]["expected"] or 4
    session.answer(screen.item_id, part, value, now())
    with pytest.raises(DuplicateAnswerError, match="first answer is kept"):
        session.answer(screen.item_id, part, 1, now())
    # a replay straight at the store (e.g. a second tab that had not seen the answer) hits the unique key
    row = {"study_id": study_id, "participant_id": session.participant.id, "session_id": None, "item_id": screen.item_id,
           "part": part, "slot": part, "method": "x", "model": "", "fingerprint": "", "value": 1, "correct": None,
           "position": 0, "display": 0, "shown_at": now(), "answered_at": now()}
    with pytest.raises(DuplicateAnswerError):
        store.insert_answer(row)
    rows = store.responses(study_id)
    assert len(rows) == 1 and rows[0]["value"] == value


def test_two_tabs_answering_the_same_question_at_once_store_one_answer(store):
    study_id = store.create_study(synthetic_study())
    token = make_token(study_id)
    tabs = [open_participant(store, study_id, token) for _ in range(6)]
    screen = tabs[0].screen()
    value = tabs[0].items[screen.item_id]["expected"] or 5
    outcomes, start = [], threading.Barrier(len(tabs))

    def give(tab):
        start.wait()
        try:
            tab.answer(screen.item_id, screen.slots[0].slot, value, now())
            outcomes.append("stored")
        except DuplicateAnswerError:
            outcomes.append("duplicate")

    threads = [threading.Thread(target=give, args=(t,)) for t in tabs]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["duplicate"] * 5 + ["stored"]
    assert store.count_responses(study_id) == 1


@pytest.mark.parametrize("value", [0, 6, -1, "3", 3.0, True, None])
def test_out_of_range_or_mistyped_ratings_are_refused(store, value):
    study_id = store.create_study(synthetic_study(attention=False))
    session = open_participant(store, study_id)
    screen = session.screen()
    with pytest.raises(AnswerError, match="not a possible answer"):
        session.answer(screen.item_id, screen.slots[0].slot, value, now())
    assert store.count_responses(study_id) == 0


def test_answers_to_another_item_or_question_are_refused(store):
    study_id = store.create_study(synthetic_study(attention=False))
    session = open_participant(store, study_id)
    later = session.participant.plan[1]["item"]
    with pytest.raises(AnswerError, match="not the item on your screen"):
        session.answer(later, 0, 3, now())
    with pytest.raises(AnswerError, match="no question 7"):
        session.answer(session.screen().item_id, 7, 3, now())
    with pytest.raises(AnswerError, match="future"):
        session.answer(session.screen().item_id, 0, 3, now() + timedelta(minutes=5))
    assert store.count_responses(study_id) == 0


def test_a_closed_study_takes_no_answers(store):
    study_id = store.create_study(synthetic_study(attention=False))
    session = open_participant(store, study_id)
    store.set_status(study_id, "closed")
    screen = session.screen()
    with pytest.raises(StudyClosedError, match="closed"):
        session.answer(screen.item_id, screen.slots[0].slot, 3, now())
    assert store.count_responses(study_id) == 0


def test_participants_see_only_their_own_answers(store):
    study_id = store.create_study(synthetic_study(inputs=1, attention=False))
    a, b = open_participant(store, study_id), open_participant(store, study_id)
    answer_screen(a, value=5)
    assert a.done and b.screen().answered == {} and b.progress == (0, 1)


def test_sounds_must_be_played_to_their_end_before_answering(store):
    study_id = store.create_study(synthetic_study(inputs=1, methods=("alpha",), attention=False, sound=True))
    session = open_participant(store, study_id)
    screen = session.screen()
    assert screen.sounds() == ["in0.wav"]
    with pytest.raises(AnswerError, match="Play the sound"):
        session.answer(screen.item_id, 0, 3, now())
    session.played("in0.wav")
    with pytest.raises(AnswerError, match="whole sound"):
        session.answer(screen.item_id, 0, 3, now())
    assert store.count_responses(study_id) == 0
    time.sleep(0.1)
    session._played["in0.wav"] -= timedelta(seconds=1)  # as if pressed a second earlier
    session.answer(screen.item_id, 0, 3, now())
    assert store.count_responses(study_id) == 1


def test_many_participants_at_once_lose_nothing(store):
    from interp_core.study.loadtest import run_loadtest

    result = run_loadtest(participants=8, answers=5, url=store.url)
    assert (result["written"], result["lost"], result["errors"]) == (40, 0, 0)
