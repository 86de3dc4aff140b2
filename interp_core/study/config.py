"""Where studies are stored and the two secrets of a study lead: the token key and the results password.

Everything comes from configuration, never from code:

* ``INTERP_CORE_STUDY_URL``: any SQLAlchemy URL (``postgresql+psycopg://user:pw@host/db``); default a
  SQLite file ``<cache folder>/studies/studies.db``.
* ``INTERP_CORE_STUDY_SECRET``: the key that signs participant tokens (HMAC-SHA256). Without it, a random
  key is made once and kept in ``<cache folder>/studies/token-secret`` (mode 0600), so the CLI that makes
  links and the dashboard that checks them agree on one machine.
* ``INTERP_CORE_STUDY_PASSWORD_HASH``: the study lead's password as a salted scrypt hash (made by
  ``python -m interp_core study hash-password``), or ``[study] password_hash`` in Streamlit's
  ``secrets.toml``. The password itself is never stored.
* ``INTERP_CORE_STUDY_BASE_URL``: where participants reach the dashboard (for links); default
  ``http://localhost:8501``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from interp_core.paths import cache_subdir

URL_ENV = "INTERP_CORE_STUDY_URL"
SECRET_ENV = "INTERP_CORE_STUDY_SECRET"
PASSWORD_HASH_ENV = "INTERP_CORE_STUDY_PASSWORD_HASH"
BASE_URL_ENV = "INTERP_CORE_STUDY_BASE_URL"

# scrypt cost: 16 MiB of memory and ~50 ms per check, the interactive-login setting of RFC 7914.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_MIN_PASSWORD_LENGTH = 8


class StudyConfigError(RuntimeError):
    """Something a study needs is not configured; the message says which variable to set."""


def studies_dir() -> Path:
    return cache_subdir("studies")


def database_url(url: str | None = None) -> str:
    """``url``, else ``$INTERP_CORE_STUDY_URL``, else the default SQLite file under the cache folder."""
    return url or os.environ.get(URL_ENV) or f"sqlite:///{studies_dir() / 'studies.db'}"


def base_url() -> str:
    return os.environ.get(BASE_URL_ENV, "http://localhost:8501").rstrip("/")


def token_secret() -> bytes:
    """The token key: ``$INTERP_CORE_STUDY_SECRET`` or the machine's key file (created on first use)."""
    configured = os.environ.get(SECRET_ENV)
    if configured:
        if len(configured) < 16:
            raise StudyConfigError(f"{SECRET_ENV} is too short: use at least 16 characters (e.g. 32 random hex digits).")
        return configured.encode()
    path = studies_dir() / "token-secret"
    try:
        # O_EXCL: two processes starting at once never write two different keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise StudyConfigError(f"The token key file {path} is damaged; delete it (all links change) or set {SECRET_ENV}.")
        return key
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_hex(32).encode())
        f.flush()
        os.fsync(f.fileno())
    return path.read_bytes().strip()


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$<salt>$<hash>`` (base64) of ``password`` with a fresh 16-byte salt."""
    if len(password) < _MIN_PASSWORD_LENGTH:
        raise ValueError(f"The password is too short: use at least {_MIN_PASSWORD_LENGTH} characters.")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.strip().split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        expected = base64.b64decode(digest, validate=True)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt, validate=True), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        raise StudyConfigError("The configured study password hash is malformed; make a new one with "
                               "`python -m interp_core study hash-password`.") from None
    return hmac.compare_digest(got, expected)


def lead_password_hash(secrets_section: dict | None = None) -> str:
    """The configured hash: ``$INTERP_CORE_STUDY_PASSWORD_HASH``, else ``password_hash`` of the ``[study]``
    section of Streamlit secrets (passed in by the page). Raises :class:`StudyConfigError` when neither is set."""
    configured = os.environ.get(PASSWORD_HASH_ENV) or (secrets_section or {}).get("password_hash")
    if not configured:
        raise StudyConfigError(f"No study password is configured. Run `python -m interp_core study hash-password` and "
                               f"put the hash in {PASSWORD_HASH_ENV} or in secrets.toml as [study] password_hash.")
    return configured
