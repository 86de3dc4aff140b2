"""Recruitment through a platform: one link for a whole study on Prolific or Amazon Mechanical Turk.

The platform opens the link with its own participant ids as URL parameters (Prolific: ``PROLIFIC_PID``,
``STUDY_ID``, ``SESSION_ID``; MTurk: ``workerId``, ``assignmentId``, ``hitId``). They are validated
(:func:`platform_identity`) and stored with the participant, visible only to the study lead. The
participant's code in this tool is an HMAC of the study and the platform's participant id, so the same
person coming back gets the same code and resumes their own session instead of starting a second one.

The link carries an entry tag signed for the study and platform (:func:`entry_tag`), so a study takes
platform participants only while the lead keeps its platform link open. At the end the participant sees
the study's completion code (or, when screened out, a different code) and is sent on to the platform's
completion URL when the lead gave one (``{code}`` in it is replaced by the code).
"""
from __future__ import annotations

import hmac
import re
from dataclasses import asdict, dataclass
from hashlib import sha256
from typing import Any, Mapping
from urllib.parse import quote, urlencode, urlsplit

from interp_core.study.config import base_url, token_secret
from interp_core.study.errors import DesignError, InvalidTokenError
from interp_core.study.tokens import sign

#: The URL parameters each platform passes, the first naming the participant.
PLATFORM_PARAMS: dict[str, tuple[str, ...]] = {
    "prolific": ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"),
    "mturk": ("workerId", "assignmentId", "hitId"),
}
# Prolific ids are 24 hexadecimal digits (MongoDB object ids); MTurk ids are upper-case letters and digits.
_ID_PATTERNS = {"prolific": re.compile(r"^[0-9a-fA-F]{24}$"), "mturk": re.compile(r"^[A-Z0-9]{8,64}$")}
#: Where Prolific sends a finished participant (the lead pastes the study's own URL; ``{code}`` is filled in).
PROLIFIC_COMPLETION_URL = "https://app.prolific.com/submissions/complete?cc={code}"
_CODE_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class StudyFullError(InvalidTokenError):
    """The study's cap on participants is reached; a returning participant still gets in."""


@dataclass(frozen=True)
class Recruitment:
    """The platform link of a study. ``cap``: most participants (screened-out ones do not count; 0: no
    cap); codes shown at the end; optional URLs the participant is sent to (``{code}`` filled in)."""

    platform: str
    completion_code: str
    screened_out_code: str = ""
    cap: int = 0
    completion_url: str = ""
    screened_out_url: str = ""
    open: bool = True  # closed: no newcomers, while those who started still finish and get their code

    def validate(self) -> None:
        if self.platform not in PLATFORM_PARAMS:
            raise DesignError(f"Platform must be one of {', '.join(PLATFORM_PARAMS)}; got {self.platform!r}.")
        if not _CODE_CHARS.match(self.completion_code):
            raise DesignError("The completion code is 1-64 letters, digits, '-' or '_'.")
        if self.screened_out_code and (not _CODE_CHARS.match(self.screened_out_code) or self.screened_out_code == self.completion_code):
            raise DesignError("The screened-out code is 1-64 letters, digits, '-' or '_', and differs from the completion code.")
        if self.cap < 0:
            raise DesignError("The cap on participants is 0 (none) or more.")
        for url in (self.completion_url, self.screened_out_url):
            if url and urlsplit(url).scheme not in ("http", "https"):
                raise DesignError(f"A redirect URL must start with http:// or https://; got {url!r}.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Recruitment | None":
        if not data:
            return None
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise DesignError(f"Unknown recruitment field(s): {', '.join(sorted(unknown))}.")
        try:
            recruitment = cls(**{k: (int(v) if k == "cap" else bool(v) if k == "open" else str(v)) for k, v in data.items()})
        except (TypeError, ValueError) as err:
            raise DesignError(f"The recruitment settings are malformed: {err}") from None
        recruitment.validate()
        return recruitment

    def redirect(self, screened_out: bool) -> str:
        """The URL to send a finished (or screened-out) participant to, with the code filled in; '' for none."""
        url = self.screened_out_url if screened_out else self.completion_url
        return url.replace("{code}", quote(self.code(screened_out), safe="")) if url else ""

    def code(self, screened_out: bool) -> str:
        return (self.screened_out_code or "") if screened_out else self.completion_code


@dataclass(frozen=True)
class PlatformIdentity:
    platform: str
    participant: str  # the platform's participant id (PROLIFIC_PID, workerId)
    ids: dict[str, str]  # every id the platform passed, by parameter name


def platform_identity(platform: str, params: Mapping[str, str]) -> PlatformIdentity:
    """The validated ids of a platform link's URL parameters; :class:`InvalidTokenError` (with a message
    for the participant) when one is missing or malformed."""
    names = PLATFORM_PARAMS[platform]
    if platform == "mturk" and params.get("assignmentId") == "ASSIGNMENT_ID_NOT_AVAILABLE":
        raise InvalidTokenError("This is a preview: accept the HIT first, then the study starts here.")
    ids = {}
    for name in names:
        value = str(params.get(name, "") or "").strip()
        if not _ID_PATTERNS[platform].match(value):
            raise InvalidTokenError(f"The link lacks a valid {name}. Open the study from the {platform.title()} page again; "
                                    "if it keeps happening, contact the researcher.")
        ids[name] = value
    return PlatformIdentity(platform, ids[names[0]], ids)


def platform_code(study_id: str, platform: str, participant: str, secret: bytes | None = None) -> str:
    """This tool's participant code for a platform participant: 16 hex digits, the same on every visit."""
    return hmac.new(secret or token_secret(), f"platform|{study_id}|{platform}|{participant}".encode(), sha256).hexdigest()[:16]


def entry_tag(study_id: str, platform: str, secret: bytes | None = None) -> str:
    """The signed tag of a study's platform link (participant codes are hex, so the two never collide)."""
    return sign(study_id, f"entry:{platform}", secret)


def verify_entry(study_id: str, platform: str, tag: str, secret: bytes | None = None) -> None:
    if not hmac.compare_digest(str(tag or ""), entry_tag(study_id, platform, secret)):
        raise InvalidTokenError("This study link is not valid (it was changed or belongs to another study). Open the link from "
                                "the recruitment page again.")


def platform_link(study_id: str, platform: str, base: str | None = None) -> str:
    """The one link to paste into the platform. Prolific fills in its ``{{%...%}}`` placeholders; MTurk
    appends ``workerId``, ``assignmentId`` and ``hitId`` to an external question's URL by itself."""
    query = urlencode({"study": study_id, "entry": entry_tag(study_id, platform)})
    if platform == "prolific":
        query += "".join(f"&{name}={{{{%{name}%}}}}" for name in PLATFORM_PARAMS["prolific"])
    return f"{(base or base_url()).rstrip('/')}/study_session?{query}"
