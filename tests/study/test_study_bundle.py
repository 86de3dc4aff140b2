"""A study as one file: export, import elsewhere, and study files that fail validation (nothing written)."""
from __future__ import annotations

import base64
import copy
import json

import pytest
from study_fixtures import store, study_env, synthetic_study  # noqa: F401  (fixtures)

from interp_core.study.bundle import export_study, import_study, parse_bundle
from interp_core.study.errors import BundleError


def test_export_then_import_gives_the_same_study(store, tmp_path):
    from interp_core.study.bundle import write_bundle

    original = store.create_study(synthetic_study(simulation=True, sound=True, gold=((5, 1),), traps=(3,), headphone=True))
    path = write_bundle(store, original, tmp_path / "study.json")
    copy_id = import_study(store, path.read_bytes())
    assert copy_id != original
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("id", "study_id")} for r in rows]  # noqa: E731
    assert strip(store.items(copy_id)) == strip(store.items(original))
    assert store.stimuli(copy_id) == store.stimuli(original)
    assert store.study(copy_id)["consent"] == store.study(original)["consent"]
    kinds = {i["key"]: (i["kind"], i["tolerance"]) for i in store.items(copy_id)}
    assert (kinds["gold-0"], kinds["trap-0"], kinds["attention-0"]) == (("gold", 1), ("trap", None), ("attention", None))


def _broken(doc, how):
    doc = copy.deepcopy(doc)
    if how == "format":
        doc["format"] = "something-else"
    elif how == "version":
        doc["version"] = 99
    elif how == "sha256":
        doc["stimuli"][0]["sha256"] = "0" * 64
    elif how == "signature":
        data = b"not a png at all"
        doc["stimuli"][0]["data"] = base64.b64encode(data).decode()
        import hashlib

        doc["stimuli"][0]["sha256"] = hashlib.sha256(data).hexdigest()
    elif how == "media_type":
        doc["stimuli"][0]["media_type"] = "text/html"
    elif how == "missing_stimulus":
        doc["items"][0]["slots"][0]["picture"] = "nowhere.png"
    elif how == "attention":
        next(i for i in doc["items"] if i["attention"])["expected"] = 9
    elif how == "kind":
        doc["items"][0]["kind"] = "gold"  # a main item (attention false) cannot be a gold item
    elif how == "question":
        doc["items"][0]["question"] = "essay"
    elif how == "no_consent":
        doc["study"]["consent"] = "  "
    elif how == "duplicate_item":
        doc["items"].append(doc["items"][0])
    return doc


@pytest.mark.parametrize("how,needle", [
    ("format", "not an exported study"), ("version", "version 99"), ("sha256", "SHA-256"), ("signature", "not a image/png"),
    ("media_type", "media type"), ("missing_stimulus", "nowhere.png"), ("attention", "expected answer"),
    ("question", "unknown question type"), ("kind", "does not fit its attention flag"), ("no_consent", "no consent"),
    ("duplicate_item", "share a key"),
])
def test_invalid_study_files_are_refused_with_a_reason_and_nothing_is_written(store, how, needle):
    doc = export_study(store, store.create_study(synthetic_study()))
    before = store.studies()
    with pytest.raises(BundleError, match=needle) as err:
        import_study(store, json.dumps(_broken(doc, how)).encode())
    assert "Nothing was imported" in str(err.value)
    assert store.studies() == before


def test_a_file_that_is_not_json_is_refused():
    with pytest.raises(BundleError, match="not a JSON document"):
        parse_bundle(b"\x89PNG not json")
