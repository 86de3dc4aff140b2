"""A study as one file: export a stored study (texts, design, every stimulus, every item) to a JSON
document and import it elsewhere, so the same stimuli are shown on another server.

Import validates the whole file before anything is written: format and version, every field's type,
unique keys, each stimulus's media type, size, file signature (PNG, WAV) and SHA-256, that items refer
only to stimuli in the file, and that options and attention answers make sense. A file that fails gets
a :class:`~interp_core.study.errors.BundleError` naming the first problem, and the database is
untouched; a valid one is stored in one transaction under a new study id.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from interp_core.study.design import QUESTIONS, ItemSpec, StimulusFile, StudyContent
from interp_core.study.errors import BundleError
from interp_core.study.storage import StudyStore

FORMAT = "interp-core-study"
VERSION = 1
MAX_STIMULUS_BYTES = 20 * 1024 * 1024
MAX_BUNDLE_BYTES = 512 * 1024 * 1024
SIGNATURES = {"image/png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
              "audio/wav": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE"}
_ITEM_FIELDS = {"key": str, "question": str, "prompt": str, "input": dict, "slots": list, "options": list, "class_name": str,
                "attention": bool}


def export_study(store: StudyStore, study_id: str) -> dict[str, Any]:
    """The study ``study_id`` as a JSON-ready document (stimulus bytes in base64)."""
    study = store.study(study_id)
    return {
        "format": FORMAT, "version": VERSION, "exported_at": datetime.now(timezone.utc).isoformat(),
        "study": {k: study[k] for k in ("id", "name", "instructions", "consent", "design", "seed")},
        "stimuli": [{"key": s["key"], "media_type": s["media_type"], "sha256": s["sha256"], "meta": s["meta"],
                     "data": base64.b64encode(bytes(s["data"])).decode()} for s in store.stimuli(study_id)],
        "items": [{k: i[k] for k in (*_ITEM_FIELDS, "expected", "kind", "tolerance")} for i in store.items(study_id)],
    }


def write_bundle(store: StudyStore, study_id: str, path: str | Path) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(export_study(store, study_id)))
    tmp.replace(path)
    return path


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise BundleError(f"The study file is not valid: {message}. Nothing was imported.")


def parse_bundle(data: bytes | str | dict[str, Any]) -> StudyContent:
    """Validate a study file (its bytes, text or parsed document) and return its content."""
    if isinstance(data, (bytes, str)):
        _need(len(data) <= MAX_BUNDLE_BYTES, f"it is larger than {MAX_BUNDLE_BYTES // 2**20} MB")
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise BundleError("The study file is not valid: it is not a JSON document. Nothing was imported.") from None
    else:
        doc = data
    _need(isinstance(doc, dict) and doc.get("format") == FORMAT, f"it is not an exported study (format {FORMAT!r} missing)")
    _need(doc.get("version") == VERSION, f"version {doc.get('version')!r} is not supported (this tool reads version {VERSION})")
    study = doc.get("study")
    _need(isinstance(study, dict), "the 'study' section is missing")
    for key, kind in (("name", str), ("instructions", str), ("consent", str), ("design", dict), ("seed", int)):
        _need(isinstance(study.get(key), kind) and not isinstance(study.get(key), bool), f"study.{key} is missing or not a {kind.__name__}")
    _need(bool(study["name"].strip()) and bool(study["consent"].strip()), "the study has no name or no consent text")

    stimuli: list[StimulusFile] = []
    _need(isinstance(doc.get("stimuli"), list), "the 'stimuli' list is missing")
    for n, s in enumerate(doc["stimuli"]):
        _need(isinstance(s, dict) and isinstance(s.get("key"), str) and s["key"], f"stimulus {n} has no key")
        _need(s.get("media_type") in SIGNATURES, f"stimulus {s['key']!r} has media type {s.get('media_type')!r} "
                                                 f"(allowed: {', '.join(SIGNATURES)})")
        try:
            raw = base64.b64decode(s.get("data", ""), validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise BundleError(f"The study file is not valid: stimulus {s['key']!r} is not base64. Nothing was imported.") from None
        _need(0 < len(raw) <= MAX_STIMULUS_BYTES, f"stimulus {s['key']!r} is empty or larger than {MAX_STIMULUS_BYTES // 2**20} MB")
        _need(SIGNATURES[s["media_type"]](raw), f"stimulus {s['key']!r} is not a {s['media_type']} file")
        _need(hashlib.sha256(raw).hexdigest() == s.get("sha256"), f"stimulus {s['key']!r} does not match its SHA-256 (damaged or edited)")
        _need(isinstance(s.get("meta", {}), dict), f"stimulus {s['key']!r} has malformed facts")
        stimuli.append(StimulusFile(s["key"], s["media_type"], raw, s.get("meta", {})))
    keys = [s.key for s in stimuli]
    _need(len(set(keys)) == len(keys), "two stimuli share a key")
    known = set(keys)

    items: list[ItemSpec] = []
    _need(isinstance(doc.get("items"), list) and doc["items"], "the study has no items")
    for n, i in enumerate(doc["items"]):
        _need(isinstance(i, dict), f"item {n} is not an object")
        for key, kind in _ITEM_FIELDS.items():
            _need(isinstance(i.get(key), kind), f"item {i.get('key', n)!r}: {key} is missing or not a {kind.__name__}")
        name = i["key"]
        _need(i["question"] in QUESTIONS, f"item {name!r}: unknown question type {i['question']!r}")
        _need(bool(i["slots"]) and all(isinstance(s, dict) and isinstance(s.get("method"), str) and isinstance(s.get("picture"), str)
                                       for s in i["slots"]), f"item {name!r}: every slot needs a method and a picture")
        if i["question"] == "preference":
            _need(len(i["slots"]) == 2, f"item {name!r}: a preference compares exactly two interpretations")
        refs = [i["input"].get("picture"), i["input"].get("sound")] + [s.get(k) for s in i["slots"] for k in ("picture", "sound")]
        missing = [r for r in refs if r and r not in known]
        _need(not missing, f"item {name!r} refers to stimuli not in the file: {', '.join(map(str, missing))}")
        _need(bool(i["options"]) and all(isinstance(o, list) and len(o) == 2 and isinstance(o[0], int) for o in i["options"]),
              f"item {name!r}: options must be [value, label] pairs")
        values = {o[0] for o in i["options"]}
        expected = i.get("expected")
        if i["attention"]:
            _need(expected in values, f"item {name!r}: the attention check's expected answer is not one of its options")
        kind = i.get("kind") or ("attention" if i["attention"] else "main")  # files of older versions name no kind
        tolerance = i.get("tolerance")
        _need(kind in (("attention", "gold", "trap") if i["attention"] else ("main",)),
              f"item {name!r}: kind {kind!r} does not fit its attention flag")
        _need(tolerance is None or (isinstance(tolerance, int) and not isinstance(tolerance, bool) and 0 <= tolerance <= 4),
              f"item {name!r}: the tolerance is a whole number 0-4")
        items.append(ItemSpec(name, i["question"], i["prompt"], i["input"], i["slots"], i["options"], i["class_name"],
                              i["attention"], expected, kind, tolerance))
    item_keys = [i.key for i in items]
    _need(len(set(item_keys)) == len(item_keys), "two items share a key")
    return StudyContent(study["design"], stimuli, items, study["name"], study["instructions"], study["consent"], study["seed"])


def import_study(store: StudyStore, data: bytes | str | dict[str, Any]) -> str:
    """Validate and store a study file; returns the new study's id."""
    return store.create_study(parse_bundle(data))
