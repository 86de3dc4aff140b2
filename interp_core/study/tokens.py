"""Participant tokens: ``v1.<participant code>.<HMAC-SHA256 tag>``, signed for one study.

The tag covers the study id, so a token made for one study is refused by every other (a "foreign"
token), and changing any character of the code or tag makes it invalid. Tags are compared in constant
time. The key is :func:`interp_core.study.config.token_secret`.
"""
from __future__ import annotations

import base64
import hmac
import re
import secrets
from hashlib import sha256
from urllib.parse import urlencode

from interp_core.study.config import base_url, token_secret
from interp_core.study.errors import InvalidTokenError

_VERSION = "v1"
_CODE = re.compile(r"^[0-9a-f]{16}$")
_TAG_CHARS = 22  # 128 bits of the tag, base64url without padding


def sign(study_id: str, text: str, secret: bytes | None = None) -> str:
    """The 22-character tag of ``text`` for ``study_id`` (HMAC-SHA256, base64url, 128 bits)."""
    mac = hmac.new(secret or token_secret(), f"{_VERSION}|{study_id}|{text}".encode(), sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()[:_TAG_CHARS]


def make_token(study_id: str, code: str | None = None, secret: bytes | None = None) -> str:
    """A token for a new participant (random code) or for ``code``."""
    code = code or secrets.token_hex(8)
    if not _CODE.match(code):
        raise ValueError("A participant code is 16 lowercase hex digits.")
    return f"{_VERSION}.{code}.{sign(study_id, code, secret)}"


def verify_token(study_id: str, token: str, secret: bytes | None = None) -> str:
    """The participant code inside ``token`` if this server signed it for ``study_id``; else
    :class:`InvalidTokenError`."""
    parts = (token or "").strip().split(".")
    if len(parts) != 3 or parts[0] != _VERSION or not _CODE.match(parts[1]) or len(parts[2]) != _TAG_CHARS:
        raise InvalidTokenError("This participant link is incomplete or malformed. Open the exact link you were sent.")
    if not hmac.compare_digest(parts[2], sign(study_id, parts[1], secret)):
        raise InvalidTokenError("This participant link is not valid for this study (it was changed or belongs to "
                                "another study). Open the exact link you were sent.")
    return parts[1]


def participant_link(study_id: str, token: str, base: str | None = None) -> str:
    """The URL a participant opens: the session page with the study and the token as query parameters."""
    return f"{(base or base_url()).rstrip('/')}/study_session?{urlencode({'study': study_id, 'token': token})}"
