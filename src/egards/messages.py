"""Stored messages: what a feature stores for readers, as data (an English msgid marked with
``N_`` and its values), rendered in the reader's language when read
(:func:`egards.i18n.render_message`). Building one reads no catalogue, so pure rules (the
loyalty explanation) build them too; :mod:`egards.i18n` re-exports these names."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any, Literal

from egards.config import LOCALES
from egards.errors import N_, DomainError, Word
from egards.formats import BUSINESS_ZONE, _aware


def message(msgid: str, /, **values: Any) -> dict[str, Any]:
    """A message to store and render later: its English msgid (mark it with ``N_`` where the
    text is written) and its values, which may be messages too (a code shown as a word:
    ``message(channel)``), names in each language (:func:`names`) or money (:func:`money`)."""
    return {"t": msgid, "v": values} if values else {"t": msgid}


def message_in(context: str, msgid: str, /, **values: Any) -> dict[str, Any]:
    """:func:`message` of a word meant in ``context`` (``msgctxt``; marked with ``C_``)."""
    return {**message(msgid, **values), "c": context}


def names(by_language: Mapping[str, str] | Any) -> dict[str, Any]:
    """A name the data gives in each language (a programme's, a tier's: ``{"fr": ..., "en":
    ...}``, or an object with such ``fr``/``en`` attributes) as a stored message value."""
    if not isinstance(by_language, Mapping):
        by_language = {code: getattr(by_language, code, None) for code in LOCALES}
    return {"l": {code: text for code, text in by_language.items() if text}}


def money(cents: int, currency: str = "EUR") -> dict[str, Any]:
    """An amount of money as a stored message value, written the reader's way when read."""
    return {"m": int(cents), "cur": currency}


def day(value: date | datetime) -> dict[str, Any]:
    """A day as a stored message value, written the reader's way when read (``4 décembre
    2026``); a moment is taken in the business time zone."""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(BUSINESS_ZONE).date()
    return {"d": value.isoformat()}


def plural_message(singular: str, plural: str, count: int, **values: Any) -> dict[str, Any]:
    """A stored message with plural forms, chosen by ``count`` when rendered."""
    return {"t": singular, "p": plural, "n": count, "v": {"count": count, **values}}


def listed(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stored messages shown as one list when read: "offer, price" / "offre, prix" (an
    empty list reads as nothing)."""
    if not items:
        return message("")
    joined = items[-1]
    for item in reversed(items[:-1]):
        joined = message(N_("{first}, {rest}"), first=item, rest=joined)
    return joined


# How an error's context value is written for a reader (:func:`error_fields`).
ValueKind = Literal["error", "word", "money", "number", "own", "as_is"]
_IDENTIFIERS = frozenset({"id", "number", "seq", "line", "lineno", "year", "code", "case", "port"})


def error_fields(template: str, values: Mapping[str, Any]) -> Iterator[tuple[str, Any, ValueKind]]:
    """The context values an error's ``template`` names, each with how a reader sees it: a
    nested domain error (``error``: its own message), a :class:`~egards.errors.Word` (a status
    code read as a word), money (a ``..._cents`` value, unless the message itself says
    "cents"), a number written the reader's way (``8 000``), a value the template formats
    itself (``own``: ``{value!r}``, ``{risk:.0%}``), or ``as_is``: identifiers (``id``,
    ``..._id``, ``number``, a year, a line) and text."""
    seen: set[str] = set()
    for _, field, spec, conversion in string.Formatter().parse(template):
        name = re.split(r"[.\[]", field or "", maxsplit=1)[0]
        if not name or name not in values or name in seen:
            continue
        seen.add(name)
        value = values[name]
        if spec or conversion:
            yield name, value, "own"
        elif isinstance(value, DomainError):
            yield name, value, "error"
        elif isinstance(value, Word):
            yield name, value, "word"
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or name in _IDENTIFIERS
            or name.endswith(("_id", "_number", "_year", "_seq"))
        ):
            yield name, value, "as_is"
        elif name.endswith("cents") and f"{{{field}}} cents" not in template:
            yield name, value, "money"
        else:
            yield name, value, "number"


def error_message(error: DomainError) -> dict[str, Any]:
    """A domain error as a stored message, for a reason kept beside data (a scoring run's
    "skipped" notes) that must read in the reader's language later, as the error itself does
    at the web edge: its template and the values it names (a nested error becomes a message
    in turn). A message written without a template is kept whole."""
    if not error.context or "{" not in error.template:
        return message(error.template)
    values: dict[str, Any] = {}
    for name, value, kind in error_fields(error.template, error.context):
        if kind == "error":
            values[name] = error_message(value)
        elif kind == "word":
            values[name] = message_in(value.context, value.word)
        elif kind == "money":
            values[name] = money(int(value))
        elif kind == "number" or isinstance(value, str | bool | None):
            values[name] = value
        elif kind == "own" and isinstance(value, int | float):
            values[name] = value  # render_message passes it to the template's own format
        else:
            values[name] = str(value)  # an identifier stays "1234", never "1 234"
    return message(error.template, **values)


def failure(exc: BaseException, code: str) -> tuple[str, dict[str, Any]]:
    """Why a run failed, as data to store: a domain error's own code and message; anything
    else ``code``, with the exception's text as the cause (it has no words in any catalogue):
    "failed: RuntimeError: disk full" / "échec : RuntimeError: disk full"."""
    if isinstance(exc, DomainError):
        return exc.code, error_message(exc)
    return code, message(N_("failed: {cause}"), cause=f"{type(exc).__name__}: {exc}"[:4000])
