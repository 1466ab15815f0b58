"""Numbers, money and dates in a reader's language through Babel (the CLDR data it ships):
pure functions over plain values, for domain modules too. Messages are in ``egards.i18n``."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_currency, format_decimal, format_percent

BUSINESS_ZONE = ZoneInfo("Europe/Paris")
"""Where the business keeps its hours: dates and promised times are shown there."""
_BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def babel_locale(locale: str) -> Locale:
    return Locale.parse(_BABEL_LOCALES.get(locale, locale))


def format_number(value: float | int | None, locale: str) -> str:
    """``8 000`` / ``8,000`` (French groups with a narrow no-break space)."""
    if value is None:
        return ""
    if type(value) is int:  # a bulk path writes thousands of messages with the same few
        return _whole_number(value, locale)
    return format_decimal(value, locale=babel_locale(locale))


@lru_cache(maxsize=4096)
def _whole_number(value: int, locale: str) -> str:
    return format_decimal(value, locale=babel_locale(locale))


def format_money(cents: int | None, locale: str, currency: str = "EUR") -> str:
    """Integer cents as money: ``1 234,56 €`` / ``€1,234.56``; whole amounts without their
    zero cents (``8 400 €``)."""
    if cents is None:
        return ""
    where = babel_locale(locale)
    pattern = where.currency_formats["standard"].pattern
    if cents % 100 == 0:
        pattern = pattern.replace(".00", "")
    return format_currency(
        cents / 100, currency, format=pattern, locale=where, currency_digits=False
    )


def format_percentage(value: float | None, locale: str, digits: int = 0) -> str:
    """``0.256`` → ``26 %`` / ``26%`` (the locale's pattern, ``digits`` decimals)."""
    if value is None:
        return ""
    where = babel_locale(locale)
    pattern = where.percent_formats[None].pattern
    if digits:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * digits)
    return format_percent(value, format=pattern, locale=where)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))


def format_day(value: date | datetime | None, locale: str, zone: ZoneInfo = BUSINESS_ZONE) -> str:
    """``4 décembre 2026`` / ``4 December 2026``; French writes the first ``1er``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(zone).date()
    return _first(_babel_date(value, "long", locale=babel_locale(locale)), value, locale)


def format_day_month(value: date, locale: str) -> str:
    """``mercredi 1er juillet`` / ``Wednesday 1 July``."""
    return _first(_babel_date(value, "EEEE d MMMM", locale=babel_locale(locale)), value, locale)


def format_pattern(value: datetime, pattern: str, locale: str) -> str:
    """``value`` in its own zone (UTC when naive) written with a CLDR ``pattern``, which a
    catalogue gives per language; French writes the first of the month ``1er``."""
    return _first(
        _babel_datetime(value, pattern, locale=babel_locale(locale)), value.date(), locale
    )


def _first(text: str, value: date, locale: str) -> str:
    if locale == "fr" and value.day == 1:
        return re.sub(r"(?<!\d)1 ", "1er ", text, count=1)
    return text
