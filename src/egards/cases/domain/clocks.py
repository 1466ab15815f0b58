"""SLA clocks: pauses, elapsed business time, deadlines and their state."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from egards.cases.business_hours import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
)
from egards.cases.domain.policies import AtRiskRule
from egards.cases.domain.statuses import PAUSING_STATUSES, CaseStatus, SlaMetric, SlaState

# --------------------------------------------------------------------------------------
# SLA clocks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    """The clock stood still from ``start`` to ``end`` (``None``: still paused)."""

    start: datetime
    end: datetime | None = None


def pauses_from_history(
    history: Iterable[tuple[datetime, CaseStatus]],
    *,
    pausing: Collection[CaseStatus] = PAUSING_STATUSES,
) -> tuple[Pause, ...]:
    """Pauses of a case from its status changes ``(when, new status)``, oldest first."""
    pauses: list[Pause] = []
    paused_since: datetime | None = None
    for at, status in history:
        if status in pausing and paused_since is None:
            paused_since = at
        elif status not in pausing and paused_since is not None:
            pauses.append(Pause(paused_since, at))
            paused_since = None
    if paused_since is not None:
        pauses.append(Pause(paused_since))
    return tuple(pauses)


@dataclass(frozen=True)
class SlaClock:
    """One promise running on one case: what ``read_clock`` needs."""

    metric: SlaMetric
    started_at: datetime
    target: timedelta
    calendar: BusinessCalendar
    pauses: tuple[Pause, ...] = ()
    stopped_at: datetime | None = None
    """When the promise was kept (answer sent, case resolved); ``None`` while it runs."""
    at_risk: AtRiskRule = AtRiskRule()  # noqa: RUF009 (a frozen dataclass)


@dataclass(frozen=True)
class ClockReading:
    metric: SlaMetric
    state: SlaState
    deadline: datetime
    """Moved later by every pause that began before it."""
    at_risk_at: datetime
    elapsed: timedelta
    remaining: timedelta
    """Business time left; negative once overdue."""
    paused_time: timedelta
    is_paused: bool
    is_running: bool
    target: timedelta


def read_clock(clock: SlaClock, *, now: datetime) -> ClockReading:
    """Deadline, elapsed and remaining business time, and the state of one clock at ``now``.

    Rules: time counts only inside the calendar's opening hours and outside pauses; a pause
    that begins after the deadline does not move it (a breach is not undone by asking the
    customer a question). A stopped clock is ``met`` when it stopped at or before its
    deadline and ``breached`` otherwise; a running one is ``breached`` once ``now`` is past
    the deadline and ``at_risk`` from the policy's threshold on.
    """
    end = _clock_end(clock, now)
    pauses = _clipped_pauses(clock.pauses, clock.started_at, end)
    calendar = clock.calendar
    paused_time = sum(
        (business_time_between(start, stop, calendar) for start, stop in pauses), timedelta()
    )
    elapsed = business_time_between(clock.started_at, end, calendar) - paused_time
    deadline = instant_at_elapsed(clock, clock.target, now=now)
    at_risk_at = instant_at_elapsed(clock, clock.at_risk.threshold(clock.target), now=now)
    if clock.stopped_at is not None and clock.stopped_at <= now:
        state = SlaState.MET if clock.stopped_at <= deadline else SlaState.BREACHED
        running = False
    else:
        running = True
        if now > deadline:
            state = SlaState.BREACHED
        elif elapsed >= clock.at_risk.threshold(clock.target):
            state = SlaState.AT_RISK
        else:
            state = SlaState.ON_TRACK
    is_paused = running and any(
        pause.start <= now and (pause.end is None or now < pause.end) for pause in clock.pauses
    )
    return ClockReading(
        metric=clock.metric,
        state=state,
        deadline=deadline,
        at_risk_at=at_risk_at,
        elapsed=elapsed,
        remaining=clock.target - elapsed,
        paused_time=paused_time,
        is_paused=is_paused,
        is_running=running,
        target=clock.target,
    )


def instant_at_elapsed(clock: SlaClock, elapsed: timedelta, *, now: datetime) -> datetime:
    """When the clock will have run ``elapsed`` business time, given the pauses known at
    ``now`` (an open pause is taken as lasting until ``now``)."""
    pauses = _clipped_pauses(clock.pauses, clock.started_at, _clock_end(clock, now))
    paused = timedelta()
    instant = add_business_time(clock.started_at, elapsed, clock.calendar)
    for start, stop in pauses:
        if start >= instant:
            break
        paused += business_time_between(start, stop, clock.calendar)
        instant = add_business_time(clock.started_at, elapsed + paused, clock.calendar)
    return instant


def _clock_end(clock: SlaClock, now: datetime) -> datetime:
    """Up to when the clock has run: ``now``, or its stop if earlier; never before its start."""
    end = now if clock.stopped_at is None else min(now, clock.stopped_at)
    return max(end, clock.started_at)


def _clipped_pauses(
    pauses: Iterable[Pause], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Pauses inside ``[start, end]``, open ones closed at ``end``, overlaps merged."""
    clipped = sorted(
        (max(pause.start, start), min(pause.end or end, end))
        for pause in pauses
        if pause.start < end
    )
    merged: list[tuple[datetime, datetime]] = []
    for pause_start, pause_end in clipped:
        if pause_end <= pause_start:
            continue
        if merged and pause_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], pause_end))
        else:
            merged.append((pause_start, pause_end))
    return merged
