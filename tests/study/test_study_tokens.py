"""Participant tokens (HMAC) and the study lead's password hash: what is accepted, what is refused."""
from __future__ import annotations

import pytest
from study_fixtures import study_env  # noqa: F401  (fixture)

from interp_core.study.config import StudyConfigError, hash_password, lead_password_hash, verify_password
from interp_core.study.errors import InvalidTokenError
from interp_core.study.tokens import make_token, participant_link, verify_token


def test_a_token_verifies_for_its_study_only():
    token = make_token("s1", "0123456789abcdef")
    assert verify_token("s1", token) == "0123456789abcdef"
    with pytest.raises(InvalidTokenError, match="not valid for this study"):
        verify_token("s2", token)  # a foreign token


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


@pytest.mark.parametrize("where", ["code", "tag"])
def test_tampered_tokens_are_refused(where):
    token = make_token("s1", "0123456789abcdef")
    version, code, tag = token.split(".")
    tampered = f"{version}.{'1123456789abcdef' if where == 'code' else code}.{_flip(tag, 5) if where == 'tag' else tag}"
    with pytest.raises(InvalidTokenError, match="not valid"):
        verify_token("s1", tampered)


@pytest.mark.parametrize("token", ["", "v1", "v1.abc.def", "v2.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAA", "x" * 500])
def test_malformed_tokens_are_refused(token):
    with pytest.raises(InvalidTokenError, match="malformed"):
        verify_token("s1", token)


def test_a_token_signed_with_another_key_is_refused(monkeypatch):
    token = make_token("s1", "0123456789abcdef")
    monkeypatch.setenv("INTERP_CORE_STUDY_SECRET", "another-key-0123456789")
    with pytest.raises(InvalidTokenError):
        verify_token("s1", token)


def test_without_a_configured_key_one_is_made_once_and_kept_private(monkeypatch, tmp_path):
    import os
    import stat

    monkeypatch.delenv("INTERP_CORE_STUDY_SECRET")
    monkeypatch.setenv("INTERP_CORE_HOME", str(tmp_path))
    token = make_token("s1")
    assert verify_token("s1", token)
    key_file = tmp_path / "studies" / "token-secret"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_participant_link_carries_study_and_token():
    assert participant_link("s1", "v1.a.b", base="https://lab.example/") == "https://lab.example/study_session?study=s1&token=v1.a.b"


def test_password_hash_is_salted_and_checked():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$") and "correct" not in first
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("wrong horse!", first)
    with pytest.raises(ValueError, match="too short"):
        hash_password("short")
    with pytest.raises(StudyConfigError, match="malformed"):
        verify_password("correct horse", "md5$abc")


def test_a_missing_password_hash_says_how_to_set_one(monkeypatch):
    monkeypatch.delenv("INTERP_CORE_STUDY_PASSWORD_HASH", raising=False)
    with pytest.raises(StudyConfigError, match="hash-password"):
        lead_password_hash({})
    assert lead_password_hash({"password_hash": "scrypt$x"}) == "scrypt$x"
