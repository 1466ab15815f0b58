"""The common case in bulk: plain earning posts, computed with the pure rules' own functions
but without asking them again what they already answered.

:class:`Earner` evaluates the earning rules once per distinct combination of what they look at
(activity kind, tier, which rules' validity windows hold the date, attributes, quantity) and
keeps the answer as a plan; an activity then costs the plan's arithmetic (a per-amount rule's
points through :func:`domain.per_amount`), itself remembered by amounts, so that most of a
day's activities cost two look-ups. :func:`count_plain` walks one member's activities with
integer counters and calls the pure tier rules (:func:`domain.close_periods`,
:func:`domain.apply_qualifying`) only when a period ends or a threshold is reached.

Anything unusual is not its business: refunds, caps per period, promotions, rolling
periods, attributes that cannot be hashed, rules that refuse an activity. Then it answers
``None`` and the caller goes through :func:`domain.count_activity` and the ledger, which stay
the specification. ``tests/unit/loyalty/test_fast_path.py`` checks that both give the same
rows, entry for entry, on random programmes and activity sequences.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from egards.loyalty import codec, domain
from egards.loyalty.errors import InvalidActivity
from egards.loyalty.programme import AmountRule, CurrencyKind, PeriodKind, Programme

# A step of a plan: a per-amount rule (its rate), or a fixed amount with its detail.
_Step = tuple[AmountRule, Decimal] | tuple[str, str, int, domain.Message, Any]

_UNUSUAL = object()  # a plan's answer when the pure rules must decide
_REMEMBERED = 100_000  # plans and answers an earner keeps, at most

Line = tuple[str, str, int, bool]
"""A line as the bulk path writes it: rule id, currency, amount, whether it qualifies."""
Answer = tuple[tuple[Line, ...], int]
"""An activity's lines, and the qualifying points they add up to."""


class Earner:
    """The earning rules of one programme, evaluated once per distinct combination."""

    def __init__(self, programme: Programme) -> None:
        self.programme = programme
        bounds: set[date] = set()
        for rule in programme.earning:
            if rule.valid_from is not None:
                bounds.add(rule.valid_from)
            if rule.valid_until is not None:
                bounds.add(rule.valid_until + timedelta(days=1))
        self._bounds = sorted(bounds)
        self._promoted = {rule for p in programme.promotions for rule in p.rules}
        self._qualifying = {
            c.code for c in programme.currencies if c.kind is CurrencyKind.QUALIFYING
        }
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        self._remembered = 0  # plans and answers kept

    def lines(self, activity: domain.Activity, tier: str) -> tuple[domain.Earning, ...] | None:
        """What :func:`domain.compute_earnings` gives a plain activity of a member of ``tier``
        with nothing earned under caps, or ``None`` when the activity is not plain."""
        plan = self._plan_of(activity, tier)
        if plan is None:
            return None
        return tuple(
            domain.earning_line(self.programme, activity, rule_id, currency, amount, detail)
            for rule_id, currency, amount, detail in _earned(plan.steps, activity)
        )

    def amounts(self, activity: domain.Activity, tier: str) -> Answer | None:
        """:meth:`lines` as the bulk path needs them (the reasons are rendered when read):
        rule id, currency, amount, and whether it qualifies, for each line, with the
        qualifying points they add up to. Remembered by plan and amounts, so that most
        activities cost two look-ups."""
        plan = self._plan_of(activity, tier)
        if plan is None:
            return None
        amounts = tuple(activity.amounts.items())
        answer = plan.answers.get(amounts)
        if answer is None:
            qualifying = self._qualifying
            lines = tuple(
                (r, c, a, c in qualifying) for r, c, a, _ in _earned(plan.steps, activity)
            )
            answer = (lines, sum(a for _, _, a, counts in lines if counts))
            self._remember()
            plan.answers[amounts] = answer
        return answer

    def _plan_of(self, activity: domain.Activity, tier: str) -> _Plan | None:
        if activity.reverses is not None:
            return None
        try:
            key = (
                activity.kind,
                tier,
                bisect_right(self._bounds, activity.on),
                tuple(activity.attributes.items()),
                activity.quantity,
            )
            plan = self._plans.get(key)
        except TypeError:  # attributes that cannot be hashed
            return None
        if plan is None:
            steps = self._plan(activity, tier)
            plan = _UNUSUAL_PLAN if steps is _UNUSUAL else _Plan(steps, {})
            self._remember()
            self._plans[key] = plan
        return plan if plan is not _UNUSUAL_PLAN else None

    def _remember(self) -> None:
        """Room for one more plan or answer: past the bound, everything is forgotten and
        what the next activities need is remembered again (an earner serves call after call,
        and some attributes may never repeat)."""
        if self._remembered >= _REMEMBERED:
            self._plans.clear()
            self._remembered = 0
        self._remembered += 1

    def _plan(self, activity: domain.Activity, tier: str) -> Any:
        """The steps of compute_earnings for activities like this one, or _UNUSUAL."""
        programme = self.programme
        try:
            programme.tier(tier)
        except Exception:  # the pure rules say what is wrong
            return _UNUSUAL
        steps: list[_Step] = []
        for rule in programme.earning:
            if not domain._applies(rule, activity):
                continue
            if rule.id in self._promoted or (rule.cap is not None and rule.cap.per_period):
                return _UNUSUAL
            if isinstance(rule, AmountRule):
                try:
                    steps.append((rule, domain.amount_rate(programme, rule, tier)))
                except KeyError:
                    return _UNUSUAL
                continue
            try:
                base = domain._base_amount(programme, rule, activity, tier)
            except InvalidActivity:
                return _UNUSUAL
            if base is None:
                continue
            amount, detail = base
            amount = domain._capped(rule.cap, amount, 0)
            steps.append((rule.id, rule.currency, amount, detail, None))
        return tuple(steps)


@dataclass
class _Plan:
    """The steps of compute_earnings for activities alike but for their amounts, and the
    answers already given, by amounts."""

    steps: tuple[_Step, ...]
    answers: dict[tuple[tuple[str, int], ...], Answer]


_UNUSUAL_PLAN = _Plan((), {})  # kept for activities the pure rules must decide


def _earned(
    steps: tuple[_Step, ...], activity: domain.Activity
) -> list[tuple[str, str, int, domain.Message]]:
    """An activity's lines by a plan's steps: rule id, currency, amount and detail."""
    lines = []
    for step in steps:
        if len(step) == 2:
            rule, rate = step
            amount, detail = domain.per_amount(
                rate, rule, domain.amount_cents(rule, activity.amounts)
            )
            amount = domain._capped(rule.cap, amount, 0)
            if amount > 0:
                lines.append((rule.id, rule.currency, amount, detail))
        elif step[2] > 0:
            lines.append(step[:4])
    return lines


@dataclass
class Plain:
    """One member's plain activities counted: each activity's earning lines, what they did
    to the tier, and the member's tier state after them (as stored: JSON)."""

    lines: list[tuple[Line, ...]]
    events: list[tuple[domain.TierEvent, ...]]
    tiers: list[str]  # the tier each activity earned at
    state: domain.TierState | None  # when the pure tier rules were called, else None
    tier_state: dict[str, Any]  # the stored state after the activities
    last_activity_on: date | None


class Tiers:
    """What the integer loop needs of a programme's tiers: the least counter that reaches a
    higher tier, by tier."""

    def __init__(self, programme: Programme) -> None:
        self.rolling = programme.qualification.period.kind is PeriodKind.ROLLING
        tiers = programme.tiers
        self.next_threshold = {
            tier.code: min((t.threshold for t in tiers[i + 1 :]), default=None)
            for i, tier in enumerate(tiers)
        }


def count_plain(
    programme: Programme,
    earner: Earner,
    tiers: Tiers,
    tier_state: Mapping[str, Any],
    last_activity_on: date | None,
    activities: Sequence[domain.Activity],
) -> Plain | None:
    """:func:`domain.count_activity` for each of a member's activities in order, when all of
    them are plain (else ``None``): an integer counter, and the pure tier rules when the
    activity falls after the period's end or the counter reaches a higher tier."""
    if tiers.rolling:
        return None
    tier: str = tier_state["tier"]
    counter: int = tier_state["counter"]
    end = tier_state["period_end"]
    period_end = date.fromisoformat(end) if end is not None else None
    state: domain.TierState | None = None
    all_lines: list[tuple[Line, ...]] = []
    all_events: list[tuple[domain.TierEvent, ...]] = []
    earned_at: list[str] = []
    amounts, next_threshold = earner.amounts, tiers.next_threshold
    for activity in activities:
        events: tuple[domain.TierEvent, ...] = ()
        if period_end is not None and activity.on > period_end:
            state = _counted(state or codec.state_from_json(dict(tier_state)), counter)
            closed = domain.close_periods(programme, state, as_of=activity.on)
            state, events = closed.state, closed.events
            tier, counter, period_end = state.tier, state.counter, state.period_end
        answer = amounts(activity, tier)
        if answer is None:
            return None
        lines, qualifying = answer
        earned_at.append(tier)
        counter += qualifying
        threshold = next_threshold[tier]
        if threshold is not None and counter >= threshold:
            state = state or codec.state_from_json(dict(tier_state))
            outcome = domain.apply_qualifying(
                programme,
                _counted(state, counter - qualifying),
                qualifying,
                on=activity.on,
                activity_key=activity.key,
            )
            state, events = outcome.state, events + outcome.events
            tier, counter, period_end = state.tier, state.counter, state.period_end
        if last_activity_on is None or activity.on > last_activity_on:
            last_activity_on = activity.on
        all_lines.append(lines)
        all_events.append(events)
    if state is not None:
        state = _counted(state, counter)
    stored = codec.state_to_json(state) if state is not None else {**tier_state, "counter": counter}
    return Plain(all_lines, all_events, earned_at, state, stored, last_activity_on)


def _counted(state: domain.TierState, counter: int) -> domain.TierState:
    """``state`` with the counter the integer loop kept (the state is only brought up to date
    when the pure rules need it, or at the end)."""
    return state if state.counter == counter else replace(state, counter=counter)
