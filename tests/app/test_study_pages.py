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
    shown = at.dataframe[0].value.set_index("condition")
    for row in expected["mos"]:
        assert shown.loc[row["condition"], "mos"] == pytest.approx(row["mos"])
        assert shown.loc[row["condition"], "ci_low"] == pytest.approx(row["ci_low"])
    assert any(m.value.startswith("Friedman over 3 methods, 3 participants") for m in at.markdown)
    assert [d.proto.label for d in at.get("download_button")] == ["CSV", "JSON"]


def test_designer_signs_in_renders_a_study_and_makes_links(store):
    at = open_study_page("study_designer")
    sign_in(at, "wrong password")
    assert at.error[0].value == "Wrong password."
    sign_in(at, PASSWORD)
    at.text_input(key="design-name").input("Digits MOS").run()
    at.selectbox(key="design-model-dataset").set_value("digits").run()
    at.multiselect(key="design-conditions").set_value(["gradient on cnn-digits", "gradcam on cnn-digits"]).run()
    at.text_input(key="design-indices").input("0, 5").run()
    at.button(key="design-create").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Created study" in at.success[0].value
    [study] = store.studies()
    assert (study["name"], study["items"]) == ("Digits MOS", 2 + 1)
    at.button(key="studies-make-links").click().run()
    links = at.code[0].value.splitlines()
    assert len(links) == 5 and all(f"study={study['id']}&token=v1." in link for link in links)


def test_designer_without_a_configured_password_says_how_to_set_one(store, monkeypatch):
    monkeypatch.delenv("INTERP_CORE_STUDY_PASSWORD_HASH")
    at = open_study_page("study_designer")
    sign_in(at, PASSWORD)
    assert "hash-password" in at.error[0].value
    assert not at.get("tab")
