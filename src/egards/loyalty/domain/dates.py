"""Calendar helpers, points rounding and tier positions shared by the loyalty rules."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Decimal,
)
from functools import lru_cache

from egards.formats import format_day as _format_day
from egards.formats import format_number as _format_number
from egards.loyalty.programme import (
    Programme,
    Rounding,
)

_ROUNDING = {
    Rounding.FLOOR: ROUND_FLOOR,
    Rounding.CEILING: ROUND_CEILING,
    Rounding.DOWN: ROUND_DOWN,
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.HALF_DOWN: ROUND_HALF_DOWN,
    Rounding.HALF_EVEN: ROUND_HALF_EVEN,
}


# --- calendar helpers -----------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of shorter months (31 Jan + 1 = 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def end_of_month(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def round_points(value: Decimal, rounding: Rounding) -> int:
    """A decimal number of points as an integer, by the programme's stated rounding."""
    return int(value.quantize(Decimal(1), rounding=_ROUNDING[rounding]))


# Tier positions by code, per programme object (programmes are frozen): batch paths look a
# tier up several times per activity and per member.
_TIER_INDEXES: dict[int, tuple[Programme, dict[str, int]]] = {}


def _tier_index(programme: Programme, code: str) -> int:
    known = _TIER_INDEXES.get(id(programme))
    if known is None or known[0] is not programme:
        known = (programme, {tier.code: i for i, tier in enumerate(programme.tiers)})
        _TIER_INDEXES[id(programme)] = known
    index = known[1].get(code)
    return programme.tier_index(code) if index is None else index  # unknown: its own error


# Babel takes a quarter of a millisecond per number (the locale's pattern read again each
# time): the tier events of a batch write the same thresholds and days over and over. The
# caches are typed, so that 1.0 and True do not take 1's place.
@lru_cache(maxsize=20_000, typed=True)
def format_date(day: date | None, lang: str = "en") -> str:
    """``12 March 2025`` / ``1er mars 2025`` (Babel); nothing for no date."""
    return _format_day(day, lang)


@lru_cache(maxsize=20_000, typed=True)
def format_number(value: int, lang: str = "en") -> str:
    """``12,450`` / ``12 450`` (Babel: a narrow no-break space in French)."""
    return _format_number(value, lang)
