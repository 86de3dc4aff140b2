"""``python -m interp_core study ...``: create from a design file (stimuli rendered by real models),
links, export/import, results, hash-password, loadtest, and clear errors."""
from __future__ import annotations

import io
import json
import struct

import pytest
from study_fixtures import run_cli, study_env  # noqa: F401  (fixture)



def test_create_links_results_export_import(capsys, tmp_path):
    from interp_core.store.catalog import checkpoint_fingerprint

    design = {"name": "Digits MOS", "conditions": [{"method": "gradient", "model": "cnn-digits"},
                                                   {"method": "gradcam", "model": "cnn-digits"}],
              "inputs": [{"dataset": "digits-overlap", "index": 0}, {"dataset": "digits", "index": 3}],
              "questions": ["rating", "simulation"], "attention_checks": 1, "simulation_choices": 3}
    (tmp_path / "design.json").write_text(json.dumps(design))
    code, made = run_cli(capsys, "study", "create", str(tmp_path / "design.json"), "--links", "2", "--json")
    assert code == 0, made
    assert made["items"] == 2 + 2 * 2 + 1 and len(made["links"]) == 2
    assert all(f"study={made['study']}&token=v1." in link for link in made["links"])

    from interp_core.study.storage import open_store

    store = open_store()
    items = store.items(made["study"])
    rating = next(i for i in items if i["question"] == "rating")
    assert [s["method"] for s in rating["slots"]] == ["gradient", "gradcam"]
    assert {s["fingerprint"] for s in rating["slots"]} == {checkpoint_fingerprint("cnn-digits")}
    for item in items:
        if item["question"] == "simulation":
            values = [v for v, _ in item["options"]]
            assert len(values) == 3 and item["slots"][0]["explained"] in values and values == sorted(values)
    media, data, _ = store.stimulus(made["study"], rating["slots"][0]["picture"])
    assert media == "image/png" and struct.unpack(">II", data[16:24]) == (224, 224)  # 28 px enlarged 8x

    code, results = run_cli(capsys, "study", "results", made["study"], "--json", "--csv", str(tmp_path / "raw.csv"))
    assert code == 0 and results["answers"] == 0 and results["mos"] == []
    code, exported = run_cli(capsys, "study", "export", made["study"], "--out", str(tmp_path / "study.json"), "--json")
    assert code == 0 and exported["bytes"] > 1000
    code, imported = run_cli(capsys, "study", "import", str(tmp_path / "study.json"), "--json")
    assert code == 0 and imported["study"] != made["study"]


def test_audio_studies_store_sounds_with_their_length(tmp_path):
    import soundfile

    from interp_core.study.design import Condition, InputSpec, StudyDesign
    from interp_core.study.stimuli import render_study

    content = render_study(StudyDesign("Sounds", (Condition("gradient", "cnn-sounds"),), (InputSpec("sounds-mix", 1),)))
    sounds = [s for s in content.stimuli if s.media_type == "audio/wav"]
    assert len(sounds) == 2  # the input and the interpretation
    for s in sounds:
        wave, rate = soundfile.read(io.BytesIO(s.data))
        assert rate == 16000 and s.meta["seconds"] == pytest.approx(len(wave) / rate) == pytest.approx(2.0)
    rating = content.items[0]
    assert rating.input["sound"] == "in0.wav" and rating.slots[0]["sound"] == "in0-c0.wav"


@pytest.mark.parametrize("design,needle", [
    ({"conditions": [{"method": "no-such-method", "model": "cnn-digits"}], "inputs": [{"dataset": "digits", "index": 0}]},
     "Unknown explanation method"),
    ({"conditions": [{"method": "gradient", "model": "cnn-digits"}], "inputs": [{"dataset": "shapes", "index": 0}]}, "shape"),
    ({"conditions": [{"method": "gradient", "model": "cnn-digits"}], "inputs": [{"dataset": "digits", "index": 99999}]},
     "does not exist"),
    ({"conditions": [], "inputs": [{"dataset": "digits", "index": 0}]}, "between 1 and"),
    ({"conditions": [{"method": "gradient", "model": "cnn-digits"}], "inputs": [{"dataset": "digits"}], "colour": 1},
     "Unknown design field"),
])
def test_bad_designs_are_refused_and_nothing_is_stored(capsys, tmp_path, design, needle):
    (tmp_path / "design.json").write_text(json.dumps({"name": "bad", **design}))
    code, out = run_cli(capsys, "study", "create", str(tmp_path / "design.json"))
    assert code == 2 and needle in out, out
    from interp_core.study.storage import open_store

    assert open_store().studies() == []


def test_unknown_study_is_a_clear_error(capsys):
    code, out = run_cli(capsys, "study", "results", "nope")
    assert code == 2 and "no study 'nope'" in out


def test_hash_password_from_stdin(capsys, monkeypatch):
    from interp_core.study.config import verify_password

    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    code, out = run_cli(capsys, "study", "hash-password", "--stdin", "--json")
    assert code == 0 and verify_password("a long password", out["password_hash"])


def test_loadtest_reports_written_lost_and_p95(capsys):
    code, out = run_cli(capsys, "study", "loadtest", "--participants", "6", "--answers", "5", "--json")
    assert code == 0
    assert (out["written"], out["lost"], out["errors"]) == (30, 0, 0) and out["p95_ms"] > 0


def test_uploads_are_rendered_like_gallery_inputs_and_bad_ones_refused():
    from study_fixtures import png

    from interp_core.inputs import InputError
    from interp_core.study.design import Condition, InputSpec, StudyDesign
    from interp_core.study.stimuli import render_study

    condition = (Condition("gradient", "cnn-digits"),)
    content = render_study(StudyDesign("Uploads", condition, (InputSpec(filename="mine.png", data=png(3)),), attention_checks=0))
    [rating] = content.items
    assert rating.input["source"] == "upload mine.png"
    assert rating.class_name == rating.slots[0]["explained_name"]  # no true class: the model's decision
    assert content.design["inputs"][0]["data"] == ""  # the upload lives on as its rendered stimulus only
    with pytest.raises(InputError, match="not an image"):
        render_study(StudyDesign("Uploads", condition, (InputSpec(filename="notes.png", data=b"just some words here"),)))
