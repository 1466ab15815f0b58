"""Typed domain errors. No HTTP here: ``web/problems.py`` maps them once to RFC 9457."""

from __future__ import annotations

from typing import Any


def N_(text: str) -> str:
    """Marks a string for extraction where it is defined (an error's message template, a label
    table, a stored message); it is translated later, where it is shown. Defined here, the
    lowest layer, so that the purest modules can mark their messages too."""
    return text


class Word(str):
    """A code an error names (a status: ``ended``) that a reader sees as a word: the value
    stays the code (problem details carry it as such), messages write the English ``word``,
    and the web edge translates it in ``context`` (a ``msgctxt``; mark the word with
    ``C_(context, word)`` where it is listed)."""

    word: str
    context: str

    def __new__(cls, code: object, word: str, context: str) -> Word:
        self = super().__new__(cls, str(getattr(code, "value", code)))
        self.word = word
        self.context = context
        return self

    def __format__(self, format_spec: str) -> str:
        return format(self.word, format_spec)


class DomainError(Exception):
    """A rule refused a request. ``code`` is stable; ``context`` names fields and values.

    ``message`` is English. Written as a template over the context values
    (``NotFound(N_("case {id} not found"), id=7)``), it is also the msgid the web edge
    translates into the reader's language (``template``); an already formatted message is
    shown as written."""

    code = "domain_error"
    status = 400
    title = "The request breaks a rule"

    def __init__(self, message: str, *, field: str | None = None, **context: Any) -> None:
        self.template = message
        if context and "{" in message:
            try:
                message = message.format(**context)
            except (KeyError, IndexError, ValueError):
                self.template = message
        super().__init__(message)
        self.message = message
        self.field = field
        self.context = context


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict with the current state"


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422
    title = "Invalid input"


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    title = "Not allowed"


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401
    title = "Authentication required"
