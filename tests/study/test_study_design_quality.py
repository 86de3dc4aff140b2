"""Design files with quality control, assignment and recruitment: round trip, validation messages, the
platform link, trap pictures; ``study create`` renders gold and trapping items with real models,
``study recruit`` opens the link, and ``study results`` exports raw platform ids only when asked."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from study_fixtures import run_cli, study_env, synthetic_study  # noqa: F401  (fixtures)

from interp_core.study.design import Condition, InputSpec, StudyDesign
from interp_core.study.errors import DesignError
from interp_core.study.quality import ExclusionRules, GoldItem, QualificationQuestion, QualityControl
from interp_core.study.recruitment import Recruitment, entry_tag, platform_link

CONDITIONS = (Condition("gradient", "cnn-digits"), Condition("gradcam", "cnn-digits"))
INPUTS = (InputSpec("digits", 0), InputSpec("digits", 3))


def design(**fields) -> StudyDesign:
    return StudyDesign("Quality", CONDITIONS, INPUTS, **fields)


def test_quality_and_recruitment_round_trip_through_the_design_file():
    quality = QualityControl((QualificationQuestion("2 + 3?", ("4", "5"), (2,)),), 1, True, (GoldItem(1, 0, 5, 1),), 2,
                             ExclusionRules(attention=-1, gold=0, trap=1, incomplete=False))
    original = design(assignment="latin-square", quality=quality, recruitment=Recruitment("prolific", "CODE1", "OUT2", cap=40))
    original.validate()
    again = StudyDesign.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again == original
    short = StudyDesign.from_dict({**original.to_dict(), "quality": {"qualification": {"questions": [
        {"prompt": "2 + 3?", "options": ["4", "5"], "accept": [2]}], "min_correct": 1}}})
    assert short.quality.qualification == quality.qualification and short.quality.qualification_min_correct == 1
    assert StudyDesign.from_dict({"name": "x", "conditions": [], "inputs": []}).assignment == "balanced"


@pytest.mark.parametrize("fields,message", [
    ({"quality": QualityControl(gold=(GoldItem(5, 0, 4),))}, "Gold item 1 names input 5"),
    ({"quality": QualityControl(gold=(GoldItem(0, 0, 7),))}, "expected rating is 1-5"),
    ({"quality": QualityControl((QualificationQuestion("q", ("a", "b"), (3,)),))}, "option numbers 1-2"),
    ({"quality": QualityControl((QualificationQuestion("q", ("a", "b"), (1,)),), 2)}, "right answers needed"),
    ({"assignment": "latin-square", "questions": ("rating", "preference")}, "Latin square"),
    ({"assignment": "shuffled"}, "Assignment must be one of"),
    ({"recruitment": Recruitment("prolific", "")}, "completion code"),
    ({"recruitment": Recruitment("prolific", "SAME", "SAME")}, "differs from the completion code"),
    ({"recruitment": Recruitment("prolific", "OK", completion_url="javascript:alert(1)")}, "http"),
    ({"recruitment": Recruitment("myspace", "OK")}, "Platform must be one of"),
])
def test_wrong_settings_name_the_field(fields, message):
    with pytest.raises(DesignError, match=message):
        design(**fields).validate()


def test_unknown_fields_in_the_design_file_are_refused():
    with pytest.raises(DesignError, match="Unknown quality field"):
        QualityControl.from_dict({"goldd": []})
    with pytest.raises(DesignError, match="Unknown exclusion rule"):
        QualityControl.from_dict({"exclusion": {"speed": 1}})
    with pytest.raises(DesignError, match="Unknown recruitment field"):
        Recruitment.from_dict({"platform": "prolific", "completion_code": "A", "bonus": 2})


def test_platform_link_and_redirect():
    link = platform_link("s123", "prolific", base="https://study.example.org/")
    assert link.startswith("https://study.example.org/study_session?study=s123&entry=")
    assert link.endswith("&PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}")
    assert f"entry={entry_tag('s123', 'prolific')}" in link and entry_tag("s123", "prolific") != entry_tag("s124", "prolific")
    mturk = platform_link("s123", "mturk", base="https://study.example.org")
    assert "workerId" not in mturk  # MTurk appends its ids itself
    r = Recruitment("prolific", "AB-12", "OUT_1", completion_url="https://app.prolific.com/submissions/complete?cc={code}")
    assert r.redirect(False) == "https://app.prolific.com/submissions/complete?cc=AB-12" and r.redirect(True) == ""
    assert (r.code(False), r.code(True)) == ("AB-12", "OUT_1")


def test_trap_pictures_carry_their_instruction_on_a_white_band():
    from PIL import Image

    from interp_core.study.checks import TRAP_TEXT, trap_picture
    from interp_core.study.stimuli import png_bytes

    original = png_bytes(np.zeros((28, 28, 3), np.uint8))
    trapped = np.asarray(Image.open(io.BytesIO(trap_picture(original, TRAP_TEXT.format(value=2, label="poor")))))
    middle = trapped[trapped.shape[0] // 2 - 30: trapped.shape[0] // 2 + 30]
    assert trapped.shape == (224, 224, 3)
    assert (middle == 255).all(axis=2).mean() > 0.5 and (middle < 100).all(axis=2).any()  # white band with dark text
    assert (trapped[:20] == 0).all()  # the rest of the picture is untouched


def test_create_renders_gold_and_trap_items_and_recruit_opens_the_link(capsys, tmp_path):
    doc = {"name": "Crowd", "conditions": [{"method": "gradient", "model": "cnn-digits"}, {"method": "gradcam", "model": "cnn-digits"}],
           "inputs": [{"dataset": "digits", "index": 0}, {"dataset": "digits", "index": 3}], "attention_checks": 0,
           "assignment": "balanced", "items_per_participant": 1,
           "quality": {"gold": [{"input": 1, "condition": 0, "expected": 4, "tolerance": 1}], "traps": 1},
           "recruitment": {"platform": "prolific", "completion_code": "DONE1", "screened_out_code": "OUT1"}}
    (tmp_path / "design.json").write_text(json.dumps(doc))
    code, made = run_cli(capsys, "study", "create", str(tmp_path / "design.json"), "--json")
    assert code == 0, made
    assert "entry=" in made["platform_link"] and "PROLIFIC_PID" in made["platform_link"]
    from interp_core.study.storage import open_store

    store = open_store()
    items = {i["key"]: i for i in store.items(made["study"])}
    assert (items["gold-0"]["kind"], items["gold-0"]["expected"], items["gold-0"]["tolerance"]) == ("gold", 4, 1)
    assert items["gold-0"]["slots"] == [items["rating-in1"]["slots"][0]]  # the very interpretation the lead judged
    assert items["trap-0"]["kind"] == "trap" and items["trap-0"]["prompt"] == items["rating-in0"]["prompt"]
    media, _, facts = store.stimulus(made["study"], items["trap-0"]["slots"][0]["picture"])
    assert media == "image/png" and facts["expected"] == items["trap-0"]["expected"]
    code, opened = run_cli(capsys, "study", "recruit", made["study"], "--platform", "mturk", "--completion-code", "M1", "--cap", "30",
                       "--json")
    assert code == 0 and opened["cap"] == 30 and "workerId" not in opened["link"]
    assert store.study(made["study"])["recruitment"]["platform"] == "mturk"
    code, closed = run_cli(capsys, "study", "recruit", made["study"], "--close", "--json")
    assert code == 0 and closed["open"] is False and closed["completion_code"] == "M1"


def test_results_export_platform_ids_only_when_asked(capsys, tmp_path, monkeypatch):
    import pandas as pd

    from interp_core.study.runner import ParticipantSession
    from interp_core.study.storage import open_store

    store = open_store()
    study_id = store.create_study(synthetic_study(inputs=1, attention=False,
                                                  recruitment={"platform": "prolific", "completion_code": "C"}))
    ids = {"PROLIFIC_PID": "5f" * 12, "STUDY_ID": "ab" * 12, "SESSION_ID": "cd" * 12}
    session = ParticipantSession.open_platform(store, study_id, entry_tag(study_id, "prolific"), ids)
    session.consent()
    screen = session.screen()
    from datetime import datetime, timezone

    for slot in screen.slots:
        session.answer(screen.item_id, slot.slot, 4, datetime.now(timezone.utc))
    code, result = run_cli(capsys, "study", "results", study_id, "--json", "--csv", str(tmp_path / "plain.csv"))
    assert code == 0 and result["ci_method"].startswith("participant-level") and "5f" * 12 not in json.dumps(result)
    assert "5f" * 12 not in (tmp_path / "plain.csv").read_text()
    code, _ = run_cli(capsys, "study", "results", study_id, "--json", "--csv", str(tmp_path / "ids.csv"), "--with-platform-ids")
    table = pd.read_csv(tmp_path / "ids.csv", dtype=str)
    assert set(table["platform_PROLIFIC_PID"]) == {"5f" * 12} and set(table["platform"]) == {"prolific"}
