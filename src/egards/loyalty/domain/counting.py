"""One activity counted for a member: its earnings, then its qualifying points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from egards.loyalty.domain.earning import Activity, Earning, compute_earnings
from egards.loyalty.domain.tiers import TierEvent, TierState, apply_qualifying, close_periods
from egards.loyalty.programme import (
    Programme,
)


@dataclass(frozen=True)
class Counted:
    """What one activity did to a member: its earning lines, the tier outcome, and the last
    activity that keeps a balance valid (expiry after the last activity)."""

    lines: tuple[Earning, ...]
    state: TierState
    events: tuple[TierEvent, ...]
    last_activity_on: date | None
    tier: str = ""  # the tier the activity earned at (after the periods it closed)


def count_activity(
    programme: Programme,
    state: TierState,
    activity: Activity,
    *,
    last_activity_on: date | None,
    earned_in_cap_window: Mapping[str, int] | None = None,
    original: Sequence[Earning] | None = None,
    original_on: date | None = None,
) -> Counted:
    """An activity counted for a member, in the order the rules take effect:

    1. periods that ended before the activity's date close first (:func:`close_periods`), so
       the activity earns at the tier the member holds on that day, not at a tier a
       requalification has not yet taken away;
    2. its earnings (:func:`compute_earnings`; a refund takes back ``original``, the
       reversed activity's lines, dated ``original_on`` in a rolling window);
    3. its qualifying part counts towards the tier (:func:`apply_qualifying`).

    A refund or cancellation is not activity: it does not extend the validity of a balance
    that lapses after the last activity.
    """
    closed = close_periods(programme, state, as_of=activity.on)
    lines = compute_earnings(
        programme,
        activity,
        closed.state.tier,
        earned_in_cap_window=earned_in_cap_window,
        original=original,
    )
    outcome = apply_qualifying(
        programme,
        closed.state,
        sum(line.amount for line in lines if line.qualifying),
        on=activity.on,
        earned_on=original_on if activity.reverses else None,
        activity_key=activity.key,
    )
    if activity.reverses is None and (last_activity_on is None or activity.on > last_activity_on):
        last_activity_on = activity.on
    return Counted(
        tuple(lines),
        outcome.state,
        closed.events + outcome.events,
        last_activity_on,
        closed.state.tier,
    )
