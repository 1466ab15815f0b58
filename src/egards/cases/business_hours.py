"""Business-hours calendars and business time.

A response promise ("we answer within 8 business hours") is counted only while the support
is open. The rules, in one place:

- A calendar opens in weekly intervals of local wall-clock time, several per day if needed
  (``09:00-12:30`` and ``13:30-18:00``), half-open: open at 09:00, closed at 18:00.
- An interval may end at ``24:00``. One that crosses midnight (``22:00-06:00`` on Friday) is
  split at midnight and its morning part belongs to the next day, so a holiday on Saturday
  closes Saturday 00:00-06:00.
- Public holidays (from the ``holidays`` package, country and optional subdivision) and
  extra closed dates close the whole local date.
- Business time is real elapsed time inside the intervals. A ``00:00-24:00`` day lasts 23 h
  on the spring daylight-saving change and 25 h in autumn. A wall-clock time skipped by the
  spring change stands for the instant of the change; a repeated autumn time for its first
  occurrence.

Every instant given or returned is a timezone-aware datetime; results are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from egards.cases.errors import CalendarError
from egards.i18n import N_

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
# Far enough for any promise; a calendar that stays closed longer than this is a mistake.
HORIZON_DAYS = 366 * 5

Interval = tuple[int, int]
"""Minutes since local midnight, ``0 <= start < end <= 1440``."""

Span = tuple[datetime, datetime]
"""One opening, as UTC instants."""


def parse_interval(text: str) -> tuple[Interval, Interval | None]:
    """Read ``"HH:MM-HH:MM"``; return the part on the day and the part after midnight, if any.

    ``"09:00-18:00"`` gives ``((540, 1080), None)``; ``"22:00-06:00"`` gives
    ``((1320, 1440), (0, 360))``; ``"00:00-24:00"`` is the whole day.
    """
    try:
        start_text, end_text = (part.strip() for part in text.split("-"))
        start, end = _parse_clock(start_text), _parse_clock(end_text)
    except ValueError:
        raise CalendarError(
            N_("opening interval {text!r} is not of the form HH:MM-HH:MM"), text=text, interval=text
        ) from None
    if start == MINUTES_PER_DAY:
        raise CalendarError(
            N_("opening interval {text!r} cannot start at 24:00"), text=text, interval=text
        )
    if start == end:
        raise CalendarError(N_("opening interval {text!r} is empty"), text=text, interval=text)
    if end > start:
        return (start, end), None
    return (start, MINUTES_PER_DAY), ((0, end) if end else None)


def _parse_clock(text: str) -> int:
    hours, minutes = text.split(":")
    if len(minutes) != 2 or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(text)
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_PER_DAY:
        raise ValueError(text)
    return value


def _merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team is open. Build it with ``weekly_hours`` or ``always_open``.

    ``weekly`` holds seven tuples of intervals, Monday first. The instance caches the
    opening spans of the dates it has seen, so keep one per configured calendar.
    """

    name: str
    timezone: str
    weekly: tuple[tuple[Interval, ...], ...]
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    closed_dates: frozenset[date] = frozenset()
    _cache: dict[Any, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(
                N_("calendar {name!r}: unknown time zone {timezone!r}"),
                name=self.name,
                calendar=self.name,
                timezone=self.timezone,
            ) from None
        if len(self.weekly) != 7:
            raise CalendarError(
                N_("calendar {name!r}: weekly hours need 7 days, got {weekly_count}"),
                name=self.name,
                weekly_count=len(self.weekly),
                calendar=self.name,
            )
        for day in self.weekly:
            for start, end in day:
                if not 0 <= start < end <= MINUTES_PER_DAY:
                    raise CalendarError(
                        N_("calendar {name!r}: interval {start}-{end} is outside one day"),
                        name=self.name,
                        start=start,
                        end=end,
                        calendar=self.name,
                    )
        weekly = tuple(_merge(day) for day in self.weekly)
        if not any(weekly):
            raise CalendarError(
                N_("calendar {name!r} is never open"), name=self.name, calendar=self.name
            )
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))
        self._cache["zone"] = zone
        if self.holiday_country:
            try:
                holidays.country_holidays(
                    self.holiday_country, subdiv=self.holiday_subdivision, years=2000
                )
            except NotImplementedError as exc:
                raise CalendarError(
                    N_("calendar {name!r}: {exc}"),
                    name=self.name,
                    exc=exc,
                    calendar=self.name,
                    country=self.holiday_country,
                    subdivision=self.holiday_subdivision,
                ) from None
        elif self.holiday_subdivision:
            raise CalendarError(
                N_("calendar {name!r}: a holiday subdivision needs a country"),
                name=self.name,
                calendar=self.name,
            )

    @classmethod
    def weekly_hours(
        cls,
        name: str,
        *,
        timezone: str,
        hours: Mapping[str, Iterable[str]],
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
        closed_dates: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Build from ``{"mon": ["09:00-12:30", "13:30-18:00"], ...}``; missing days are closed."""
        days: list[list[Interval]] = [[] for _ in range(7)]
        for key, texts in hours.items():
            weekday = _weekday_index(key, calendar=name)
            for text in texts:
                today, after_midnight = parse_interval(text)
                days[weekday].append(today)
                if after_midnight:
                    days[(weekday + 1) % 7].append(after_midnight)
        return cls(
            name=name,
            timezone=timezone,
            weekly=tuple(tuple(day) for day in days),
            holiday_country=holiday_country,
            holiday_subdivision=holiday_subdivision,
            closed_dates=frozenset(closed_dates),
        )

    @classmethod
    def always_open(cls, name: str = "24/7", *, timezone: str = "UTC") -> BusinessCalendar:
        """Open every minute of every day: business time is elapsed time."""
        return cls(name=name, timezone=timezone, weekly=(((0, MINUTES_PER_DAY),),) * 7)

    @property
    def zone(self) -> ZoneInfo:
        return self._cache["zone"]

    @property
    def nominal_week(self) -> timedelta:
        """Open time of a week with no holiday and no daylight-saving change."""
        return timedelta(minutes=sum(end - start for day in self.weekly for start, end in day))

    def is_closed_date(self, day: date) -> bool:
        """Whether a local date is a holiday or an extra closed date."""
        return day in self.closed_dates or day in self._holidays(day.year)

    def is_open(self, at: datetime) -> bool:
        """Whether the team is open at this instant (open at an interval start, not at its end)."""
        at = _as_utc(at)
        return any(start <= at < end for start, end in self.spans(self.local_date(at)))

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself when open, otherwise the start of the next opening interval."""
        at = _as_utc(at)
        day = self.local_date(at)
        for _ in range(HORIZON_DAYS):
            for start, end in self.spans(day):
                if at < end:
                    return max(start, at)
            day += timedelta(days=1)
        raise self._never_open(at)

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def spans(self, day: date) -> tuple[Span, ...]:
        """Opening intervals of one local date, as UTC instants, in order."""
        key = ("spans", day)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._compute_spans(day)
        return cached

    def day_total(self, day: date) -> timedelta:
        return sum((end - start for start, end in self.spans(day)), timedelta())

    def week_total(self, monday: date) -> timedelta:
        """Open time of the seven dates from ``monday``, holidays and clock changes included."""
        key = ("week", monday)
        cached = self._cache.get(key)
        if cached is None:
            days = [monday + timedelta(days=offset) for offset in range(8)]
            regular = not any(self.is_closed_date(day) for day in days[:7]) and (
                len({self._midnight_offset(day) for day in days}) == 1
            )
            cached = (
                self.nominal_week
                if regular
                else sum((self.day_total(day) for day in days[:7]), timedelta())
            )
            self._cache[key] = cached
        return cached

    def _compute_spans(self, day: date) -> tuple[Span, ...]:
        if self.is_closed_date(day):
            return ()
        midnight = datetime.combine(day, time())
        spans: list[Span] = []
        for start, end in self.weekly[day.weekday()]:
            span_start = _wall_to_utc(midnight + timedelta(minutes=start), self.zone)
            span_end = _wall_to_utc(midnight + timedelta(minutes=end), self.zone)
            if span_end <= span_start:
                continue  # entirely inside the hour skipped in spring
            if spans and span_start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], span_end))
            else:
                spans.append((span_start, span_end))
        return tuple(spans)

    def _midnight_offset(self, day: date) -> timedelta | None:
        return datetime.combine(day, time(), tzinfo=self.zone).utcoffset()

    def _holidays(self, year: int) -> frozenset[date]:
        if not self.holiday_country:
            return frozenset()
        key = ("holidays", year)
        cached = self._cache.get(key)
        if cached is None:
            found = holidays.country_holidays(
                self.holiday_country, subdiv=self.holiday_subdivision, years=year
            )
            cached = self._cache[key] = frozenset(found.keys())
        return cached

    def _never_open(self, at: datetime) -> CalendarError:
        return CalendarError(
            f"calendar {self.name!r} does not open within {HORIZON_DAYS} days of {at:%Y-%m-%d}",
            calendar=self.name,
        )


def add_business_time(start: datetime, duration: timedelta, calendar: BusinessCalendar) -> datetime:
    """The instant at which ``duration`` of business time has passed since ``start``.

    A positive duration always ends inside an opening interval or exactly at its end (a
    promise of 9 h made Monday 09:00 falls due Monday 18:00, not Tuesday 09:00). A zero
    duration returns ``start`` unchanged. Whole weeks are skipped in one step.
    """
    start = _as_utc(start)
    if duration < timedelta(0):
        raise ValueError("a business duration cannot be negative")
    if not duration:
        return start
    remaining = duration
    day = calendar.local_date(start)
    for _ in range(HORIZON_DAYS):
        for span_start, span_end in calendar.spans(day):
            if span_end <= start:
                continue
            span_start = max(span_start, start)
            if remaining <= span_end - span_start:
                return span_start + remaining
            remaining -= span_end - span_start
        day += timedelta(days=1)
        if day.weekday() == 0:
            while remaining > calendar.week_total(day):
                remaining -= calendar.week_total(day)
                day += timedelta(days=7)
    raise calendar._never_open(start)


def business_time_between(a: datetime, b: datetime, calendar: BusinessCalendar) -> timedelta:
    """Open time between two instants; negative when ``b`` is before ``a``."""
    a, b = _as_utc(a), _as_utc(b)
    if b < a:
        return -business_time_between(b, a, calendar)
    first, last = calendar.local_date(a), calendar.local_date(b)
    total = timedelta()
    day = first
    while day <= last:
        if day.weekday() == 0 and first < day and day + timedelta(days=6) < last:
            total += calendar.week_total(day)
            day += timedelta(days=7)
            continue
        for span_start, span_end in calendar.spans(day):
            overlap = min(span_end, b) - max(span_start, a)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total


def _wall_to_utc(naive: datetime, zone: ZoneInfo) -> datetime:
    """Local wall time to UTC; a time skipped in spring becomes the instant of the change."""
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # Inside a gap, fold=0 reads the time with the offset before the change (an instant
    # after it) and fold=1 with the offset after (an instant before it): the change lies
    # between, found to the second.
    low, high = naive.replace(tzinfo=zone, fold=1).astimezone(UTC), first
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if high.microsecond else high


def _as_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: SLA computations need timezone-aware instants")
    return at.astimezone(UTC)


def _weekday_index(key: str | int, *, calendar: str) -> int:
    if isinstance(key, int) and 0 <= key < 7:
        return key
    text = str(key).strip().lower()[:3]
    if text in WEEKDAY_NAMES:
        return WEEKDAY_NAMES.index(text)
    raise CalendarError(
        N_("calendar {calendar!r}: unknown weekday {key!r} (use mon, tue, ... sun)"),
        key=key,
        calendar=calendar,
        weekday=str(key),
    )
