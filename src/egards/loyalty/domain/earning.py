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
    CurrencyKind,
    Programme,
    Promotion,
    matches,
)

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
        raise InvalidActivity(N_("an activity needs a key"), field="key")
    if activity.reverses is None:
        known = {a.code for a in programme.activities}
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
                N_("rule {rule_id} has no amount for {by}={column!r} in case {case_name}"),
                rule_id=rule.id,
                by=rule.by,
                column=column,
                case_name=case.name,
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
