"""AppTest of the Studies pages, opened through app/main.py like a user: designer (sign-in, a study
rendered from real models, links), participant session (consent -> items -> done, resume, bad links)
and results (wrong password refused, right one accepted, numbers equal to the library's)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "study"))

from study_fixtures import SECRET, synthetic_study  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "lead password 1"


@pytest.fixture(scope="module")
def password_hash():
    from interp_core.study.config import hash_password

    return hash_password(PASSWORD)


@pytest.fixture
def store(monkeypatch, tmp_path, password_hash):
    from interp_core.study.storage import open_store

    monkeypatch.setenv("INTERP_CORE_STUDY_SECRET", SECRET)
    monkeypatch.setenv("INTERP_CORE_STUDY_URL", f"sqlite:///{tmp_path / 'studies.db'}")
    monkeypatch.setenv("INTERP_CORE_STUDY_PASSWORD_HASH", password_hash)
    return open_store()


def open_study_page(stem: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.query_params.update(params)
    at.run()
    at.switch_page(str(ROOT / "pages" / f"{stem}.py"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key="study-lead-password").input(password)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, [e.value for e in at.exception]
    return at


def progress_text(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def test_participant_session_consent_items_done_and_resume(store):
    from interp_core.study.tokens import make_token

    study_id = store.create_study(synthetic_study(inputs=2))
    token = make_token(study_id)
    at = open_study_page("study_session", study=study_id, token=token)
    assert at.title[0].value == "Toy study" and "I agree to take part." in [m.value for m in at.markdown]
    assert not at.radio and store.participants(study_id) == []  # nothing before consent
    at.button(key="study-consent").click().run()
    assert progress_text(at) == "Item 1 of 3"
    assert [r.label for r in at.radio] == ["Rating of A", "Rating of B", "Rating of C"]  # attention checks never come first
    at.radio[0].set_value(5).run()  # committed at once
    assert store.count_responses(study_id) == 1
    assert at.radio[0].disabled and at.radio[0].value == 5 and at.radio[0].label.endswith("(saved)")  # cannot be changed

    resumed = open_study_page("study_session", study=study_id, token=token)  # reload / another browser
    assert progress_text(resumed) == progress_text(at)
    assert [r.disabled for r in resumed.radio] == [r.disabled for r in at.radio]
    while resumed.get("progress"):
        shown = progress_text(resumed)
        for radio in [r for r in resumed.radio if not r.disabled]:
            attention = any("Attention check" in m.value for m in resumed.markdown)
            radio.set_value(2 if attention else 4).run()
            assert not resumed.exception, [e.value for e in resumed.exception]
        assert not resumed.get("progress") or progress_text(resumed) != shown
    assert "Thank you" in resumed.success[0].value
    rows = store.responses(study_id)
    assert len(rows) == 2 * 3 + 1 and {r["participant"] for r in rows} == {token.split(".")[1]}
    assert [r["correct"] for r in rows if r["attention"]] == [True]
    assert store.participants(study_id)[0].completed_at is not None


def test_sounds_must_be_played_before_rating(store):
    import time

    from interp_core.study.tokens import make_token

    study_id = store.create_study(synthetic_study(inputs=1, methods=("alpha",), attention=False, sound=True))
    at = open_study_page("study_session", study=study_id, token=make_token(study_id))
    at.button(key="study-consent").click().run()
    assert at.radio[0].disabled and not at.get("audio")
    assert "Play every sound" in at.info[0].value
    next(b for b in at.button if b.label == "▶ Play the input").click().run()
    assert at.get("audio") and not at.radio[0].disabled
    at.radio[0].set_value(3).run()  # before the 0.3 s clip can have ended
    assert "Listen to the whole sound" in at.warning[0].value and at.radio[0].value is None
    assert store.count_responses(study_id) == 0
    time.sleep(0.4)
    at.radio[0].set_value(3).run()
    assert store.count_responses(study_id) == 1 and "Thank you" in at.success[0].value


@pytest.mark.parametrize("case", ["no link", "unknown study", "tampered token", "foreign token"])
def test_bad_links_get_a_clear_message_and_store_nothing(store, case):
    from interp_core.study.tokens import make_token

    study_id = store.create_study(synthetic_study(inputs=1))
    other = store.create_study(synthetic_study(inputs=1))
    token = make_token(study_id)
    params = {"no link": {}, "unknown study": {"study": "nope", "token": token},
              "tampered token": {"study": study_id, "token": token[:-1] + ("A" if token[-1] != "A" else "B")},
              "foreign token": {"study": other, "token": token}}[case]
    at = open_study_page("study_session", **params)
    if case == "no link":
        assert "participant link" in at.info[0].value
    else:
        assert at.error and ("no study" in at.error[0].value or "not valid" in at.error[0].value), [e.value for e in at.error]
    assert not at.button and not at.radio
    assert store.participants(study_id) == [] and store.participants(other) == []


def test_results_refuse_a_wrong_password_and_match_the_library_with_the_right_one(store):
    from datetime import datetime, timezone

    from interp_core.study.runner import ParticipantSession
    from interp_core.study.stats import study_results
    from interp_core.study.tokens import make_token

    study_id = store.create_study(synthetic_study(inputs=2, attention=False))
    for n in range(3):
        session = ParticipantSession.open(store, study_id, make_token(study_id))
        session.consent()
        while not session.done:
            screen = session.screen()
            for slot in screen.slots:
                session.answer(screen.item_id, slot.slot, 1 + (slot.slot + n) % 5, datetime.now(timezone.utc))
    at = open_study_page("study_results")
    assert not at.dataframe
    sign_in(at, "not the password")
    assert at.error[0].value == "Wrong password." and not at.dataframe
    sign_in(at, PASSWORD)
    assert not at.error, [e.value for e in at.error]
    expected = study_results(store.responses(study_id))
    tables = [d.value for d in at.dataframe]
    live = tables[0]  # ratings per (stimulus, method) so far: 3 participants rated every cell once
    assert live.shape == (2, 3) and (live.to_numpy() == 3).all()
    shown = next(t for t in tables if "ci_method" in t and "class_name" not in t).set_index("condition")
    for row in expected["mos"]:
        assert shown.loc[row["condition"], "mos"] == pytest.approx(row["mos"])
        assert shown.loc[row["condition"], "ci_low"] == pytest.approx(row["ci_low"])
        assert shown.loc[row["condition"], "ci_method"] == expected["ci_method"]
    assert any(c.value == f"Interval: {expected['ci_method']}." for c in at.caption)
    assert any(m.value.startswith("Friedman over 3 methods, 3 participants") for m in at.markdown)
    assert [d.proto.label for d in at.get("download_button")] == ["CSV", "JSON"]
    at.selectbox(key="results-ci").set_value("rating").run()
    naive = next(t for t in (d.value for d in at.dataframe) if "ci_method" in t and "class_name" not in t)
    assert set(naive["ci_method"]) == {"rating-level t interval (every rating independent)"}


def test_designer_signs_in_renders_a_study_and_makes_links(store):
    at = open_study_page("study_designer")
    sign_in(at, "wrong password")
    assert at.error[0].value == "Wrong password."
    sign_in(at, PASSWORD)
    at.text_input(key="design-name").input("Digits MOS").run()
    at.selectbox(key="design-model-dataset").set_value("digits").run()
    at.multiselect(key="design-conditions").set_value(["gradient on cnn-digits", "gradcam on cnn-digits"]).run()
    at.text_input(key="design-indices").input("0, 5").run()
    at.radio(key="design-assignment").set_value("latin-square").run()
    at.text_area(key="design-qualification").input("What is 2 + 3? | 4 | 5 | 2").run()
    at.number_input(key="design-traps").set_value(1).run()
    at.text_area(key="design-gold").input("1 | 0 | 4 | 1").run()
    at.button(key="design-create").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Created study" in at.success[0].value
    [study] = store.studies()
    assert (study["name"], study["items"]) == ("Digits MOS", 2 + 1 + 1 + 1)  # ratings, attention check, trap, gold
    design = store.study(study["id"])["design"]
    assert design["assignment"] == "latin-square" and design["quality"]["qualification"][0]["accept"] == [2]
    assert design["quality"]["gold"] == [{"input": 1, "condition": 0, "expected": 4, "tolerance": 1}]
    at.button(key="studies-make-links").click().run()
    links = at.code[0].value.splitlines()
    assert len(links) == 5 and all(f"study={study['id']}&token=v1." in link for link in links)
    at.text_input(key="recruit-code").input("DONE-1")  # a form: the value goes with the submit button
    at.button[[b.label for b in at.button].index("Open the platform link")].click().run()
    assert not at.error, [e.value for e in at.error]
    assert store.study(study["id"])["recruitment"]["completion_code"] == "DONE-1"
    assert any("entry=" in c.value and "PROLIFIC_PID={{%PROLIFIC_PID%}}" in c.value for c in at.code)


def test_designer_without_a_configured_password_says_how_to_set_one(store, monkeypatch):
    monkeypatch.delenv("INTERP_CORE_STUDY_PASSWORD_HASH")
    at = open_study_page("study_designer")
    sign_in(at, PASSWORD)
    assert "hash-password" in at.error[0].value
    assert not at.get("tab")


PROLIFIC = {"platform": "prolific", "completion_code": "C0MPL3TE", "screened_out_code": "SCR33N",
            "completion_url": "http://127.0.0.1:9/done?cc={code}"}


def prolific_params(study_id: str, pid: str) -> dict[str, str]:
    from interp_core.study.recruitment import entry_tag

    return {"study": study_id, "entry": entry_tag(study_id, "prolific"), "PROLIFIC_PID": pid, "STUDY_ID": "a" * 24,
            "SESSION_ID": "b" * 24}


def answer_screen(at: AppTest) -> None:
    for radio in [r for r in at.radio if not r.disabled]:
        attention = any("Attention check" in m.value for m in at.markdown)
        radio.set_value(2 if attention else 4).run()
        assert not at.exception, [e.value for e in at.exception]


def test_prolific_link_twice_resumes_then_shows_the_code_and_redirects(store):
    study_id = store.create_study(synthetic_study(inputs=2, recruitment=PROLIFIC))
    first = open_study_page("study_session", **prolific_params(study_id, "5f" * 12))
    first.button(key="study-consent").click().run()
    answer_screen(first)
    assert progress_text(first) == "Item 2 of 3"
    again = open_study_page("study_session", **prolific_params(study_id, "5f" * 12))  # the same PROLIFIC_PID comes back
    assert not again.get("button") and progress_text(again) == "Item 2 of 3"
    while again.get("progress"):
        answer_screen(again)
    assert "Thank you" in again.success[0].value and again.code[0].value == "C0MPL3TE"
    assert again.get("link_button")[0].proto.url == "http://127.0.0.1:9/done?cc=C0MPL3TE"
    assert any('http-equiv="refresh" content="4; url=http://127.0.0.1:9/done?cc=C0MPL3TE"' in m.value for m in again.markdown)
    [participant] = store.participants(study_id)
    assert participant.platform_ids["PROLIFIC_PID"] == "5f" * 12 and store.count_responses(study_id) == 7


def test_screened_out_on_the_page_gets_the_other_code_and_stores_no_rating(store):
    quality = {"qualification": {"questions": [{"prompt": "What is 2 + 3?", "options": ["4", "5"], "accept": [2]}]}}
    study_id = store.create_study(synthetic_study(inputs=1, design={"quality": quality}, recruitment=PROLIFIC))
    at = open_study_page("study_session", **prolific_params(study_id, "6a" * 12))
    at.button(key="study-consent").click().run()
    assert progress_text(at) == "Before the study: question 1 of 1" and at.radio[0].options == ["4", "5"]
    at.radio[0].set_value(1).run()
    assert "no rating of yours was stored" in at.info[0].value and at.code[0].value == "SCR33N"
    assert not at.get("link_button")  # no screened-out URL was given
    assert store.count_responses(study_id) == 0 and store.participants(study_id)[0].screened_out_at is not None


def test_results_list_exclusions_and_show_platform_ids_only_when_asked(store):
    from datetime import datetime, timezone

    from interp_core.study.recruitment import entry_tag
    from interp_core.study.runner import ParticipantSession

    study_id = store.create_study(synthetic_study(inputs=1, recruitment=PROLIFIC))
    for n, check in enumerate((2, 5)):  # the second misses the attention check (expects 2)
        ids = {"PROLIFIC_PID": f"{n:024x}", "STUDY_ID": "a" * 24, "SESSION_ID": "b" * 24}
        session = ParticipantSession.open_platform(store, study_id, entry_tag(study_id, "prolific"), ids)
        session.consent()
        while not session.done:
            screen = session.screen()
            for slot in screen.slots:
                value = check if session.items[screen.item_id]["attention"] else 3 + n
                session.answer(screen.item_id, slot.slot, value, datetime.now(timezone.utc))
    at = open_study_page("study_results")
    sign_in(at, PASSWORD)
    tables = [d.value for d in at.dataframe]
    excluded = next(t for t in tables if "reasons" in t)
    assert excluded.to_dict("records") == [{"participant": session.code, "reasons": "attention checks: 1 of 1 missed (0 allowed)"}]
    mos = next(t for t in tables if "ci_method" in t and "class_name" not in t)
    assert set(mos["mos"]) == {3.0} and set(mos["participants"]) == {1}  # only the first participant counts
    people = next(t for t in tables if "screened_out" in t)
    assert "platform_ids" not in people and f"{1:024x}" not in people.to_string()
    at.checkbox(key="results-platform-ids").check().run()
    people = next(t for d in at.dataframe if "screened_out" in (t := d.value))
    assert f"{1:024x}" in people.to_string()
    at.checkbox(key="results-apply").uncheck().run()
    mos = next(t for t in (d.value for d in at.dataframe) if "ci_method" in t and "class_name" not in t)
    assert set(mos["participants"]) == {2}


def test_headphone_check_screens_play_the_tones_before_the_answer(store):
    from interp_core.study.tokens import make_token

    study_id = store.create_study(synthetic_study(inputs=1, sound=True, headphone=True, design={"quality": {"headphone_check": True}}))
    at = open_study_page("study_session", study=study_id, token=make_token(study_id))
    at.button(key="study-consent").click().run()
    assert progress_text(at) == "Before the study: question 1 of 6" and "QUIETEST" in at.markdown[-1].value
    assert at.radio[0].disabled and at.radio[0].options == ["first", "second", "third"] and not at.get("audio")
    next(b for b in at.button if b.label == "▶ Play the tones").click().run()
    assert at.get("audio") and not at.radio[0].disabled
    at.radio[0].set_value(1).run()  # at once: the 4 s trial cannot have been heard to its end
    assert "Listen to the whole sound" in at.warning[0].value and store.screening(study_id) == []
