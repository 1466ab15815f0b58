"""French and English through gettext catalogues and Babel.

Messages: English strings are the msgids; each feature (and the web edge) keeps its French in
``<folder>/translations/fr.po``, a gettext catalogue extracted from its code and templates with
``pybabel`` (docs/CONTRIBUTING.md). The catalogues are compiled in memory when first read
(``babel.messages`` reads the ``.po`` and writes the ``.mo`` into a buffer), so an installed
wheel needs no build step and no ``.mo`` file can go stale. Fuzzy entries are not used.

Placeholders are ``str.format`` style: ``translate("fr", "{count} cases", count=3)``. Plurals:
``translate_plural(locale, "{count} case", "{count} cases", n, count=n)`` (``ngettext`` in
templates); French's plural rule (0 and 1 are singular) comes from the catalogue header.

Numbers, money and dates go through Babel in the reader's locale and the business time zone:
``format_number(8000, "fr")`` → ``8 000``, ``format_money(123456, "fr")`` → ``1 234,56 €``,
``format_datetime(moment, "fr")`` → ``4 décembre 2026 à 15:01``.

Stored text is data: what a feature stores for readers (timeline entries, escalations) is a
message (:func:`message`: an English msgid and its values, nested messages allowed), rendered
with :func:`render_message` in the reader's language when read.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from importlib.resources import files
from string import Formatter
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as _babel_datetime
from babel.dates import format_time as _babel_time
from babel.dates import get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from egards.config import LOCALES
from egards.errors import N_ as N_
from egards.features import FEATURES
from egards.formats import (
    BUSINESS_ZONE,
    _aware,
    babel_locale,
    format_day,
    format_money,
    format_number,
)
from egards.messages import day as day
from egards.messages import error_fields
from egards.messages import error_message as error_message
from egards.messages import listed as listed
from egards.messages import message as message
from egards.messages import message_in as message_in
from egards.messages import money as money
from egards.messages import names as names
from egards.messages import plural_message as plural_message

PARIS = BUSINESS_ZONE  # the name earlier code imports
CATALOGUE_FOLDERS = ("web", *FEATURES)
"""Where catalogues live, in lookup order: a later folder's translation of a msgid wins."""


def C_(context: str, text: str) -> str:
    """Marks a word with its context (``msgctxt``) for extraction: ``C_("case", "new")``, where
    a bare word means different things in different places."""
    return text


def catalogue_path(folder: str, locale: str) -> Any:
    return files("egards") / folder / "translations" / f"{locale}.po"


def compile_catalogue(text: str, locale: str) -> Translations:
    """A ``.po`` text compiled in memory (fuzzy entries left out, as ``pybabel compile``)."""
    catalog = read_po(io.StringIO(text), locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain="egards")


@cache
def translations(locale: str) -> NullTranslations:
    """Every folder's catalogue for ``locale`` merged; English needs none."""
    merged: NullTranslations = NullTranslations()
    if locale == "en":
        return merged
    for folder in CATALOGUE_FOLDERS:
        path = catalogue_path(folder, locale)
        if not path.is_file():
            continue
        compiled = compile_catalogue(path.read_text(encoding="utf-8"), locale)
        if isinstance(merged, Translations):
            merged.merge(compiled)
        else:
            merged = compiled
    return merged


def catalogue(locale: str) -> dict[str, str]:
    """The singular translations for ``locale`` as a mapping (English: empty)."""
    found = getattr(translations(locale), "_catalog", {})
    return {k: v for k, v in found.items() if isinstance(k, str) and k}


def translate(locale: str, text: str, /, **values: object) -> str:
    result = translations(locale).gettext(text) if text else text
    return result.format(**values) if values else result


def translate_context(locale: str, context: str, text: str, /, **values: object) -> str:
    """``pgettext``: ``text`` as meant in ``context`` (``msgctxt``)."""
    # Babel annotates pgettext "str | object"; it returns the text or its translation.
    result = cast(str, translations(locale).pgettext(context, text)) if text else text
    return result.format(**values) if values else result


def translate_plural(
    locale: str, singular: str, plural: str, count: int, /, **values: object
) -> str:
    """``ngettext``: the form of ``count`` in ``locale``, formatted with ``values`` (``count``
    is among them unless given)."""
    result = translations(locale).ngettext(singular, plural, count)
    return result.format(**{"count": format_number(count, locale), **values})


def readable(locale: str, error: Any) -> str:
    """A domain error's message in ``locale``: its template (``N_("case {id} not found")``)
    translated and filled with its context values written the reader's way (see
    :func:`error_values`); a message written without a template is translated as a whole
    when the catalogue knows it, else shown as written."""
    template: str = getattr(error, "template", None) or str(error)
    written: str = getattr(error, "message", None) or str(error)
    context: dict[str, Any] = getattr(error, "context", None) or {}
    if template == written and "{" not in template:
        return translate(locale, written)
    plural: str | None = getattr(error, "plural", None)
    try:
        values = error_values(locale, template, context)
        if plural is not None:  # a plural template: the form of its count (error.count)
            return translate_plural(locale, template, plural, int(error.count), **values)
        return translate(locale, template, **values)
    except (KeyError, IndexError, ValueError, AttributeError):
        return written


def error_values(locale: str, template: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """An error's context values as ``locale`` writes them (see
    :func:`egards.messages.error_fields`): a nested error as its own message in ``locale``, a
    :class:`~egards.errors.Word` as its translated word, money as an amount, other numbers by
    Babel (``8 000``); identifiers, text and values the template formats itself as they are."""
    shown = dict(values)
    for name, value, kind in error_fields(template, values):
        if kind == "error":
            shown[name] = readable(locale, value)
        elif kind == "word":
            shown[name] = translate_context(locale, value.context, value.word)
        elif kind == "money":
            shown[name] = format_money(int(value), locale)
        elif kind == "number":
            shown[name] = format_number(value, locale)
    return shown


def pick_locale(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate in LOCALES:
            return candidate
    return "fr"


def accept_language(header: str | None) -> str | None:
    """The first of our locales an ``Accept-Language`` header asks for (by weight)."""
    if not header:
        return None
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        primary = tag.strip().split("-", 1)[0].casefold()
        if primary in LOCALES and weight > 0:
            wanted.append((-weight, index, primary))
    return min(wanted)[2] if wanted else None


# Numbers, money, dates ---------------------------------------------------------------------


def format_datetime(
    value: datetime | None, locale: str, zone: ZoneInfo = BUSINESS_ZONE, *, with_zone: bool = False
) -> str:
    """``4 décembre 2026 à 15:01`` / ``4 December 2026 at 15:01`` in the business zone; with
    ``with_zone`` (a promised time) the zone follows: ``… (heure de Paris)``."""
    if value is None:
        return ""
    moment = _aware(value).astimezone(zone)
    where = babel_locale(locale)
    day = format_day(moment.date(), locale)
    hours = _babel_time(moment, "HH:mm", tzinfo=zone, locale=where)
    text = translate(locale, "{day} at {time}", day=day, time=hours)
    return f"{text} {zone_label(locale, zone)}" if with_zone else text


def format_short_datetime(
    value: datetime | None, locale: str, zone: ZoneInfo = BUSINESS_ZONE
) -> str:
    """``04/12/2026 15:01``: tables, where space is short."""
    if value is None:
        return ""
    moment = _aware(value)
    return _babel_datetime(moment, "short", tzinfo=zone, locale=babel_locale(locale)).replace(
        ",", ""
    )


def zone_label(locale: str, zone: ZoneInfo = BUSINESS_ZONE) -> str:
    """The zone of a promised time as a reader knows it: ``(heure de Paris)``."""
    city = get_timezone_location(zone, locale=babel_locale(locale), return_city=True)
    return "(" + translate(locale, "{city} time", city=city) + ")"


# Stored messages ---------------------------------------------------------------------------


def render_message(locale: str, stored: Mapping[str, Any] | None, fallback: str = "") -> str:
    """A stored message in ``locale``; ``fallback`` (the stored text of rows written before
    messages were stored) when there is none. Whole numbers among the values are written the
    reader's way (``8 000``); pass identifiers as strings."""
    if not stored or not isinstance(stored, Mapping):
        return fallback
    if "l" in stored:
        written = stored["l"] or {}
        return str(written.get(locale) or written.get("en") or next(iter(written.values()), ""))
    if "t" not in stored:
        return fallback
    text = str(stored["t"])
    # A value the message formats itself ("{parameters!r}", "{share:.0%}") is passed as stored.
    own = {field for _, field, spec, conversion in Formatter().parse(text) if spec or conversion}
    values = {
        name: value if name in own else _value(locale, value)
        for name, value in (stored.get("v") or {}).items()
    }
    count, plural = stored.get("n"), stored.get("p")
    if stored.get("c"):
        return translate_context(locale, str(stored["c"]), text, **values)
    try:
        if count is not None and plural:
            return translate_plural(locale, text, str(plural), int(count), **values)
        return translate(locale, text, **values)
    except (KeyError, IndexError, ValueError):
        return translate(locale, text)


def _value(locale: str, value: Any) -> Any:
    if isinstance(value, Mapping) and "d" in value:
        return format_day(date.fromisoformat(str(value["d"])), locale)
    if isinstance(value, Mapping) and "m" in value:
        return format_money(int(value["m"]), locale, str(value.get("cur") or "EUR"))
    if isinstance(value, Mapping):
        return render_message(locale, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value, locale)
    return value
