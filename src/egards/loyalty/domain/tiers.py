"""Tier qualification: periods, counters, upgrades, requalification and downgrades."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

from egards.errors import N_
from egards.loyalty.domain.dates import _tier_index, add_months
from egards.loyalty.programme import (
    Downgrade,
    EntryTierRollover,
    OnTierReached,
    PeriodKind,
    Programme,
)
from egards.messages import day, message, names, plural_message


def _evolve(state: TierState, **changes: Any) -> TierState:
    """``dataclasses.replace`` for a tier state, without its per-field checks (every field of
    a tier state is an init field); the batch paths make a few per activity and member."""
    return TierState(**{**state.__dict__, **changes})


# --- tier qualification ---------------------------------------------------------------------


@dataclass(frozen=True)
class Upgrade:
    """A tier reached in the current period, kept so that a later reversal can undo it."""

    on: date
    from_tier: str
    to_tier: str
    removed: int  # what reaching the tier took off the counter (threshold, or all of it)
    before: TierState
    activity_key: str | None = None  # the activity whose points reached it, when known


@dataclass(frozen=True)
class TierState:
    """A member's standing: the tier, since when, the current qualification period (both days
    included; ``period_end`` is ``None`` for a cumulative programme) and its counter.

    ``consecutive_periods`` counts periods completed and requalified at the current tier;
    ``window`` holds dated qualifying amounts for a rolling period only.
    """

    tier: str
    since: date
    period_start: date
    period_end: date | None
    counter: int = 0
    consecutive_periods: int = 0
    lifetime: bool = False
    upgrades: tuple[Upgrade, ...] = ()
    window: tuple[tuple[date, int], ...] = ()


TierEventKind = Literal["upgraded", "requalified", "downgraded", "lifetime_granted", "withdrawn"]


@dataclass(frozen=True)
class TierEvent:
    """A change (or confirmation) of tier, with its reason: a stored message
    (:mod:`egards.messages`), rendered in the reader's language when read."""

    kind: TierEventKind
    on: date
    from_tier: str
    to_tier: str
    reason: dict[str, Any]


@dataclass(frozen=True)
class TierOutcome:
    state: TierState
    events: tuple[TierEvent, ...] = ()


def enrol(programme: Programme, *, on: date) -> TierState:
    """A new member: entry tier, first period starting on the enrolment day."""
    start = date(on.year, 1, 1) if _kind(programme) is PeriodKind.CALENDAR_YEAR else on
    return TierState(
        tier=programme.tiers[0].code,
        since=on,
        period_start=start,
        period_end=_period_end(programme, start),
    )


def apply_qualifying(
    programme: Programme,
    state: TierState,
    amount: int,
    *,
    on: date,
    earned_on: date | None = None,
    activity_key: str | None = None,
) -> TierOutcome:
    """Count ``amount`` qualifying points (negative for a reversal) on ``on``, earned by the
    activity ``activity_key`` (kept with an upgrade it causes, for the explanation).

    Periods that ended before ``on`` are closed first (:func:`close_periods`), then the counter
    moves and any threshold reached upgrades the member at once, to the highest tier the
    counter reaches (a member can skip a tier). Reaching a tier deducts its threshold, resets
    the counter or keeps it, as the programme says; a personal period restarts that day.

    Reversal rule: an upgrade granted in the current period stands only while the counter
    still pays for it (``counter >= 0`` when reaching a tier deducts or resets, ``counter >=
    threshold`` when it keeps). If a reversal leaves it unpaid, the upgrade is withdrawn: the
    previous tier, period and counter come back, plus what was earned since; the member then
    gets the highest tier the remaining points reach, dated from the withdrawn upgrade. A
    requalification at a past period end is never reopened: what remains short is a negative
    counter the member makes good within the current period. ``earned_on`` dates the amount in
    a rolling window (a reversal passes the original date so it leaves the same window).
    """
    closed = close_periods(programme, state, as_of=on)
    state, events = closed.state, list(closed.events)
    if _kind(programme) is PeriodKind.ROLLING:
        window = (*state.window, (earned_on or on, amount))
        state = _with_window(programme, state, window, on)
    else:
        state = _evolve(state, counter=state.counter + amount)
    if amount < 0:
        state, withdrawn = _withdraw_unpaid_upgrades(programme, state)
        events += withdrawn
        if withdrawn:
            state, again = _upgrade(programme, state, withdrawn[-1].on)
            events += again
            closed = close_periods(programme, state, as_of=on)
            state = closed.state
            events += closed.events
    state, upgraded = _upgrade(programme, state, on, activity_key)
    events += upgraded
    return TierOutcome(state, tuple(events))


def close_periods(programme: Programme, state: TierState, *, as_of: date) -> TierOutcome:
    """Evaluate every qualification period that ended before ``as_of``, in order.

    At a period end the member keeps the tier if the counter reaches its threshold (surplus
    above it rolls over up to the cap, if the programme has rollover, and for the entry tier
    only if its rollover policy says ``carry``); otherwise they fall to
    the highest tier the counter reaches, or by one tier only with a soft landing, and the
    counter restarts at zero. Lifetime members never fall below the lifetime tier, which is
    granted after the stated number of consecutive periods completed at it.
    """
    events: list[TierEvent] = []
    while state.period_end is not None and as_of > state.period_end:
        state, event = _end_period(programme, state)
        events += event
    return TierOutcome(state, tuple(events))


def hold_period(programme: Programme, state: TierState, *, on: date) -> TierState:
    """A new qualification period granted by exception from ``on``: a whole personal or
    rolling period from that day, or, for a calendar year, through the end of next year."""
    kind = _kind(programme)
    if kind is PeriodKind.CALENDAR_YEAR:
        return replace(state, period_start=on, period_end=date(on.year + 1, 12, 31))
    return replace(state, period_start=on, period_end=_period_end(programme, on))


def _kind(programme: Programme) -> PeriodKind:
    return programme.qualification.period.kind


def _period_end(programme: Programme, start: date) -> date | None:
    period = programme.qualification.period
    if period.kind is PeriodKind.CALENDAR_YEAR:
        return date(start.year, 12, 31)
    if period.kind is PeriodKind.PERSONAL:
        return add_months(start, period.months or 12) - timedelta(days=1)
    if period.kind is PeriodKind.ROLLING:
        return add_months(start, period.review_months) - timedelta(days=1)
    return None


def _with_window(
    programme: Programme, state: TierState, window: Iterable[tuple[date, int]], as_of: date
) -> TierState:
    start = add_months(as_of, -(programme.qualification.period.months or 12))
    kept = tuple((day, amount) for day, amount in window if day > start)
    return _evolve(state, window=kept, counter=sum(amount for _, amount in kept))


def _paid(programme: Programme, state: TierState) -> bool:
    if programme.qualification.on_tier_reached is OnTierReached.KEEP:
        return state.counter >= programme.tiers[_tier_index(programme, state.tier)].threshold
    return state.counter >= 0


def _withdraw_unpaid_upgrades(
    programme: Programme, state: TierState
) -> tuple[TierState, list[TierEvent]]:
    events: list[TierEvent] = []
    while state.upgrades and not _paid(programme, state):
        last = state.upgrades[-1]
        before = last.before
        counter = state.counter + last.removed
        state = _evolve(before, counter=counter, window=state.window)
        if _kind(programme) is PeriodKind.ROLLING:
            state = _evolve(state, counter=sum(amount for _, amount in state.window))
        events.append(
            TierEvent(
                "withdrawn",
                last.on,
                last.to_tier,
                before.tier,
                message(
                    N_("reversed activity no longer pays for {to} reached on {on}"),
                    to=_tier(programme, last.to_tier),
                    on=day(last.on),
                ),
            )
        )
    return state, events


def _upgrade(
    programme: Programme, state: TierState, on: date, activity_key: str | None = None
) -> tuple[TierState, list[TierEvent]]:
    tiers = programme.tiers
    mode = programme.qualification.on_tier_reached
    events: list[TierEvent] = []
    while True:
        current = _tier_index(programme, state.tier)
        target = next(
            (j for j in range(len(tiers) - 1, current, -1) if state.counter >= tiers[j].threshold),
            None,
        )
        if target is None:
            return state, events
        tier = tiers[target]
        removed = {
            OnTierReached.DEDUCT: tier.threshold,
            OnTierReached.RESET: state.counter,
            OnTierReached.KEEP: 0,
        }[mode]
        start, end = state.period_start, state.period_end
        if _kind(programme) is PeriodKind.PERSONAL:
            start, end = on, _period_end(programme, on)
        upgrade = Upgrade(
            on=on,
            from_tier=state.tier,
            to_tier=tier.code,
            removed=removed,
            before=state,
            activity_key=activity_key,
        )
        events.append(
            TierEvent(
                "upgraded",
                on,
                state.tier,
                tier.code,
                message(
                    N_("{counter} {currency} reached the {to} threshold of {threshold} {currency}"),
                    counter=state.counter,
                    threshold=tier.threshold,
                    to=_tier(programme, tier.code),
                    currency=_currency(programme),
                ),
            )
        )
        state = _evolve(
            state,
            tier=tier.code,
            since=on,
            counter=state.counter - removed,
            consecutive_periods=0,
            period_start=start,
            period_end=end,
            upgrades=(*state.upgrades, upgrade),
        )


def _end_period(programme: Programme, state: TierState) -> tuple[TierState, list[TierEvent]]:
    q = programme.qualification
    tiers = programme.tiers
    end = state.period_end
    assert end is not None
    if q.period.kind is PeriodKind.ROLLING:
        state = _with_window(programme, state, state.window, end)
    index = _tier_index(programme, state.tier)
    threshold = tiers[index].threshold
    counter = state.counter
    start = end + timedelta(days=1)
    events: list[TierEvent] = []
    if counter >= threshold:
        surplus = counter - threshold
        carried = 0
        status_kept = index > 0 or (
            q.rollover is not None and q.rollover.entry_tier is EntryTierRollover.CARRY
        )
        if q.rollover is not None and status_kept:
            carried = surplus if q.rollover.cap is None else min(surplus, q.rollover.cap)
        consecutive = state.consecutive_periods + 1
        if index > 0:  # the first tier is kept by everyone: no news, no event
            events.append(
                TierEvent(
                    "requalified",
                    end,
                    state.tier,
                    state.tier,
                    message(
                        N_(
                            "{counter} {currency} in the period reach the {to} threshold of"
                            " {threshold} {currency}; {carried} {currency} carried over"
                        ),
                        counter=counter,
                        threshold=threshold,
                        to=_tier(programme, state.tier),
                        carried=carried,
                        currency=_currency(programme),
                    ),
                )
            )
        lifetime = state.lifetime
        rule = q.lifetime
        if not lifetime and rule and rule.tier == state.tier and consecutive >= rule.after_periods:
            lifetime = True
            events.append(
                TierEvent(
                    "lifetime_granted",
                    end,
                    state.tier,
                    state.tier,
                    plural_message(
                        "{count} consecutive period at {to}: {to} for life",
                        "{count} consecutive periods at {to}: {to} for life",
                        consecutive,
                        to=_tier(programme, state.tier),
                    ),
                )
            )
        new_state = _evolve(
            state, counter=carried, consecutive_periods=consecutive, lifetime=lifetime
        )
    else:
        supported = max((j for j in range(index + 1) if tiers[j].threshold <= counter), default=0)
        target = supported
        if q.downgrade is Downgrade.SOFT_LANDING:
            target = max(supported, index - 1)
        if state.lifetime and q.lifetime is not None:
            target = max(target, min(index, programme.tier_index(q.lifetime.tier)))
        if target == index:
            events.append(
                TierEvent(
                    "requalified",
                    end,
                    state.tier,
                    state.tier,
                    message(
                        N_("{to} is held for life ({counter} {currency} in the period)"),
                        to=_tier(programme, state.tier),
                        counter=counter,
                        currency=_currency(programme),
                    ),
                )
            )
            new_state = _evolve(state, counter=0, consecutive_periods=state.consecutive_periods + 1)
        else:
            soft = q.downgrade is Downgrade.SOFT_LANDING and target > supported
            events.append(
                TierEvent(
                    "downgraded",
                    end,
                    state.tier,
                    tiers[target].code,
                    message(
                        N_(
                            "{counter} {currency} in the period, below the {frm} threshold of"
                            " {threshold} {currency}; soft landing: one tier down only"
                        )
                        if soft
                        else N_(
                            "{counter} {currency} in the period, below the {frm} threshold of"
                            " {threshold} {currency}"
                        ),
                        counter=counter,
                        threshold=threshold,
                        frm=_tier(programme, state.tier),
                        currency=_currency(programme),
                    ),
                )
            )
            new_state = _evolve(
                state, tier=tiers[target].code, since=start, counter=0, consecutive_periods=0
            )
    new_state = _evolve(
        new_state, period_start=start, period_end=_period_end(programme, start), upgrades=()
    )
    if q.period.kind is PeriodKind.ROLLING:
        new_state = _with_window(programme, new_state, new_state.window, start)
    return new_state, events


def _tier(programme: Programme, code: str) -> dict[str, Any]:
    """A tier's name in each language, as a message value."""
    return names(programme.tiers[_tier_index(programme, code)].name)


def _currency(programme: Programme) -> dict[str, Any]:
    """The qualifying currency's name in each language, as a message value."""
    return names(programme.qualifying_currency.name)
