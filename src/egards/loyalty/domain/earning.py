"""Activities and what they earn: validation, earning rules, caps and promotions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import (
    Decimal,
)
from typing import Any

from egards.errors import N_
from egards.loyalty.domain.dates import end_of_month, round_points
from egards.loyalty.errors import (
    InvalidActivity,
    UnknownReference,
)
from egards.loyalty.programme import (
    ActivityRule,
    AmountRule,
    Cap,
    Case,
    CurrencyKind,
    Programme,
    Promotion,
    Rounding,
    matches,
)
from egards.messages import message, money, names

Message = dict[str, Any]
"""A stored message (:mod:`egards.messages`), rendered in the reader's language when read."""

# Beyond this an activity is treated as a typing or unit error (cents given as euros × 100 twice).
MAX_AMOUNT_CENTS = 10_000_000_00
MAX_QUANTITY = 1_200
FUTURE_TOLERANCE = timedelta(days=2)

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
    reason: Message
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
        raise InvalidActivity(N_("an activity needs a key"), field="key")
    if activity.reverses is None:
        known = programme.activity_codes
        if activity.kind not in known:
            raise InvalidActivity(
                N_("unknown activity kind {activity_kind!r}"),
                activity_kind=activity.kind,
                field="kind",
                known=sorted(known),
            )
    for component, cents in activity.amounts.items():
        if isinstance(cents, bool) or not isinstance(cents, int):
            raise InvalidActivity(
                N_("amount {component!r} must be integer cents"),
                component=component,
                field=f"amounts.{component}",
            )
        if cents < 0:
            raise InvalidActivity(
                N_("amount {component!r} is negative: refunds reverse the original activity"),
                component=component,
                field=f"amounts.{component}",
                value=cents,
            )
    if activity.total_cents > max_amount_cents:
        raise InvalidActivity(
            N_("amount {total_cents} cents is beyond the limit of {max_amount_cents}"),
            total_cents=activity.total_cents,
            max_amount_cents=max_amount_cents,
            field="amounts",
            value=activity.total_cents,
        )
    if not 1 <= activity.quantity <= MAX_QUANTITY:
        raise InvalidActivity(
            N_("quantity must be between 1 and {max_quantity}"),
            max_quantity=MAX_QUANTITY,
            field="quantity",
        )
    if today is not None and activity.on > today + future_tolerance:
        raise InvalidActivity(
            N_("activity dated {value} is in the future"),
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
                N_("a reversal needs the earnings of the activity it reverses"),
                field="reverses",
                reverses=activity.reverses,
            )
        return reverse_earnings(original, reversal=activity)
    return [
        earning_line(programme, activity, rule_id, currency, amount, detail)
        for rule_id, currency, amount, detail in _lines(
            programme, activity, member_tier, earned_in_cap_window or {}
        )
        if amount > 0
    ]


def _lines(
    programme: Programme, activity: Activity, member_tier: str, earned: Mapping[str, int]
) -> list[tuple[str, str, int, Message]]:
    """Each rule's and promotion's line for an activity, amounts of zero included: rule or
    promotion id, currency, amount, and how the amount came (a message)."""
    programme.tier(member_tier)
    lines: list[tuple[str, str, int, Message]] = []
    for rule in programme.earning:
        if not _applies(rule, activity):
            continue
        base = _base_amount(programme, rule, activity, member_tier)
        if base is None:
            continue
        amount, detail = base
        amount = _capped(rule.cap, amount, earned.get(rule.id, 0))
        lines.append((rule.id, rule.currency, amount, detail))
        for promotion in programme.promotions:
            if rule.id not in promotion.rules or not _promotion_applies(
                promotion, activity, member_tier
            ):
                continue
            extra = promotion.bonus or 0
            if promotion.multiplier is not None:
                extra += round_points(amount * (promotion.multiplier - 1), promotion.rounding)
            extra = _capped(promotion.cap, extra, earned.get(promotion.id, 0))
            detail = message(
                N_("{promotion} on {rule}"),
                promotion=names(promotion.name),
                rule=rule_label(programme, rule.id),
            )
            lines.append((promotion.id, rule.currency, extra, detail))
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
    details: dict[str, list[Message]] = {}
    if tier is not None:
        try:
            for rule_id, _, _, detail in _lines(programme, activity, tier, {}):
                details.setdefault(rule_id, []).append(detail)
        except (InvalidActivity, UnknownReference, KeyError):
            details = {}
    lines = []
    for rule_id, currency, amount in posted:
        found = details.get(rule_id)
        lines.append(
            earning_line(
                programme, activity, rule_id, currency, amount, found.pop(0) if found else None
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
            reason=message(
                N_("reversal of {activity} ({reason})"),
                activity=line.activity_key,
                reason=line.reason,
            ),
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
) -> tuple[int, Message] | None:
    if isinstance(rule, AmountRule):
        return per_amount(
            amount_rate(programme, rule, tier), rule, amount_cents(rule, activity.amounts)
        )
    if rule.amount is not None:
        return rule.amount * activity.quantity, _times(rule.amount, activity.quantity)
    attributes = dict(activity.attributes)
    for case in rule.cases:
        if not matches(case.when, attributes):
            continue
        if case.amount is not None:
            return case.amount * activity.quantity, _case(
                rule, case, None, case.amount, activity.quantity
            )
        column = attributes.get(rule.by or "")
        if case.amounts is None or column not in case.amounts:
            raise InvalidActivity(
                N_("rule {rule_id} has no amount for {by}={column!r} in case {case_name}"),
                rule_id=rule.id,
                by=rule.by,
                column=column,
                case_name=case.name,
                field=f"attributes.{rule.by}",
                value=column,
                known=sorted(case.amounts or {}),
            )
        amount = case.amounts[column]
        return amount * activity.quantity, _case(rule, case, column, amount, activity.quantity)
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


# How a fractional number of points was made whole, in words.
_ROUNDED = {
    Rounding.FLOOR: N_("rounded down"),
    Rounding.CEILING: N_("rounded up"),
    Rounding.DOWN: N_("rounded towards zero"),
    Rounding.HALF_UP: N_("rounded to nearest, half up"),
    Rounding.HALF_DOWN: N_("rounded to nearest, half down"),
    Rounding.HALF_EVEN: N_("rounded to nearest, half to even"),
}


def per_amount(rate: Decimal, rule: AmountRule, cents: int) -> tuple[int, Message]:
    """What a per-amount rule earns on ``cents`` at ``rate``, with how (a message: the amount
    as money, the rate and the rounding, written the reader's way when read)."""
    amount = round_points(Decimal(cents) * rate / 100, rule.rounding)
    detail = message(
        N_("{amount} × {rate} ({rounding})"),
        amount=money(cents),
        rate=int(rate) if rate == rate.to_integral_value() else float(rate),
        rounding=message(_ROUNDED[rule.rounding]),
    )
    return amount, detail


def _times(amount: int, quantity: int) -> Message:
    """A fixed amount times the quantity."""
    return message(N_("{quantity} × {amount}"), quantity=quantity, amount=amount)


def _case(rule: ActivityRule, case: Case, column: Any, amount: int, quantity: int) -> Message:
    """A case of an activity rule (and the value of the column it reads), by the names the
    programme gives them for readers, with the fixed amount times the quantity when there is
    more than one. A value the programme does not name is quoted as the activity wrote it: a
    code, not a word of the reader's language."""
    name: Any = case.name if case.label is None else names(case.label)
    if column is not None:
        label = rule.values.get(str(column))
        column = message(N_("“{value}”"), value=str(column)) if label is None else names(label)
    if column is None:
        if quantity == 1:
            return message(N_("{case}"), case=name)
        return message(N_("{case}: {times}"), case=name, times=_times(amount, quantity))
    if quantity == 1:
        return message(N_("{case}, {value}"), case=name, value=column)
    return message(
        N_("{case}, {value}: {times}"),
        case=name,
        value=column,
        times=_times(amount, quantity),
    )


def _capped(cap: Cap | None, amount: int, already: int) -> int:
    if cap is None:
        return amount
    if cap.per_activity is not None:
        amount = min(amount, cap.per_activity)
    if cap.per_period is not None:
        amount = min(amount, max(0, cap.per_period - already))
    return amount


def earning_line(
    programme: Programme,
    activity: Activity,
    rule_id: str,
    currency: str,
    amount: int,
    detail: Message | None,
) -> Earning:
    """One earning line of ``activity``, its reason a message: the rule's name, how the
    amount came (``detail``; ``None`` when the rules no longer say: the amount alone), the
    amount and the currency's name."""
    found = programme.currency(currency)
    label = rule_label(programme, rule_id)
    if detail is None:
        reason = message(
            N_("{rule}: {amount} {currency}"),
            rule=label,
            amount=amount,
            currency=names(found.name),
        )
    else:
        reason = message(
            N_("{rule}: {detail} = {amount} {currency}"),
            rule=label,
            detail=detail,
            amount=amount,
            currency=names(found.name),
        )
    return Earning(
        activity_key=activity.key,
        activity_kind=activity.kind,
        currency=currency,
        amount=amount,
        rule_id=rule_id,
        reason=reason,
        on=activity.on,
        qualifying=found.kind is CurrencyKind.QUALIFYING,
    )


# Rule and promotion names by id, per programme object (programmes are frozen).
_LABELS: dict[int, tuple[Programme, dict[str, Message | str]]] = {}


def rule_label(programme: Programme, rule_id: str) -> Message | str:
    """A rule's or promotion's name in each language, or its id when it has none."""
    known = _LABELS.get(id(programme))
    if known is None or known[0] is not programme:
        labels: dict[str, Message | str] = {
            rule.id: names(rule.name) for rule in programme.earning if rule.name is not None
        }
        labels.update((p.id, names(p.name)) for p in programme.promotions)
        known = _LABELS[id(programme)] = (programme, labels)
    return known[1].get(rule_id, rule_id)
