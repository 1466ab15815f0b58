"""SLA clocks: deadlines, pauses and states, read at a controlled ``now``."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from egards.cases.business_hours import BusinessCalendar, business_time_between
from egards.cases.domain import (
    RESOLUTION_PAUSING_STATUSES,
    AtRiskRule,
    CaseStatus,
    Pause,
    SlaClock,
    SlaMetric,
    SlaState,
    pauses_from_history,
    read_clock,
)

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
SUPPORT = BusinessCalendar.weekly_hours(
    "paris_support",
    timezone="Europe/Paris",
    hours={day: ["09:00-18:00"] for day in WEEKDAYS} | {"sat": ["09:00-12:00"]},
    holiday_country="FR",
)
MONDAY_9 = datetime(2026, 11, 23, 9, tzinfo=PARIS)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def first_response_clock(**changes) -> SlaClock:
    """8 business hours from Monday 23 November 2026 09:00, at risk at 75 %."""
    values = {
        "metric": SlaMetric.FIRST_RESPONSE,
        "started_at": MONDAY_9,
        "target": hours(8),
        "calendar": SUPPORT,
        "at_risk": AtRiskRule(percent=75),
    } | changes
    return SlaClock(**values)


def test_a_fresh_clock_is_on_track_with_its_whole_target_ahead():
    reading = read_clock(first_response_clock(), now=MONDAY_9)
    assert reading.state is SlaState.ON_TRACK
    assert reading.deadline == paris(2026, 11, 23, 17)
    assert reading.elapsed == timedelta(0)
    assert reading.remaining == hours(8)


def test_a_clock_goes_from_on_track_to_at_risk_to_breached():
    clock = first_response_clock()
    assert read_clock(clock, now=paris(2026, 11, 23, 14, 59)).state is SlaState.ON_TRACK
    assert read_clock(clock, now=paris(2026, 11, 23, 15)).state is SlaState.AT_RISK
    assert read_clock(clock, now=paris(2026, 11, 23, 17)).state is SlaState.AT_RISK
    assert read_clock(clock, now=paris(2026, 11, 23, 17, 1)).state is SlaState.BREACHED


def test_the_at_risk_instant_is_known_in_advance():
    reading = read_clock(first_response_clock(), now=MONDAY_9)
    assert reading.at_risk_at == paris(2026, 11, 23, 15)


def test_a_few_minutes_left_is_at_risk_even_below_the_percentage():
    clock = first_response_clock(at_risk=AtRiskRule(percent=90, time_left=timedelta(minutes=60)))
    assert read_clock(clock, now=paris(2026, 11, 23, 16)).state is SlaState.AT_RISK
    assert read_clock(clock, now=paris(2026, 11, 23, 15, 59)).state is SlaState.ON_TRACK


def test_an_overdue_clock_shows_negative_business_time_left():
    reading = read_clock(first_response_clock(), now=paris(2026, 11, 24, 10))
    assert reading.state is SlaState.BREACHED
    assert reading.remaining == -hours(2)  # 17:00-18:00 on Monday, 09:00-10:00 on Tuesday


def test_a_breached_clock_stays_breached_through_the_night():
    # After closing, no business time passes, but the promise is already broken.
    reading = read_clock(first_response_clock(), now=paris(2026, 11, 23, 23))
    assert reading.state is SlaState.BREACHED
    assert reading.remaining == -hours(1)


def test_an_answer_before_the_deadline_meets_the_promise_for_good():
    clock = first_response_clock(stopped_at=paris(2026, 11, 23, 16))
    later = read_clock(clock, now=paris(2026, 12, 1, 12))
    assert later.state is SlaState.MET
    assert not later.is_running
    assert later.elapsed == hours(7)
    assert later.remaining == hours(1)


def test_an_answer_after_the_deadline_is_a_breach():
    clock = first_response_clock(stopped_at=paris(2026, 11, 24, 9, 30))
    assert read_clock(clock, now=paris(2026, 11, 25, 9)).state is SlaState.BREACHED


def test_a_clock_read_before_its_stop_is_still_running():
    clock = first_response_clock(stopped_at=paris(2026, 11, 23, 16))
    assert read_clock(clock, now=paris(2026, 11, 23, 15)).is_running


def test_waiting_on_the_customer_moves_the_deadline_by_the_paused_business_time():
    clock = first_response_clock(pauses=(Pause(paris(2026, 11, 23, 10), paris(2026, 11, 23, 12)),))
    reading = read_clock(clock, now=paris(2026, 11, 23, 13))
    assert reading.paused_time == hours(2)
    assert reading.elapsed == hours(2)
    assert reading.deadline == paris(2026, 11, 24, 10)


def test_a_running_pause_freezes_elapsed_time_and_keeps_pushing_the_deadline():
    clock = first_response_clock(pauses=(Pause(paris(2026, 11, 23, 11)),))
    at_noon = read_clock(clock, now=paris(2026, 11, 23, 12))
    at_four = read_clock(clock, now=paris(2026, 11, 23, 16))
    assert at_noon.is_paused and at_four.is_paused
    assert at_noon.elapsed == at_four.elapsed == hours(2)
    assert at_noon.deadline == paris(2026, 11, 23, 18)
    assert at_four.deadline == paris(2026, 11, 24, 13)
    assert at_four.state is SlaState.ON_TRACK


def test_a_pause_during_closed_hours_changes_nothing():
    night = Pause(paris(2026, 11, 23, 19), paris(2026, 11, 24, 8))
    clock = first_response_clock(target=hours(12), pauses=(night,))
    assert read_clock(clock, now=paris(2026, 11, 24, 9)).deadline == paris(2026, 11, 24, 12)


def test_a_pause_after_the_deadline_does_not_undo_the_breach():
    late_pause = Pause(paris(2026, 11, 24, 9), paris(2026, 11, 27, 9))
    reading = read_clock(first_response_clock(pauses=(late_pause,)), now=paris(2026, 11, 27, 10))
    assert reading.deadline == paris(2026, 11, 23, 17)
    assert reading.state is SlaState.BREACHED


def test_overlapping_pauses_count_once():
    pauses = (
        Pause(paris(2026, 11, 23, 10), paris(2026, 11, 23, 12)),
        Pause(paris(2026, 11, 23, 11), paris(2026, 11, 23, 13)),
    )
    reading = read_clock(first_response_clock(pauses=pauses), now=paris(2026, 11, 23, 14))
    assert reading.paused_time == hours(3)
    assert reading.elapsed == hours(2)


def test_pauses_come_from_the_status_history():
    history = [
        (paris(2026, 11, 23, 9), CaseStatus.NEW),
        (paris(2026, 11, 23, 10), CaseStatus.WAITING_ON_CUSTOMER),
        (paris(2026, 11, 23, 12), CaseStatus.OPEN),
        (paris(2026, 11, 23, 13), CaseStatus.WAITING_ON_PARTNER),
        (paris(2026, 11, 23, 15), CaseStatus.WAITING_ON_CUSTOMER),
    ]
    assert pauses_from_history(history) == (
        Pause(paris(2026, 11, 23, 10), paris(2026, 11, 23, 12)),
        Pause(paris(2026, 11, 23, 15)),
    )


def test_a_reopened_case_resumes_its_resolution_clock_without_the_resolved_days():
    history = [
        (paris(2026, 11, 23, 9), CaseStatus.NEW),
        (paris(2026, 11, 23, 12), CaseStatus.RESOLVED),
        (paris(2026, 11, 25, 9), CaseStatus.OPEN),
    ]
    pauses = pauses_from_history(history, pausing=RESOLUTION_PAUSING_STATUSES)
    clock = first_response_clock(metric=SlaMetric.RESOLUTION, target=hours(18), pauses=pauses)
    reading = read_clock(clock, now=paris(2026, 11, 25, 10))
    assert reading.elapsed == hours(4)
    assert reading.paused_time == hours(15)
    assert reading.state is SlaState.ON_TRACK


def test_a_clock_over_the_spring_change_keeps_local_opening_hours():
    clock = first_response_clock(started_at=paris(2026, 3, 27, 17), target=hours(6))
    reading = read_clock(clock, now=paris(2026, 3, 30, 10))
    assert reading.deadline == paris(2026, 3, 30, 11)
    assert reading.elapsed == hours(5)
    assert reading.state is SlaState.AT_RISK


def test_a_clock_over_a_holiday_weekend_only_counts_open_hours():
    # Thursday 30 April 16:00, 4 h: 2 h Thursday, Labour Day closed, 2 h on Saturday 2 May.
    clock = first_response_clock(started_at=paris(2026, 4, 30, 16), target=hours(4))
    assert read_clock(clock, now=paris(2026, 5, 1, 12)).state is SlaState.ON_TRACK
    assert read_clock(clock, now=paris(2026, 5, 1, 12)).deadline == paris(2026, 5, 2, 11)


INSTANTS = st.integers(min_value=0, max_value=14 * 24 * 60).map(
    lambda minutes: MONDAY_9 + timedelta(minutes=minutes)
)


@settings(max_examples=100, deadline=None)
@given(
    pause_bounds=st.lists(st.tuples(INSTANTS, INSTANTS), max_size=4),
    now=INSTANTS,
    target_hours=st.integers(min_value=1, max_value=60),
)
def test_elapsed_plus_paused_is_the_business_time_since_the_start(pause_bounds, now, target_hours):
    pauses = tuple(Pause(min(a, b), max(a, b)) for a, b in pause_bounds)
    clock = first_response_clock(pauses=pauses, target=hours(target_hours))
    reading = read_clock(clock, now=now)
    assert reading.elapsed + reading.paused_time == business_time_between(MONDAY_9, now, SUPPORT)
    assert (
        reading.deadline
        >= read_clock(first_response_clock(target=hours(target_hours)), now=now).deadline
    )
    assert (reading.state is SlaState.BREACHED) == (now > reading.deadline)
