"""Stored messages: what a feature stores for readers, as data (an English msgid marked with
``N_`` and its values), rendered in the reader's language when read
(:func:`egards.i18n.render_message`). Building one reads no catalogue, so pure rules (the
loyalty explanation) build them too; :mod:`egards.i18n` re-exports these names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from egards.config import LOCALES
from egards.errors import N_
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
