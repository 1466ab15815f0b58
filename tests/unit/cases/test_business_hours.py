"""Business-hours calendars: what counts as business time, in Paris, in 2026."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egards.cases.business_hours import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
    parse_interval,
)
from egards.cases.errors import CalendarError

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def paris_support() -> BusinessCalendar:
    """Mon–Fri 09:00–18:00, Sat 09:00–12:00, French public holidays."""
    hours = {day: ["09:00-18:00"] for day in WEEKDAYS} | {"sat": ["09:00-12:00"]}
    return BusinessCalendar.weekly_hours(
        "paris_support", timezone="Europe/Paris", hours=hours, holiday_country="FR"
    )


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


SUPPORT = paris_support()
ALWAYS = BusinessCalendar.always_open("24/7", timezone="Europe/Paris")
LUNCH_BREAK = BusinessCalendar.weekly_hours(
    "lunch",
    timezone="Europe/Paris",
    hours={day: ["09:00-12:30", "13:30-18:00"] for day in WEEKDAYS},
)
NIGHT_SHIFT = BusinessCalendar.weekly_hours(
    "night",
    timezone="Europe/Paris",
    hours={"fri": ["22:00-06:00"], "sat": ["22:00-06:00"]},
    holiday_country="FR",
)
# Opens during the hour that the spring change skips and the autumn change repeats.
SMALL_HOURS = BusinessCalendar.weekly_hours(
    "small_hours",
    timezone="Europe/Paris",
    hours={"sun": ["01:30-02:15", "02:30-03:30"], "wed": ["09:00-10:00"]},
)


# --- adding business time ----------------------------------------------------------------


def test_a_promise_made_during_opening_hours_falls_due_the_same_day():
    assert add_business_time(paris(2026, 11, 23, 10), hours(4), SUPPORT) == paris(2026, 11, 23, 14)


def test_a_promise_that_fills_the_day_falls_due_at_closing_not_next_morning():
    assert add_business_time(paris(2026, 11, 23, 9), hours(9), SUPPORT) == paris(2026, 11, 23, 18)


def test_the_rest_of_a_promise_carries_over_to_the_next_opening():
    # Monday 16:00 + 4 h: 2 h on Monday, 2 h on Tuesday morning.
    assert add_business_time(paris(2026, 11, 23, 16), hours(4), SUPPORT) == paris(2026, 11, 24, 11)


def test_a_message_received_at_night_counts_from_the_next_opening():
    assert add_business_time(paris(2026, 11, 23, 22), hours(1), SUPPORT) == paris(2026, 11, 24, 10)


def test_saturday_morning_counts_and_sunday_does_not():
    # Friday 17:00 + 3 h: 1 h Friday, 2 h Saturday morning, then done.
    assert add_business_time(paris(2026, 11, 27, 17), hours(3), SUPPORT) == paris(2026, 11, 28, 11)
    # Saturday 11:00 + 2 h: 1 h Saturday, Sunday closed, 1 h Monday.
    assert add_business_time(paris(2026, 11, 28, 11), hours(2), SUPPORT) == paris(2026, 11, 30, 10)


def test_labour_day_is_closed():
    # Thursday 30 April 17:00 + 2 h: 1 h Thursday, Friday 1 May closed, 1 h Saturday.
    assert add_business_time(paris(2026, 4, 30, 17), hours(2), SUPPORT) == paris(2026, 5, 2, 10)


def test_easter_monday_is_closed():
    # Saturday 4 April 11:00 + 2 h: 1 h Saturday, Sunday, Easter Monday 6 April, then Tuesday.
    assert add_business_time(paris(2026, 4, 4, 11), hours(2), SUPPORT) == paris(2026, 4, 7, 10)


def test_bastille_day_is_closed():
    assert add_business_time(paris(2026, 7, 13, 17), hours(2), SUPPORT) == paris(2026, 7, 15, 10)


def test_extra_closed_dates_close_the_whole_day():
    calendar = BusinessCalendar.weekly_hours(
        "with_bridge",
        timezone="Europe/Paris",
        hours={day: ["09:00-18:00"] for day in WEEKDAYS},
        closed_dates=[date(2026, 11, 24)],
    )
    assert add_business_time(paris(2026, 11, 23, 17), hours(2), calendar) == paris(2026, 11, 25, 10)


def test_a_regional_holiday_only_closes_its_region():
    alsace = BusinessCalendar.weekly_hours(
        "strasbourg",
        timezone="Europe/Paris",
        hours={day: ["09:00-18:00"] for day in WEEKDAYS},
        holiday_country="FR",
        holiday_subdivision="57",
    )
    good_friday = paris(2026, 4, 3, 10)
    assert SUPPORT.is_open(good_friday)
    assert not alsace.is_open(good_friday)


def test_several_intervals_a_day_skip_the_lunch_break():
    assert add_business_time(paris(2026, 11, 23, 12), hours(1), LUNCH_BREAK) == paris(
        2026, 11, 23, 14
    )
    assert business_time_between(paris(2026, 11, 23, 0), paris(2026, 11, 24, 0), LUNCH_BREAK) == (
        hours(8)
    )


def test_an_interval_crossing_midnight_continues_on_the_next_day():
    assert parse_interval("22:00-06:00") == ((22 * 60, 24 * 60), (0, 6 * 60))
    # Friday 23:00 + 3 h of night shift: Saturday 02:00.
    assert add_business_time(paris(2026, 11, 27, 23), hours(3), NIGHT_SHIFT) == paris(
        2026, 11, 28, 2
    )


def test_the_morning_part_of_a_night_shift_is_closed_on_a_holiday():
    # Friday 13 November 22:00 + 3 h: Saturday 14 is no holiday, so 01:00 on the 14th.
    assert add_business_time(paris(2026, 11, 13, 22), hours(3), NIGHT_SHIFT) == paris(
        2026, 11, 14, 1
    )
    # Saturday 14 July 2029 is a holiday: Friday night stops at midnight; Saturday night
    # 22:00-24:00 is also closed; the shift resumes on Sunday 15 July 00:00.
    assert add_business_time(paris(2029, 7, 13, 22), hours(3), NIGHT_SHIFT) == paris(2029, 7, 15, 1)


# --- time zones and daylight saving -----------------------------------------------------


def test_opening_hours_follow_the_local_clock_across_the_spring_change():
    # Friday 27 March 17:00 (UTC+1) + 6 h: 1 h Friday, 3 h Saturday, 2 h Monday 30 March
    # (UTC+2): 11:00 local, 09:00 UTC.
    deadline = add_business_time(paris(2026, 3, 27, 17), hours(6), SUPPORT)
    assert deadline == paris(2026, 3, 30, 11)
    assert deadline == datetime(2026, 3, 30, 9, tzinfo=UTC)


def test_opening_hours_follow_the_local_clock_across_the_autumn_change():
    deadline = add_business_time(paris(2026, 10, 23, 17), hours(6), SUPPORT)
    assert deadline == paris(2026, 10, 26, 11)
    assert deadline == datetime(2026, 10, 26, 10, tzinfo=UTC)


def test_a_round_the_clock_day_lasts_23_hours_in_spring_and_25_in_autumn():
    assert business_time_between(paris(2026, 3, 29, 0), paris(2026, 3, 30, 0), ALWAYS) == hours(23)
    assert business_time_between(paris(2026, 10, 25, 0), paris(2026, 10, 26, 0), ALWAYS) == hours(
        25
    )


def test_a_round_the_clock_promise_is_elapsed_time():
    start = paris(2026, 3, 28, 12)
    # Aware arithmetic in one zone is wall-clock arithmetic: compare in UTC.
    assert add_business_time(start, hours(24), ALWAYS) == start.astimezone(UTC) + hours(24)
    assert add_business_time(start, hours(24), ALWAYS) == paris(2026, 3, 29, 13)


def test_hours_skipped_in_spring_are_not_counted_and_repeated_ones_count_twice():
    # 01:30-02:15 and 02:30-03:30 local: 1 h 45 on an ordinary Sunday.
    ordinary = business_time_between(paris(2026, 3, 22, 0), paris(2026, 3, 23, 0), SMALL_HOURS)
    spring = business_time_between(paris(2026, 3, 29, 0), paris(2026, 3, 30, 0), SMALL_HOURS)
    autumn = business_time_between(paris(2026, 10, 25, 0), paris(2026, 10, 26, 0), SMALL_HOURS)
    assert ordinary == hours(1.75)
    # 02:00-03:00 does not exist: 01:30-02:00 and 03:00-03:30 remain.
    assert spring == hours(1)
    # 02:00-03:00 happens twice: 01:30 to the first 02:15, the first 02:30 to 03:30.
    assert autumn == hours(0.75) + hours(2)


def test_instants_may_come_in_any_zone_and_results_are_utc():
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 23, 4, tzinfo=new_york)  # 10:00 in Paris
    deadline = add_business_time(start, hours(1), SUPPORT)
    assert deadline.tzinfo is UTC
    assert deadline == paris(2026, 11, 23, 11)


def test_the_calendar_zone_decides_the_opening_hours():
    montreal = BusinessCalendar.weekly_hours(
        "montreal",
        timezone="America/Toronto",
        hours={day: ["09:00-18:00"] for day in WEEKDAYS},
    )
    start = paris(2026, 11, 23, 17)  # 11:00 in Montréal
    assert add_business_time(start, hours(2), montreal) == paris(2026, 11, 23, 19)
    assert add_business_time(start, hours(2), SUPPORT) == paris(2026, 11, 24, 10)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        add_business_time(datetime(2026, 11, 23, 10), hours(1), SUPPORT)


# --- opening, measuring, large durations -------------------------------------------------


def test_a_calendar_is_open_at_its_opening_minute_and_closed_at_its_closing_minute():
    assert SUPPORT.is_open(paris(2026, 11, 23, 9))
    assert not SUPPORT.is_open(paris(2026, 11, 23, 18))
    assert not SUPPORT.is_open(paris(2026, 11, 29, 10))  # Sunday
    assert not SUPPORT.is_open(paris(2026, 12, 25, 10))  # Christmas


def test_next_opening_skips_closed_days():
    assert SUPPORT.next_opening(paris(2026, 11, 23, 10)) == paris(2026, 11, 23, 10)
    assert SUPPORT.next_opening(paris(2026, 11, 28, 12)) == paris(2026, 11, 30, 9)
    assert SUPPORT.next_opening(paris(2026, 4, 30, 19)) == paris(2026, 5, 2, 9)


def test_business_time_between_counts_only_opening_hours():
    # Friday 17:00 to Monday 10:00: 1 h + 3 h + 1 h.
    assert business_time_between(paris(2026, 11, 27, 17), paris(2026, 11, 30, 10), SUPPORT) == (
        hours(5)
    )


def test_business_time_between_is_negative_backwards():
    a, b = paris(2026, 11, 27, 17), paris(2026, 11, 30, 10)
    assert business_time_between(b, a, SUPPORT) == -hours(5)


def test_a_year_of_business_time_skips_weeks_and_subtracts_each_holiday():
    # 2027: 52 weeks of 48 h, plus Friday 31 December, minus holidays on working days.
    start, end = paris(2027, 1, 1, 0), paris(2028, 1, 1, 0)
    total = business_time_between(start, end, SUPPORT)
    assert total == business_time_between(start, end, _without_holidays()) - _holiday_hours(2027)
    assert add_business_time(start, total, SUPPORT) <= end


def test_long_durations_are_computed_without_walking_minute_by_minute():
    start = paris(2026, 1, 5, 9)
    deadline = add_business_time(start, hours(20_000), SUPPORT)
    assert business_time_between(start, deadline, SUPPORT) == hours(20_000)
    assert deadline.year == 2034


def test_a_zero_promise_is_due_immediately():
    start = paris(2026, 11, 29, 10)
    assert add_business_time(start, timedelta(0), SUPPORT) == start


def test_a_calendar_that_never_opens_is_refused():
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar.weekly_hours("closed", timezone="Europe/Paris", hours={})
    assert caught.value.code == "sla_calendar_invalid"


@pytest.mark.parametrize(
    ("hours_text", "problem"),
    [("9h-18h", "HH:MM-HH:MM"), ("09:00-09:00", "empty"), ("24:00-02:00", "24:00")],
)
def test_malformed_intervals_are_refused(hours_text, problem):
    with pytest.raises(CalendarError, match=problem):
        parse_interval(hours_text)


def test_unknown_zones_countries_and_weekdays_are_refused():
    with pytest.raises(CalendarError, match="time zone"):
        BusinessCalendar.always_open("x", timezone="Europe/Lutece")
    with pytest.raises(CalendarError, match="XX"):
        BusinessCalendar.weekly_hours(
            "x", timezone="UTC", hours={"mon": ["09:00-18:00"]}, holiday_country="XX"
        )
    with pytest.raises(CalendarError, match="weekday"):
        BusinessCalendar.weekly_hours("x", timezone="UTC", hours={"lun": ["09:00-18:00"]})


def _without_holidays() -> BusinessCalendar:
    hours_by_day = {day: ["09:00-18:00"] for day in WEEKDAYS} | {"sat": ["09:00-12:00"]}
    return BusinessCalendar.weekly_hours("plain", timezone="Europe/Paris", hours=hours_by_day)


def _holiday_hours(year: int) -> timedelta:
    import holidays

    per_weekday = [hours(9)] * 5 + [hours(3), hours(0)]
    return sum(
        (per_weekday[day.weekday()] for day in holidays.country_holidays("FR", years=year)),
        timedelta(),
    )


# --- properties ---------------------------------------------------------------------------

CALENDARS = st.sampled_from([SUPPORT, ALWAYS, LUNCH_BREAK, NIGHT_SHIFT, SMALL_HOURS])
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
DURATIONS = st.integers(min_value=1, max_value=600 * 60 * 60).map(
    lambda seconds: timedelta(seconds=seconds)
)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@PROPERTY_SETTINGS
@given(calendar=CALENDARS, start=INSTANTS, duration=DURATIONS)
def test_the_business_time_up_to_a_deadline_is_the_promised_duration(calendar, start, duration):
    deadline = add_business_time(start, duration, calendar)
    assert business_time_between(start, deadline, calendar) == duration


@PROPERTY_SETTINGS
@given(calendar=CALENDARS, start=INSTANTS, duration=DURATIONS)
def test_a_deadline_falls_inside_opening_hours_or_at_their_end(calendar, start, duration):
    deadline = add_business_time(start, duration, calendar)
    assert calendar.is_open(deadline - timedelta(microseconds=1))


@PROPERTY_SETTINGS
@given(calendar=CALENDARS, start=INSTANTS, first=DURATIONS, second=DURATIONS)
def test_longer_promises_never_fall_due_earlier(calendar, start, first, second):
    short, long = sorted([first, second])
    assert add_business_time(start, short, calendar) <= add_business_time(start, long, calendar)


@PROPERTY_SETTINGS
@given(calendar=CALENDARS, start=INSTANTS, first=DURATIONS, second=DURATIONS)
def test_adding_in_two_steps_equals_adding_at_once(calendar, start, first, second):
    in_steps = add_business_time(add_business_time(start, first, calendar), second, calendar)
    assert in_steps == add_business_time(start, first + second, calendar)


@PROPERTY_SETTINGS
@given(calendar=CALENDARS, a=INSTANTS, b=INSTANTS, c=INSTANTS)
def test_business_time_adds_up_over_consecutive_periods(calendar, a, b, c):
    a, b, c = sorted([a, b, c])
    assert business_time_between(a, b, calendar) + business_time_between(
        b, c, calendar
    ) == business_time_between(a, c, calendar)
    assert business_time_between(a, c, calendar) <= c - a


@PROPERTY_SETTINGS
@given(calendar=CALENDARS, at=INSTANTS)
def test_next_opening_is_open_and_nothing_counts_before_it(calendar, at):
    opening = calendar.next_opening(at)
    assert calendar.is_open(opening)
    assert business_time_between(at, opening, calendar) == timedelta(0)
