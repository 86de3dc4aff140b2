"""Crowdsourced studies on SQLite and PostgreSQL: platform links (resume by platform id, cap, closed link,
forged or malformed ids), screening (qualification, the Woods et al. headphone check) with screened-out
participants storing no rating, gold/trap/qualification rules against hand-computed exclusions, and
balanced designs (30 simulated participants: ratings per cell differ by at most one)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from study_fixtures import store, study_env, synthetic_study  # noqa: F401  (fixtures)

from interp_core.study.errors import AnswerError, InvalidTokenError
from interp_core.study.recruitment import StudyFullError, entry_tag, platform_code
from interp_core.study.runner import ParticipantSession
from interp_core.study.tokens import make_token

PROLIFIC = {"platform": "prolific", "completion_code": "C0MPL3TE", "screened_out_code": "SCR33N", "cap": 0,
            "completion_url": "http://127.0.0.1:9/done?cc={code}"}
QUALIFICATION = {"qualification": {"questions": [
    {"prompt": "What is 2 + 3?", "options": ["4", "5", "6"], "accept": [2]},
    {"prompt": "Which colour is the sky on a clear day?", "options": ["green", "blue"], "accept": [2]},
    {"prompt": "Are you wearing headphones?", "options": ["yes", "no"], "accept": [1]}], "min_correct": 2}}


def now() -> datetime:
    return datetime.now(timezone.utc)


def pid(n: int) -> dict[str, str]:
    """Prolific's three ids for participant ``n`` (24 hex digits each)."""
    return {"PROLIFIC_PID": f"{n:024x}", "STUDY_ID": "a" * 24, "SESSION_ID": f"{n + 7:024x}"}


def open_prolific(store, study_id, n, **extra):
    return ParticipantSession.open_platform(store, study_id, entry_tag(study_id, "prolific"), {**pid(n), **extra})


def answer_all(session, value=4, stop_after=None):
    """Answer screens until done (or ``stop_after`` answers); check items get their expected answer."""
    given = 0
    while not session.done and (stop_after is None or given < stop_after):
        screen = session.screen()
        item = session.items[screen.item_id]
        for slot in screen.slots:
            if slot.slot not in screen.answered and screen.question == "rating":
                session.answer(screen.item_id, slot.slot, item["expected"] or value, now())
                given += 1
        if screen.question != "rating":
            session.answer(screen.item_id, 0, screen.options[0][0], now())
            given += 1


def test_the_same_prolific_id_resumes_its_own_session_and_gets_the_code(store):
    study_id = store.create_study(synthetic_study(inputs=2, recruitment=PROLIFIC))
    first = open_prolific(store, study_id, 1)
    first.consent()
    answer_all(first, stop_after=3)  # the first screen (3 ratings), or the attention check plus two
    position = first.screen().position
    again = open_prolific(store, study_id, 1, SESSION_ID="b" * 24)  # the same person, a new platform session
    assert again.code == first.code == platform_code(study_id, "prolific", pid(1)["PROLIFIC_PID"])
    assert again.consented and again.screen().position == position and again.screen().answered == first.screen().answered
    assert len(store.participants(study_id)) == 1
    answer_all(again)
    completion = again.completion()
    assert (completion.screened_out, completion.code, completion.redirect) == (False, "C0MPL3TE", "http://127.0.0.1:9/done?cc=C0MPL3TE")
    [record] = store.participants(study_id)
    assert record.platform == "prolific" and record.platform_ids == pid(1) and record.completed_at is not None
    assert "platform_ids" not in repr(record) and pid(1)["PROLIFIC_PID"] not in str(store.responses(study_id))


@pytest.mark.parametrize("case", ["forged entry", "missing id", "malformed id", "no platform link", "mturk preview"])
def test_bad_platform_links_are_refused_and_store_nothing(store, case):
    recruitment = {**PROLIFIC, "platform": "mturk"} if case == "mturk preview" else PROLIFIC
    study_id = store.create_study(synthetic_study(inputs=1, recruitment=None if case == "no platform link" else recruitment))
    params, entry = pid(3), entry_tag(study_id, recruitment["platform"])
    if case == "forged entry":
        entry = entry_tag("another", "prolific")
    elif case == "missing id":
        params.pop("SESSION_ID")
    elif case == "malformed id":
        params["PROLIFIC_PID"] = "<script>alert(1)</script>"
    elif case == "mturk preview":
        params = {"workerId": "A1B2C3D4E5F6G7", "assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": "3XYZ0123456789ABCDEF"}
    with pytest.raises(InvalidTokenError):
        ParticipantSession.open_platform(store, study_id, entry, params)
    assert store.participants(study_id) == []


def test_mturk_ids_open_the_study(store):
    study_id = store.create_study(synthetic_study(inputs=1, recruitment={**PROLIFIC, "platform": "mturk"}))
    params = {"workerId": "A1B2C3D4E5F6G7", "assignmentId": "3ABCDEFGHIJKLMNOPQRSTUVWXYZ012", "hitId": "3XYZ0123456789ABCDEF"}
    session = ParticipantSession.open_platform(store, study_id, entry_tag(study_id, "mturk"), params)
    session.consent()
    assert store.participants(study_id)[0].platform_ids == params


def test_the_cap_counts_places_and_a_closed_link_takes_no_newcomers(store):
    quality = {"quality": QUALIFICATION}
    study_id = store.create_study(synthetic_study(inputs=1, design=quality, recruitment={**PROLIFIC, "cap": 2}))
    screened = open_prolific(store, study_id, 1)
    screened.consent()
    for step in screened.steps:  # every qualification answer wrong: screened out, so the place is free again
        screened.answer_screening(step.key, 3 if step.key.endswith("0") else 1 if step.key.endswith("1") else 2)
    assert screened.stage == "screened_out"
    for n in (2, 3):
        session = open_prolific(store, study_id, n)
        session.consent()
    with pytest.raises(StudyFullError, match="all the participants"):
        open_prolific(store, study_id, 4)
    late = ParticipantSession(store, store.study(study_id), platform_code(study_id, "prolific", pid(5)["PROLIFIC_PID"]), None,
                              {i["id"]: i for i in store.items(study_id)}, platform=open_prolific(store, study_id, 2).platform)
    with pytest.raises(StudyFullError):  # the cap holds at registration too, where two servers could race
        late.consent()
    assert open_prolific(store, study_id, 3).consented  # a returning participant still gets in
    store.set_recruitment(study_id, {**PROLIFIC, "cap": 0, "open": False})
    with pytest.raises(InvalidTokenError, match="no new participants"):
        open_prolific(store, study_id, 6)
    assert open_prolific(store, study_id, 2).consented
    assert store.count_participants(study_id) == 2 and len(store.participants(study_id)) == 3


def test_failed_qualification_screens_out_with_its_code_and_no_rating(store):
    study_id = store.create_study(synthetic_study(inputs=1, design={"quality": QUALIFICATION}, recruitment=PROLIFIC))
    session = open_prolific(store, study_id, 8)
    session.consent()
    assert session.stage == "screening" and session.screen() is None and session.participant.plan == []
    keys = [s.key for s in session.steps]
    assert keys == ["qualification-0", "qualification-1", "qualification-2"]
    with pytest.raises(AnswerError, match="not the question on your screen"):
        session.answer_screening(keys[1], 2)
    session.answer_screening(keys[0], 1)  # wrong
    session.answer_screening(keys[1], 2)  # right
    assert session.stage == "screening"
    session.answer_screening(keys[2], 2)  # wrong: 1 of 3 right, 2 needed
    assert session.stage == "screened_out"
    completion = session.completion()
    assert (completion.screened_out, completion.code, completion.reason) == (True, "SCR33N", "qualification: 1 of 3 right, 2 needed")
    with pytest.raises(AnswerError):
        session.answer(store.items(study_id)[0]["id"], 0, 3, now())
    assert store.count_responses(study_id) == 0
    assert [(r["step"], r["correct"]) for r in store.screening(study_id)] == [(keys[0], False), (keys[1], True), (keys[2], False)]
    [record] = store.participants(study_id)
    assert record.screened_out_at is not None and record.block is None


def test_headphone_trials_have_exactly_one_antiphase_tone_and_the_quiet_one_is_6_db_down(store):
    import io

    import soundfile

    from interp_core.study.headphone import TRIALS, tone_phases

    study_id = store.create_study(synthetic_study(inputs=1, sound=True, headphone=True, design={"quality": {"headphone_check": True}}))
    meta = store.stimulus_meta(study_id)
    trials = sorted(k for k, m in meta.items() if m.get("check") == "headphone")
    assert len(trials) == TRIALS
    quietest_positions = set()
    for key in trials:
        samples, rate = soundfile.read(io.BytesIO(store.stimulus(study_id, key)[1]))
        assert samples.shape[1] == 2
        tones = tone_phases(samples, rate)
        assert len(tones) == 3 and sum(t["antiphase"] for t in tones) == 1
        antiphase = next(n for n, t in enumerate(tones, start=1) if t["antiphase"])
        levels = [t["level_db"] for t in tones]
        quiet = int(np.argmin(levels)) + 1
        assert antiphase == meta[key]["antiphase"] and quiet == meta[key]["quietest"] != antiphase
        assert sorted(levels)[1] - levels[quiet - 1] == pytest.approx(6.0, abs=0.05)  # -6 dB against the louder two
        assert all(t["correlation"] > 0.99 for t in tones if not t["antiphase"])
        quietest_positions.add(quiet)
    assert len(quietest_positions) > 1  # the right answer moves between trials


@pytest.mark.parametrize("listener", ["loudspeakers", "headphones with one slip"])
def test_headphone_check_screens_out_a_loudspeaker_listener(store, listener):
    study_id = store.create_study(synthetic_study(inputs=1, sound=True, headphone=True, design={"quality": {"headphone_check": True}}))
    meta = store.stimulus_meta(study_id)
    session = ParticipantSession.open(store, study_id, make_token(study_id))
    session.consent()
    for n, step in enumerate(session.steps):
        assert step.block == "headphone" and step.sound
        with pytest.raises(AnswerError, match="Play the sound"):
            session.answer_screening(step.key, 1)
        session.played(step.sound, at=now() - timedelta(seconds=10))
        facts = meta[step.sound]
        # Over loudspeakers the antiphase tone cancels and sounds quietest: that is the wrong answer.
        wrong_on_purpose = listener == "loudspeakers" or n == 0
        session.answer_screening(step.key, facts["antiphase"] if wrong_on_purpose else facts["quietest"])
        if session.stage == "screened_out":
            break
    if listener == "loudspeakers":
        assert session.stage == "screened_out" and session.completion().reason == "headphone check: 0 of 6 right, 5 needed"
        assert store.count_responses(study_id) == 0 and session.participant.plan == []
    else:
        assert session.stage == "items" and session.participant.plan  # 5 of 6 right passes (Woods et al.)


def test_gold_trap_and_qualification_rules_match_hand_computed_exclusions(store):
    from interp_core.study.results import study_report

    quality = {**QUALIFICATION, "exclusion": {"attention": 0, "gold": 0, "trap": 1, "incomplete": True}}
    study_id = store.create_study(synthetic_study(inputs=2, gold=((5, 1), (1, 1)), traps=(3, 4), design={"quality": quality}))
    check = {i["key"]: i for i in store.items(study_id) if i["attention"]}
    # Each participant: qualification answers, then per check item key the answer they give (others: 3).
    plans = {
        "ok": ((2, 2, 1), {"attention-0": 2, "gold-0": 4, "gold-1": 2, "trap-0": 3, "trap-1": 4}),  # golds within ±1
        "gold": ((2, 2, 1), {"attention-0": 2, "gold-0": 3, "gold-1": 1, "trap-0": 3, "trap-1": 4}),  # gold-0: |3-5| = 2 > 1
        "one trap": ((2, 2, 2), {"attention-0": 2, "gold-0": 5, "gold-1": 1, "trap-0": 1, "trap-1": 4}),  # 1 trap missed: allowed
        "two traps": ((2, 2, 1), {"attention-0": 2, "gold-0": 5, "gold-1": 1, "trap-0": 1, "trap-1": 1}),
        "attention+gold": ((2, 1, 1), {"attention-0": 5, "gold-0": 5, "gold-1": 3, "trap-0": 3, "trap-1": 4}),
        "screened": ((1, 1, 1), {}),  # 1 of 3 right, 2 needed
        "quit": ((2, 2, 1), None),  # leaves after the first screen
    }
    codes = {}
    for name, (qualification, answers) in plans.items():
        session = ParticipantSession.open(store, study_id, make_token(study_id))
        session.consent()
        codes[name] = session.code
        for step, value in zip(list(session.steps), qualification):
            session.answer_screening(step.key, value)
        if name == "screened":
            assert session.stage == "screened_out"
            continue
        while not session.done:
            screen = session.screen()
            key = session.items[screen.item_id]["key"]
            for slot in screen.slots:
                session.answer(screen.item_id, slot.slot, (answers or {}).get(key, 3), now())
            if answers is None:
                break
    report = study_report(store, study_id)
    expected = {
        codes["gold"]: ["gold items: 1 of 2 missed (0 allowed)"],
        codes["two traps"]: ["trapping items: 2 of 2 missed (1 allowed)"],
        codes["attention+gold"]: ["attention checks: 1 of 1 missed (0 allowed)", "gold items: 1 of 2 missed (0 allowed)"],
        codes["quit"]: ["did not finish"],
    }
    assert {e["participant"]: e["reasons"] for e in report["exclusions"]} == expected
    assert report["screened_out"] == [{"participant": codes["screened"], "reason": "qualification: 1 of 3 right, 2 needed"}]
    kept = {codes["ok"], codes["one trap"]}
    assert {r["participant"] for r in store.responses(study_id)} == set(codes.values()) - {codes["screened"]}  # raw data keeps all
    for row in report["mos"]:  # 2 kept participants x 2 inputs, every rating 3
        assert (row["n"], row["participants"], row["mos"]) == (4, 2, 3.0)
    assert set(report["excluded_participants"]) == set(expected) and not kept & set(report["excluded_participants"])
    everybody = study_report(store, study_id, apply_exclusions=False)
    assert everybody["exclusions"] == [] and next(r for r in everybody["mos"])["participants"] == 6
    assert check["gold-0"]["tolerance"] == 1 and check["trap-1"]["kind"] == "trap"


@pytest.mark.parametrize("assignment,per", [("balanced", 2), ("balanced", 4), ("latin-square", 0)])
def test_thirty_participants_fill_every_cell_within_one(store, assignment, per):
    study_id = store.create_study(synthetic_study(inputs=5, design={"assignment": assignment, "items_per_participant": per}))
    blocks = []
    for _ in range(30):
        session = ParticipantSession.open(store, study_id, make_token(study_id))
        session.consent()
        blocks.append(session.participant.block)
        answer_all(session)
    rows = [r for r in store.responses(study_id) if not r["attention"]]
    for question in {r["question"] for r in rows}:
        cells = Counter((r["stimulus"], r["condition"]) for r in rows if r["question"] == question)
        assert len(cells) == 5 * 3, question  # every (stimulus, method) pair got ratings
        assert max(cells.values()) - min(cells.values()) <= 1, (question, cells)
    count = 3 if assignment == "latin-square" else 5 // np.gcd(5, per)
    assert blocks[:count * 2] == list(range(count)) * 2  # blocks are handed out in turn
    if assignment == "latin-square":  # each participant sees each input once, under one method
        for code in {r["participant"] for r in rows}:
            mine = [r for r in rows if r["participant"] == code and r["question"] == "rating"]
            assert sorted(r["stimulus"] for r in mine) == [f"in{n}" for n in range(5)]


def test_an_abandoned_block_goes_to_the_next_participant(store):
    study_id = store.create_study(synthetic_study(inputs=4, attention=False, design={"assignment": "balanced", "items_per_participant": 2}))
    gone = ParticipantSession.open(store, study_id, make_token(study_id))
    gone.consent()
    assert gone.participant.block == 0
    nxt = ParticipantSession.open(store, study_id, make_token(study_id))
    nxt.consent()
    assert nxt.participant.block == 1  # block 0 is held by someone who just started
    late = store.add_participant(study_id, "0123456789abcdef", 1, [])
    record = store.assign_block(late.id, 2, lambda block: [], idle_minutes=0)  # nobody active any more: both blocks free
    assert record.block == 0
