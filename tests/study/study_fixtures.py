"""Shared pieces of the study tests: synthetic studies (no model needed), databases, the PostgreSQL switch.

PostgreSQL tests read ``INTERP_CORE_TEST_POSTGRES_URL``; without it they are skipped, unless
``INTERP_CORE_REQUIRE_POSTGRES=1`` (set by ``.ci/run``, which starts a throw-away server) makes that a failure.
"""
from __future__ import annotations

import io
import os

import numpy as np
import pytest

from interp_core.study.design import RATING_SCALE, ItemSpec, StimulusFile, StudyContent

SECRET = "test-secret-0123456789abcdef"


def png(seed: int = 0) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def wav(seconds: float = 0.3, rate: int = 8000) -> bytes:
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, (0.2 * np.sin(np.arange(int(seconds * rate)) / 5)).astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _slot(method: str, picture: str, sound: str | None = None, explained: int = 0) -> dict:
    return {"method": method, "model": "toy", "fingerprint": "f" * 12, "picture": picture, "sound": sound,
            "explained": explained, "explained_name": f"class {explained}"}


def synthetic_study(inputs: int = 3, methods: tuple[str, ...] = ("alpha", "beta", "gamma"), attention: bool = True,
                    simulation: bool = False, preference: bool = False, sound: bool = False, design: dict | None = None,
                    gold: tuple[tuple[int, int], ...] = (), traps: tuple[int, ...] = (), headphone: bool = False,
                    recruitment: dict | None = None) -> StudyContent:
    """Rating items (one per input, every method), optional simulation/preference items and one attention
    check expecting 2; pictures are tiny random PNGs, sounds 0.3 s WAVs. Crowdsourcing extras: ``design``
    fields (assignment, items_per_participant, quality), gold items ``(expected, tolerance)`` on input 0's
    first method, trapping items expecting each of ``traps``, the headphone check's stimuli, a platform link."""
    stimuli, items = [], []
    scale = [list(v) for v in RATING_SCALE]
    for n in range(inputs):
        stimuli.append(StimulusFile(f"in{n}.png", "image/png", png(n)))
        if sound:
            stimuli.append(StimulusFile(f"in{n}.wav", "audio/wav", wav(), {"seconds": 0.3}))
        slots = []
        for m, method in enumerate(methods):
            stimuli.append(StimulusFile(f"in{n}-{m}.png", "image/png", png(100 * n + m)))
            slots.append(_slot(method, f"in{n}-{m}.png", explained=n % 3))
        source = {"picture": f"in{n}.png", "sound": f"in{n}.wav" if sound else None, "source": f"toy #{n}", "stimulus": f"in{n}"}
        items.append(ItemSpec(f"rating-{n}", "rating", "Rate each.", source, slots, scale, f"class {n % 2}"))
        if simulation:
            items.append(ItemSpec(f"simulation-{n}", "simulation", "Which class?", {"picture": None, "sound": None, "source": "",
                                                                                   "stimulus": f"in{n}"},
                                  [slots[0]], [[0, "class 0"], [1, "class 1"], [2, "class 2"]], f"class {n % 2}"))
        if preference:
            items.append(ItemSpec(f"preference-{n}", "preference", "Which is better?", source, slots[:2], [[0, "first"], [1, "second"]],
                                  f"class {n % 2}"))
    if attention:
        items.append(ItemSpec("attention-0", "rating", "Attention check: please choose 2 (poor) for this picture.",
                              {"picture": None, "sound": None, "source": ""}, [_slot("attention-check", "in0.png") | {"model": ""}],
                              scale, "class 0", attention=True, expected=2))
    for n, (expected, tolerance) in enumerate(gold):
        items.append(ItemSpec(f"gold-{n}", "rating", "Rate each.", {"picture": "in0.png", "sound": None, "source": "toy #0",
                                                                  "stimulus": "in0"},
                              [_slot(methods[0], "in0-0.png")], scale, "class 0", attention=True, expected=expected, kind="gold",
                              tolerance=tolerance))
    for n, expected in enumerate(traps):
        items.append(ItemSpec(f"trap-{n}", "rating", "Rate each.", {"picture": "in0.png", "sound": None, "source": "toy #0",
                                                                  "stimulus": "in0"},
                              [_slot("trap", "in0.png") | {"model": ""}], scale, "class 0", attention=True, expected=expected,
                              kind="trap"))
    if headphone:
        from interp_core.study.headphone import headphone_stimuli

        stimuli += headphone_stimuli(7)
    return StudyContent({"name": "toy", "items_per_participant": 0, **(design or {})}, stimuli, items, "Toy study",
                        "Rate the pictures.", "I agree to take part.", 7, recruitment)


def run_cli(capsys, *argv) -> tuple[int, dict | str]:
    """``python -m interp_core ARGV`` in this process: exit code and the printed JSON (or the text)."""
    import json

    from interp_core.cli.main import main

    code = main(list(argv))
    out = capsys.readouterr()
    try:
        return code, json.loads(out.out)
    except ValueError:
        return code, out.out + out.err


def postgres_url() -> str:
    url = os.environ.get("INTERP_CORE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("INTERP_CORE_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (INTERP_CORE_REQUIRE_POSTGRES=1) but INTERP_CORE_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server (set INTERP_CORE_TEST_POSTGRES_URL; .ci/run starts one)")
    return url


def reset_postgres(url: str) -> None:
    """Empty the test database: drop and recreate its public schema."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    except Exception as err:
        if os.environ.get("INTERP_CORE_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL at INTERP_CORE_TEST_POSTGRES_URL not reachable: {err}")
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def study_env(monkeypatch, tmp_path):
    """Every study test signs tokens with a fixed key and never touches the user's study database."""
    monkeypatch.setenv("INTERP_CORE_STUDY_SECRET", SECRET)
    monkeypatch.setenv("INTERP_CORE_STUDY_URL", f"sqlite:///{tmp_path / 'studies.db'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """A freshly migrated store on SQLite and on PostgreSQL (skipped without a server)."""
    from interp_core.study.storage import StudyStore

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = postgres_url()
        reset_postgres(url)
    store = StudyStore(url)
    store.migrate()
    yield store
    store.dispose()
