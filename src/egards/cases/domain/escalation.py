"""The escalation ladder: which steps are due, and when the next one is."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from egards.cases.domain.clocks import ClockReading, SlaClock, instant_at_elapsed
from egards.cases.domain.statuses import SlaMetric

# --------------------------------------------------------------------------------------
# Escalation ladder
# --------------------------------------------------------------------------------------


class EscalationAction(StrEnum):
    WARN_ASSIGNEE = "warn_assignee"
    NOTIFY_SUPERVISOR = "notify_supervisor"
    REASSIGN_TEAM = "reassign_team"
    RAISE_PRIORITY = "raise_priority"


@dataclass(frozen=True)
class EscalationStep:
    """One rung: ``action`` once ``percent`` of the target plus ``offset`` has elapsed.

    ``percent=75`` warns at three quarters of the promise; ``percent=100`` acts at the
    breach; ``offset=timedelta(hours=2)`` two business hours after it, a negative offset
    before it. ``metric=None`` applies the step to every clock.
    """

    key: str
    action: EscalationAction
    percent: int = 100
    offset: timedelta = timedelta(0)
    metric: SlaMetric | None = None
    team: str | None = None
    """Team to reassign to, for ``reassign_team``."""

    def applies_to(self, metric: SlaMetric) -> bool:
        return self.metric is None or self.metric is metric

    def threshold(self, target: timedelta) -> timedelta:
        """Elapsed business time at which this step is due."""
        return max(timedelta(0), target * self.percent // 100 + self.offset)


def due_escalations(
    steps: Sequence[EscalationStep], reading: ClockReading, *, fired: Collection[str]
) -> list[EscalationStep]:
    """Steps due now on this clock that have not fired yet, earliest threshold first.

    ``fired`` holds the keys already fired *for this clock*; the caller records the returned
    keys in the same transaction as the actions, so each step fires at most once. A clock
    that has stopped (answered, resolved) escalates no further.
    """
    if not reading.is_running:
        return []
    due = [
        step
        for step in steps
        if step.applies_to(reading.metric)
        and step.key not in fired
        and reading.elapsed >= step.threshold(reading.target)
    ]
    return sorted(due, key=lambda step: step.threshold(reading.target))


def next_escalation_at(
    steps: Sequence[EscalationStep],
    clock: SlaClock,
    *,
    fired: Collection[str],
    now: datetime,
) -> datetime | None:
    """When the next unfired step falls due if nothing changes; lets a sweep skip the rest."""
    if clock.stopped_at is not None and clock.stopped_at <= now:
        return None
    instants = [
        instant_at_elapsed(clock, step.threshold(clock.target), now=now)
        for step in steps
        if step.applies_to(clock.metric) and step.key not in fired
    ]
    return min(instants, default=None)
