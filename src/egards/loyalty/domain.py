"""The loyalty rules as pure functions: earning, tier qualification, expiry, explanation.

No I/O, no database, no clock: every function takes the programme, plain values and the date
it reasons about, and returns new values. Points are integers, money is integer cents, rates
are :class:`~decimal.Decimal` with the rounding the programme states. The in-memory ledger
that specifies the database ledger lives next door in :mod:`egards.loyalty.ledger`.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Decimal,
)
from typing import Any, Literal

from egards.formats import format_day as _format_day
from egards.formats import format_number as _format_number
from egards.loyalty.errors import (
    InsufficientBalance,
    InvalidActivity,
    RedemptionRefused,
    UnknownReference,
)
from egards.loyalty.programme import (
    ActivityRule,
    AmountRule,
    Cap,
    CurrencyKind,
    Downgrade,
    EntryTierRollover,
    ExpiryMode,
    OnTierReached,
    PeriodKind,
    Programme,
    Promotion,
    Rounding,
    matches,
)

# Beyond this an activity is treated as a typing or unit error (cents given as euros × 100 twice).
MAX_AMOUNT_CENTS = 10_000_000_00
MAX_QUANTITY = 1_200
FUTURE_TOLERANCE = timedelta(days=2)

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


def _evolve(state: TierState, **changes: Any) -> TierState:
    """``dataclasses.replace`` for a tier state, without its per-field checks (every field of
    a tier state is an init field); the batch paths make a few per activity and member."""
    return TierState(**{**state.__dict__, **changes})


# --- activities and earnings ----------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    """Something a member did: a purchase, a flight, a month of subscription, a refund.

    ``amounts`` are integer cents by component (``fare``, ``taxes``, ``delivery`` ...), so rules
    can exclude some; ``attributes`` are what rules match on (``cabin``, ``distance_miles``,
    ``category`` ...). ``reverses`` names the activity a refund or cancellation undoes.
    """

    key: str
    kind: str
    on: date
    amounts: Mapping[str, int] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    quantity: int = 1
    reverses: str | None = None

    @property
    def total_cents(self) -> int:
        return sum(self.amounts.values())


@dataclass(frozen=True)
class Earning:
    """Points of one currency awarded (or, negative, taken back) by one rule for one activity."""

    activity_key: str
    activity_kind: str
    currency: str
    amount: int
    rule_id: str
    reason: str
    reason_fr: str
    on: date
    qualifying: bool
    reverses: str | None = None


def validate_activity(
    programme: Programme,
    activity: Activity,
    *,
    today: date | None = None,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
    max_amount_cents: int = MAX_AMOUNT_CENTS,
) -> None:
    """Refuse an activity no rule should see: unknown kind, negative or absurd amounts, a
    quantity out of range, or a date further in the future than the tolerance."""
    if not activity.key:
        raise InvalidActivity("an activity needs a key", field="key")
    if activity.reverses is None:
        known = {a.code for a in programme.activities}
        if activity.kind not in known:
            raise InvalidActivity(
                f"unknown activity kind {activity.kind!r}", field="kind", known=sorted(known)
            )
    for component, cents in activity.amounts.items():
        if isinstance(cents, bool) or not isinstance(cents, int):
            raise InvalidActivity(
                f"amount {component!r} must be integer cents", field=f"amounts.{component}"
            )
        if cents < 0:
            raise InvalidActivity(
                f"amount {component!r} is negative: refunds reverse the original activity",
                field=f"amounts.{component}",
                value=cents,
            )
    if activity.total_cents > max_amount_cents:
        raise InvalidActivity(
            f"amount {activity.total_cents} cents is beyond the limit of {max_amount_cents}",
            field="amounts",
            value=activity.total_cents,
        )
    if not 1 <= activity.quantity <= MAX_QUANTITY:
        raise InvalidActivity(f"quantity must be between 1 and {MAX_QUANTITY}", field="quantity")
    if today is not None and activity.on > today + future_tolerance:
        raise InvalidActivity(
            f"activity dated {activity.on.isoformat()} is in the future",
            field="on",
            value=activity.on.isoformat(),
        )


def cap_window(cap: Cap, on: date) -> tuple[date, date] | None:
    """The period (first and last day) whose earnings count against a per-period cap."""
    if cap.period == "calendar_month":
        return date(on.year, on.month, 1), end_of_month(on)
    if cap.period == "calendar_year":
        return date(on.year, 1, 1), date(on.year, 12, 31)
    return None


def compute_earnings(
    programme: Programme,
    activity: Activity,
    member_tier: str,
    *,
    earned_in_cap_window: Mapping[str, int] | None = None,
    original: Sequence[Earning] | None = None,
) -> list[Earning]:
    """What an activity earns, one line per rule and promotion, in programme order.

    ``earned_in_cap_window`` gives, by rule or promotion id, what the member already earned in
    the cap window (see :func:`cap_window`) of that rule. A refund or cancellation
    (``activity.reverses``) earns nothing itself: it returns the exact negation of
    ``original``, the earnings recorded for the reversed activity, whatever the rules or the
    member's tier have become since.
    """
    if activity.reverses is not None:
        if original is None:
            raise InvalidActivity(
                "a reversal needs the earnings of the activity it reverses",
                field="reverses",
                reverses=activity.reverses,
            )
        return reverse_earnings(original, reversal=activity)
    return [
        _earning(programme, activity, rule_id, currency, amount, detail_en, detail_fr)
        for rule_id, currency, amount, detail_en, detail_fr in _lines(
            programme, activity, member_tier, earned_in_cap_window or {}
        )
        if amount > 0
    ]


def _lines(
    programme: Programme, activity: Activity, member_tier: str, earned: Mapping[str, int]
) -> list[tuple[str, str, int, str, str]]:
    """Each rule's and promotion's line for an activity, amounts of zero included: rule or
    promotion id, currency, amount, detail in English and in French."""
    programme.tier(member_tier)
    lines: list[tuple[str, str, int, str, str]] = []
    for rule in programme.earning:
        if not _applies(rule, activity):
            continue
        base = _base_amount(programme, rule, activity, member_tier)
        if base is None:
            continue
        amount, detail_en, detail_fr = base
        amount = _capped(rule.cap, amount, earned.get(rule.id, 0))
        lines.append((rule.id, rule.currency, amount, detail_en, detail_fr))
        for promotion in programme.promotions:
            if rule.id not in promotion.rules or not _promotion_applies(
                promotion, activity, member_tier
            ):
                continue
            extra = promotion.bonus or 0
            if promotion.multiplier is not None:
                extra += round_points(amount * (promotion.multiplier - 1), promotion.rounding)
            extra = _capped(promotion.cap, extra, earned.get(promotion.id, 0))
            lines.append(
                (
                    promotion.id,
                    rule.currency,
                    extra,
                    f"{promotion.name.en} on {rule.id}",
                    f"{promotion.name.fr} sur {rule.id}",
                )
            )
    return lines


def rendered_earnings(
    programme: Programme,
    activity: Activity,
    tier: str | None,
    posted: Sequence[tuple[str, str, int]],
) -> list[Earning]:
    """The earning lines of an activity as :func:`compute_earnings` gave them when it earned
    at ``tier``, rebuilt from what was posted (rule or promotion id, currency, amount, in the
    order of the entries): the rules give each line's detail, the entries its amount (caps
    per period are in the amounts). A line whose rule no longer says anything of the activity
    (its attributes erased, a rule removed from the programme) reads as its amount alone."""
    details: dict[str, list[tuple[str, str]]] = {}
    if tier is not None:
        try:
            for rule_id, _, _, detail_en, detail_fr in _lines(programme, activity, tier, {}):
                details.setdefault(rule_id, []).append((detail_en, detail_fr))
        except (InvalidActivity, UnknownReference, KeyError):
            details = {}
    lines = []
    for rule_id, currency, amount in posted:
        found = details.get(rule_id)
        if found:
            detail_en, detail_fr = found.pop(0)
            lines.append(
                _earning(programme, activity, rule_id, currency, amount, detail_en, detail_fr)
            )
        else:
            line = _earning(programme, activity, rule_id, currency, amount, "", "")
            lines.append(
                replace(
                    line,
                    reason=f"{rule_id}: {amount} {currency}",
                    reason_fr=f"{rule_id} : {amount} {currency}",
                )
            )
    return lines


def reverse_earnings(original: Sequence[Earning], *, reversal: Activity) -> list[Earning]:
    """The exact negation of each original line, keeping its currency and rule."""
    return [
        replace(
            line,
            activity_key=reversal.key,
            amount=-line.amount,
            reason=f"reversal of {line.activity_key} ({line.reason})",
            reason_fr=f"annulation de {line.activity_key} ({line.reason_fr})",
            on=reversal.on,
            reverses=line.activity_key,
        )
        for line in original
        if line.reverses is None
    ]


def _applies(rule: AmountRule | ActivityRule, activity: Activity) -> bool:
    if activity.kind not in rule.activities:
        return False
    if rule.valid_from and activity.on < rule.valid_from:
        return False
    if rule.valid_until and activity.on > rule.valid_until:
        return False
    return matches(rule.when, dict(activity.attributes))


def _promotion_applies(promotion: Promotion, activity: Activity, tier: str) -> bool:
    if not promotion.starts_on <= activity.on <= promotion.ends_on:
        return False
    if promotion.tiers is not None and tier not in promotion.tiers:
        return False
    return matches(promotion.when, dict(activity.attributes))


def _base_amount(
    programme: Programme, rule: AmountRule | ActivityRule, activity: Activity, tier: str
) -> tuple[int, str, str] | None:
    if isinstance(rule, AmountRule):
        return per_amount(
            amount_rate(programme, rule, tier), rule, amount_cents(rule, activity.amounts)
        )
    if rule.amount is not None:
        return rule.amount * activity.quantity, f"{rule.id}", f"{rule.id}"
    attributes = dict(activity.attributes)
    for case in rule.cases:
        if not matches(case.when, attributes):
            continue
        if case.amount is not None:
            return case.amount * activity.quantity, case.name, case.name
        column = attributes.get(rule.by or "")
        if case.amounts is None or column not in case.amounts:
            raise InvalidActivity(
                f"rule {rule.id} has no amount for {rule.by}={column!r} in case {case.name}",
                field=f"attributes.{rule.by}",
                value=column,
                known=sorted(case.amounts or {}),
            )
        detail = f"{case.name}, {column}"
        return case.amounts[column] * activity.quantity, detail, detail
    return None


def amount_rate(programme: Programme, rule: AmountRule, tier: str) -> Decimal:
    """The rate a per-amount rule earns at for a member of ``tier``."""
    if rule.rate == "tier":
        return programme.tier(tier).benefits.earn_rate or Decimal(0)
    if rule.rate_by_tier is not None:
        return rule.rate_by_tier[tier]
    return rule.rate or Decimal(0)


def amount_cents(rule: AmountRule, amounts: Mapping[str, int]) -> int:
    """The cents a per-amount rule earns on: the total less the excluded components."""
    return sum(amounts.values()) - sum(amounts.get(c, 0) for c in rule.exclude)


def per_amount(rate: Decimal, rule: AmountRule, cents: int) -> tuple[int, str, str]:
    """What a per-amount rule earns on ``cents`` at ``rate``, with its detail in English and
    French."""
    amount = round_points(Decimal(cents) * rate / 100, rule.rounding)
    detail = f"{Decimal(cents) / 100:.2f} EUR × {rate} ({rule.rounding.value})"
    return amount, detail, detail.replace(".", ",")


def _capped(cap: Cap | None, amount: int, already: int) -> int:
    if cap is None:
        return amount
    if cap.per_activity is not None:
        amount = min(amount, cap.per_activity)
    if cap.per_period is not None:
        amount = min(amount, max(0, cap.per_period - already))
    return amount


def _earning(
    programme: Programme,
    activity: Activity,
    rule_id: str,
    currency: str,
    amount: int,
    detail_en: str,
    detail_fr: str,
) -> Earning:
    qualifying = programme.currency(currency).kind is CurrencyKind.QUALIFYING
    return Earning(
        activity_key=activity.key,
        activity_kind=activity.kind,
        currency=currency,
        amount=amount,
        rule_id=rule_id,
        reason=f"{rule_id}: {detail_en} = {amount} {currency}",
        reason_fr=f"{rule_id} : {detail_fr} = {amount} {currency}",
        on=activity.on,
        qualifying=qualifying,
    )


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
    """A change (or confirmation) of tier, with the reason in both languages."""

    kind: TierEventKind
    on: date
    from_tier: str
    to_tier: str
    reason: str
    reason_fr: str


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
            _event(
                programme,
                "withdrawn",
                last.on,
                last.to_tier,
                before.tier,
                "reversed activity no longer pays for {to} reached on {on}",
                "l'activité annulée ne couvre plus le niveau {to} atteint le {on}",
                to=last.to_tier,
                day=last.on,
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
            _event(
                programme,
                "upgraded",
                on,
                state.tier,
                tier.code,
                "{counter} {currency} reached the {to} threshold of {threshold} {currency}",
                "{counter} {currency} atteignent le seuil de {threshold} {currency} du niveau {to}",
                counter=state.counter,
                threshold=tier.threshold,
                to=tier.code,
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
                _event(
                    programme,
                    "requalified",
                    end,
                    state.tier,
                    state.tier,
                    "{counter} {currency} in the period reach the {to} threshold of {threshold}"
                    " {currency}; {carried} {currency} carried over",
                    "{counter} {currency} sur la période atteignent le seuil de {threshold}"
                    " {currency} du niveau {to} ; {carried} {currency} reportés",
                    counter=counter,
                    threshold=threshold,
                    to=state.tier,
                    carried=carried,
                )
            )
        lifetime = state.lifetime
        rule = q.lifetime
        if not lifetime and rule and rule.tier == state.tier and consecutive >= rule.after_periods:
            lifetime = True
            events.append(
                _event(
                    programme,
                    "lifetime_granted",
                    end,
                    state.tier,
                    state.tier,
                    "{n} consecutive periods at {to}: {to} for life",
                    "{n} périodes consécutives au niveau {to} : {to} à vie",
                    n=consecutive,
                    to=state.tier,
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
                _event(
                    programme,
                    "requalified",
                    end,
                    state.tier,
                    state.tier,
                    "{to} is held for life ({counter} {currency} in the period)",
                    "{to} est acquis à vie ({counter} {currency} sur la période)",
                    to=state.tier,
                    counter=counter,
                )
            )
            new_state = _evolve(state, counter=0, consecutive_periods=state.consecutive_periods + 1)
        else:
            soft = q.downgrade is Downgrade.SOFT_LANDING and target > supported
            events.append(
                _event(
                    programme,
                    "downgraded",
                    end,
                    state.tier,
                    tiers[target].code,
                    "{counter} {currency} in the period, below the {frm} threshold of"
                    " {threshold} {currency}"
                    + ("; soft landing: one tier down only" if soft else ""),
                    "{counter} {currency} sur la période, sous le seuil de {threshold} {currency}"
                    " du niveau {frm}" + (" ; rétrogradation d'un seul niveau" if soft else ""),
                    counter=counter,
                    threshold=threshold,
                    frm=state.tier,
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


def _event(
    programme: Programme,
    kind: TierEventKind,
    on: date,
    from_tier: str,
    to_tier: str,
    en: str,
    fr: str,
    **values: Any,
) -> TierEvent:
    def words(template: str, lang: str) -> str:
        named = {
            key: (
                programme.tiers[_tier_index(programme, value)].name.get(lang)
                if key in ("to", "frm")
                else format_date(value, lang)
                if isinstance(value, date)
                else format_number(value, lang)
                if isinstance(value, int)
                else value
            )
            for key, value in values.items()
        }
        named["currency"] = programme.qualifying_currency.name.get(lang)
        if "day" in named:
            named["on"] = named["day"]
        return template.format(**named)

    return TierEvent(kind, on, from_tier, to_tier, words(en, "en"), words(fr, "fr"))


# --- expiry and redemption ------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """Spendable points earned together, valid until ``expires_on`` included (``None``: no
    date of their own). ``amount`` is what remains of them."""

    id: str
    earned_on: date
    expires_on: date | None
    amount: int


@dataclass(frozen=True)
class Allocation:
    """Part of a bucket taken by a redemption, a hold, an expiry or a reversal."""

    bucket_id: str
    amount: int


def fifo_order(bucket: Bucket) -> tuple[bool, date, date, str]:
    """Soonest-expiring first; buckets without a date last; ties by earning date then id."""
    return (bucket.expires_on is None, bucket.expires_on or date.max, bucket.earned_on, bucket.id)


def consume_fifo(
    buckets: Sequence[Bucket], amount: int, *, first: str | None = None
) -> tuple[tuple[Bucket, ...], tuple[Allocation, ...]]:
    """Take ``amount`` from the buckets, soonest-expiring first (``first`` names a bucket to
    drain before the others, e.g. the one a reversed earning created).

    Returns the remaining buckets (empty ones dropped) and what was taken from which bucket.
    Raises :class:`InsufficientBalance` when the buckets do not hold enough.
    """
    available = sum(b.amount for b in buckets)
    if amount > available:
        raise InsufficientBalance(
            f"{amount} requested, {available} available",
            requested=amount,
            available=available,
        )
    order = sorted(buckets, key=lambda b: (b.id != first, fifo_order(b)))
    remaining: list[Bucket] = []
    taken: list[Allocation] = []
    left = amount
    for bucket in order:
        take = min(left, bucket.amount)
        if take:
            taken.append(Allocation(bucket.id, take))
            left -= take
        if bucket.amount - take:
            remaining.append(replace(bucket, amount=bucket.amount - take))
    return tuple(sorted(remaining, key=fifo_order)), tuple(taken)


def expiry_date(programme: Programme, currency: str, *, earned_on: date) -> date | None:
    """Last valid day of points earned on ``earned_on`` when each earning expires on its own
    (``after_earning``); ``None`` when the currency never expires or expires as a whole."""
    expiry = programme.currency(currency).expiry
    if expiry is None or expiry.mode is not ExpiryMode.AFTER_EARNING:
        return None
    return _valid_until(expiry.months or 0, expiry.end_of_month, earned_on)


def balance_valid_until(
    programme: Programme, currency: str, *, last_activity_on: date
) -> date | None:
    """Last valid day of the whole balance when any activity extends it
    (``after_last_activity``); ``None`` for the other modes."""
    expiry = programme.currency(currency).expiry
    if expiry is None or expiry.mode is not ExpiryMode.AFTER_LAST_ACTIVITY:
        return None
    return _valid_until(expiry.months or 0, expiry.end_of_month, last_activity_on)


def lapse_possible_before(programme: Programme, currency: str, *, as_of: date) -> date | None:
    """For a balance kept alive by activity: the day before which a last activity must lie for
    the balance to lapse on ``as_of`` (months counted as 28 days, so never later than the exact
    rule of :func:`balance_lapses`: a filter, not the rule). ``None`` for the other modes."""
    expiry = programme.currency(currency).expiry
    if expiry is None or expiry.mode is not ExpiryMode.AFTER_LAST_ACTIVITY:
        return None
    return as_of - timedelta(days=28 * (expiry.months or 0) - 1)


def _valid_until(months: int, month_end: bool, start: date) -> date:
    if month_end:
        return end_of_month(add_months(start, months))
    return add_months(start, months) - timedelta(days=1)


def is_exempt(programme: Programme, currency: str, tier: str) -> bool:
    expiry = programme.currency(currency).expiry
    return expiry is not None and tier in expiry.exempt_tiers


def due_expiries(
    programme: Programme,
    currency: str,
    buckets: Sequence[Bucket],
    *,
    as_of: date,
    tier: str,
    exempt_until: date | None = None,
) -> tuple[Allocation, ...]:
    """Buckets that lapse on ``as_of`` (their last valid day is before it).

    A member holding an exempt tier loses nothing. ``exempt_until`` is the day the member
    stopped holding an exempt tier: buckets whose date fell while exempt get a fresh validity
    from that day instead of lapsing at once.
    """
    expiry = programme.currency(currency).expiry
    if expiry is None or expiry.mode is not ExpiryMode.AFTER_EARNING:
        return ()
    if is_exempt(programme, currency, tier):
        return ()
    due: list[Allocation] = []
    for bucket in sorted(buckets, key=fifo_order):
        last_day = bucket.expires_on
        if last_day is None:
            continue
        if exempt_until is not None and last_day < exempt_until:
            last_day = _valid_until(expiry.months or 0, expiry.end_of_month, exempt_until)
        if last_day < as_of and bucket.amount > 0:
            due.append(Allocation(bucket.id, bucket.amount))
    return tuple(due)


def balance_lapses(
    programme: Programme, currency: str, *, last_activity_on: date, as_of: date, tier: str
) -> bool:
    """Whether the whole balance lapses on ``as_of`` for want of activity."""
    if is_exempt(programme, currency, tier):
        return False
    valid_until = balance_valid_until(programme, currency, last_activity_on=last_activity_on)
    return valid_until is not None and valid_until < as_of


def check_redemption(programme: Programme, currency: str, amount: int, *, available: int) -> None:
    """Refuse a redemption below the minimum, above the maximum, not a permitted multiple, of a
    currency that cannot be redeemed, or above the available balance."""
    rules = programme.currency(currency).redemption
    if rules is None:
        raise RedemptionRefused(f"{currency} cannot be redeemed", currency=currency)
    if amount < rules.minimum:
        raise RedemptionRefused(
            f"at least {rules.minimum} {currency} per redemption",
            field="amount",
            amount=amount,
            minimum=rules.minimum,
        )
    if rules.maximum is not None and amount > rules.maximum:
        raise RedemptionRefused(
            f"at most {rules.maximum} {currency} per redemption",
            field="amount",
            amount=amount,
            maximum=rules.maximum,
        )
    if amount % rules.multiple:
        raise RedemptionRefused(
            f"redemptions go by multiples of {rules.multiple} {currency}",
            field="amount",
            amount=amount,
            multiple=rules.multiple,
        )
    if amount > available:
        raise InsufficientBalance(
            f"{amount} {currency} requested, {available} available",
            field="amount",
            requested=amount,
            available=available,
        )


# --- explanation ----------------------------------------------------------------------------


def format_date(day: date | None, lang: str = "en") -> str:
    """``12 March 2025`` / ``1er mars 2025`` (Babel); nothing for no date."""
    return _format_day(day, lang)


def format_number(value: int, lang: str = "en") -> str:
    """``12,450`` / ``12 450`` (Babel: a narrow no-break space in French)."""
    return _format_number(value, lang)


def _count_activities(programme: Programme, lines: Iterable[Earning], lang: str) -> str:
    """``9 flights and 2 purchases`` from qualifying lines, reversed activities left out."""
    net: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for line in lines:
        key = line.reverses or line.activity_key
        net[key] = net.get(key, 0) + line.amount
        if line.reverses is None:
            kinds[key] = line.activity_kind
    counts: dict[str, int] = {}
    for key, amount in net.items():
        if amount and key in kinds:
            counts[kinds[key]] = counts.get(kinds[key], 0) + 1
    parts = []
    for code, n in counts.items():
        try:
            kind = programme.activity(code)
            label = (kind.name if n == 1 else kind.plural).get(lang)
        except UnknownReference:
            label = code
        parts.append(f"{n} {label}")
    if not parts:
        return ""
    joiner = " et " if lang == "fr" else " and "
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + joiner + parts[-1]


def _counted_lines(
    programme: Programme, state: TierState, earnings: Sequence[Earning], as_of: date
) -> list[Earning]:
    code = programme.qualification.currency
    lines = [e for e in earnings if e.currency == code and state.period_start <= e.on <= as_of]
    reached = state.upgrades[-1] if state.upgrades else None
    if reached is None or programme.qualification.on_tier_reached is OnTierReached.KEEP:
        return lines
    keys = [line.activity_key for line in lines]
    if reached.activity_key in keys:
        last = len(keys) - 1 - keys[::-1].index(reached.activity_key)
        return lines[last + 1 :]
    return [line for line in lines if line.on > reached.on]


def explain_tier(
    programme: Programme,
    state: TierState,
    *,
    earnings: Sequence[Earning],
    as_of: date,
    lang: str = "en",
) -> str:
    """The member's tier in words an agent can read out, e.g. "Gold since 12 March 2025:
    184 XP from 9 flights in the current period; 46 XP needed by 11 March 2026 to keep Gold".

    ``earnings`` are the member's lines in the order they were counted (others than the
    qualifying currency's are ignored); those of the current period are summarised, except,
    when reaching the tier took its threshold (or the whole counter) off, the lines that went
    into reaching it: those up to the activity that reached it.
    """
    fr = lang == "fr"
    q = programme.qualification
    currency = programme.qualifying_currency.name.get(lang)
    tier = programme.tier(state.tier)
    name = tier.name.get(lang)
    period_lines = _counted_lines(programme, state, earnings, as_of)
    earned = sum(e.amount for e in period_lines)
    sources = _count_activities(programme, period_lines, lang)
    since = format_date(state.since, lang)
    sentences = []
    head = f"{name} depuis le {since}" if fr else f"{name} since {since}"
    if earned or sources:
        detail = f"{format_number(earned, lang)} {currency}"
        if sources:
            detail += f" grâce à {sources}" if fr else f" from {sources}"
        detail += " sur la période en cours" if fr else " in the current period"
        head += f" : {detail}" if fr else f": {detail}"
    sentences.append(head)

    index = programme.tier_index(state.tier)
    following = programme.tiers[index + 1] if index + 1 < len(programme.tiers) else None
    counter = format_number(state.counter, lang)
    if q.period.kind is not PeriodKind.CUMULATIVE:
        sentences.append(
            f"compteur de qualification : {counter} {currency}"
            if fr
            else f"qualification counter: {counter} {currency}"
        )
    if state.lifetime:
        sentences.append(f"{name} acquis à vie" if fr else f"{name} for life")
    elif state.period_end is not None and index > 0:
        missing = max(0, tier.threshold - state.counter)
        deadline = format_date(state.period_end, lang)
        if missing:
            sentences.append(
                f"{format_number(missing, lang)} {currency} à obtenir d'ici le {deadline} "
                f"pour conserver {name}"
                if fr
                else f"{format_number(missing, lang)} {currency} needed by {deadline} "
                f"to keep {name}"
            )
        else:
            sentences.append(
                f"{name} est déjà conservé pour la prochaine période (évaluée le {deadline})"
                if fr
                else f"{name} is already kept for the next period (evaluated on {deadline})"
            )
    if following is not None:
        missing = max(0, following.threshold - state.counter)
        label = following.name.get(lang)
        text = (
            f"{format_number(missing, lang)} {currency} de plus pour atteindre {label}"
            if fr
            else f"{format_number(missing, lang)} {currency} more to reach {label}"
        )
        if state.period_end is not None and q.period.kind is not PeriodKind.ROLLING:
            deadline = format_date(state.period_end, lang)
            text += f" avant le {deadline}" if fr else f" by {deadline}"
        sentences.append(text)
    return (" ; " if fr else "; ").join(sentences) + "."


def explain_balance(
    programme: Programme,
    currency: str,
    *,
    balance: int,
    tier: str,
    as_of: date,
    buckets: Sequence[Bucket] = (),
    last_activity_on: date | None = None,
    lang: str = "en",
) -> str:
    """A spendable balance in words, with what expires next and why."""
    fr = lang == "fr"
    unit = programme.currency(currency).name.get(lang)
    text = f"{format_number(balance, lang)} {unit}"
    expiry = programme.currency(currency).expiry
    tier_name = programme.tier(tier).name.get(lang)
    if expiry is None or expiry.mode is ExpiryMode.NEVER or balance == 0:
        if expiry is None or expiry.mode is ExpiryMode.NEVER:
            text += ", sans date d'expiration" if fr else ", with no expiry date"
        return text + "."
    if is_exempt(programme, currency, tier):
        return text + (
            f" ; en tant que {tier_name}, vos {unit} n'expirent pas."
            if fr
            else f"; as {tier_name}, your {unit} do not expire."
        )
    if expiry.mode is ExpiryMode.AFTER_LAST_ACTIVITY and last_activity_on is not None:
        until = balance_valid_until(programme, currency, last_activity_on=last_activity_on)
        assert until is not None
        return text + (
            f", valables jusqu'au {format_date(until, lang)} ; toute activité d'ici là les "
            f"prolonge de {expiry.months} mois (dernière activité le "
            f"{format_date(last_activity_on, lang)})."
            if fr
            else f", valid until {format_date(until, lang)}; any activity before then extends "
            f"them by {expiry.months} months (last activity on "
            f"{format_date(last_activity_on, lang)})."
        )
    dated = sorted((b for b in buckets if b.expires_on and b.amount), key=fifo_order)
    if dated:
        first_day = dated[0].expires_on
        assert first_day is not None
        soonest = sum(b.amount for b in dated if b.expires_on == first_day)
        text += (
            f" ; {format_number(soonest, lang)} expirent le {format_date(first_day, lang)}"
            " (les plus anciens sont dépensés en premier)"
            if fr
            else f"; {format_number(soonest, lang)} expire on {format_date(first_day, lang)}"
            " (soonest-expiring are spent first)"
        )
    return text + "."


def explain(
    programme: Programme,
    state: TierState,
    *,
    earnings: Sequence[Earning],
    balances: Mapping[str, int],
    as_of: date,
    buckets: Mapping[str, Sequence[Bucket]] | None = None,
    last_activity_on: date | None = None,
    lang: str = "en",
) -> str:
    """Tier and balances of a member, one paragraph per subject, in ``lang`` (``fr``/``en``)."""
    paragraphs = [explain_tier(programme, state, earnings=earnings, as_of=as_of, lang=lang)]
    for currency in programme.spendable_currencies:
        paragraphs.append(
            explain_balance(
                programme,
                currency.code,
                balance=balances.get(currency.code, 0),
                tier=state.tier,
                as_of=as_of,
                buckets=(buckets or {}).get(currency.code, ()),
                last_activity_on=last_activity_on,
                lang=lang,
            )
        )
    return "\n".join(paragraphs)
