"""What can go wrong in a study, each with a message meant for the person who caused it.

All are ``ValueError`` subclasses, so the CLI prints them as one line and pages show them as messages.
"""
from __future__ import annotations


class StudyError(ValueError):
    """Base of every study error."""


class UnknownStudyError(StudyError):
    """No study with this id in the database."""


class InvalidTokenError(StudyError):
    """A participant token that this server did not sign for this study (tampered, foreign or malformed)."""


class StudyClosedError(StudyError):
    """The study lead closed the study: no new answers."""


class AnswerError(StudyError):
    """An answer that cannot be stored: out of range, not the current item, before consent, sound not played."""


class DuplicateAnswerError(AnswerError):
    """This part of this item was answered already (a replayed or repeated submission); the first answer stays."""


class DesignError(StudyError):
    """A study design that cannot be built; the message names the field."""


class BundleError(StudyError):
    """A study file that fails validation; nothing was imported."""
