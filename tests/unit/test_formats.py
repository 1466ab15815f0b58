"""Numbers, money and dates through Babel, in both languages and the business time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from egards.formats import format_day, format_money, format_number, format_percentage
from egards.i18n import format_datetime, format_short_datetime, zone_label

NNBSP, NBSP = "\u202f", "\u00a0"
WINTER = datetime(2026, 12, 4, 14, 1, tzinfo=UTC)  # 15:01 in Paris
SUMMER = datetime(2026, 7, 1, 7, 5, tzinfo=UTC)  # 09:05 in Paris


def test_numbers_group_thousands_the_reader_way():
    assert format_number(8000, "fr") == f"8{NNBSP}000"
    assert format_number(8000, "en") == "8,000"
    assert format_number(1234567, "fr") == f"1{NNBSP}234{NNBSP}567"
    assert format_number(None, "fr") == ""


def test_money_in_integer_cents_shows_cents_only_when_there_are_some():
    assert format_money(123456, "fr") == f"1{NNBSP}234,56{NBSP}€"
    assert format_money(123456, "en") == "€1,234.56"
    assert format_money(840000, "fr") == f"8{NNBSP}400{NBSP}€"
    assert format_money(840000, "en") == "€8,400"
    assert format_money(-6900, "fr") == f"-69{NBSP}€"


def test_percentages():
    assert (
        format_percentage(0.256, "fr") == f"26{NNBSP}%"
        or format_percentage(0.256, "fr") == f"26{NBSP}%"
    )
    assert format_percentage(0.256, "en") == "26%"


def test_dates_and_times_are_in_the_business_zone():
    assert format_datetime(WINTER, "fr") == "4 décembre 2026 à 15:01"
    assert format_datetime(WINTER, "en") == "4 December 2026 at 15:01"
    assert format_datetime(SUMMER, "fr") == "1er juillet 2026 à 09:05"
    assert format_short_datetime(WINTER, "fr") == "04/12/2026 15:01"
    assert format_day(date(2026, 8, 1), "fr") == "1er août 2026"
    assert format_day(date(2026, 8, 21), "fr") == "21 août 2026"
    assert format_day(date(2026, 2, 1), "en") == "1 February 2026"


def test_a_promised_time_shows_its_zone():
    assert (
        format_datetime(WINTER, "fr", with_zone=True) == "4 décembre 2026 à 15:01 (heure de Paris)"
    )
    assert format_datetime(WINTER, "en", with_zone=True) == "4 December 2026 at 15:01 (Paris time)"
    toronto = ZoneInfo("America/Toronto")
    assert format_datetime(WINTER, "en", toronto, with_zone=True) == (
        "4 December 2026 at 09:01 (Toronto time)"
    )
    assert zone_label("fr", toronto) == "(heure de Toronto)"
