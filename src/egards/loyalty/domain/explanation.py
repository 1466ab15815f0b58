"""The explanation of a tier and a balance, as messages to render in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from egards.errors import N_
from egards.loyalty.domain.earning import Earning
from egards.loyalty.domain.expiry import Bucket, balance_valid_until, fifo_order, is_exempt
from egards.loyalty.domain.tiers import TierState
from egards.loyalty.errors import (
    UnknownReference,
)
from egards.loyalty.programme import (
    ExpiryMode,
    OnTierReached,
    PeriodKind,
    Programme,
)
from egards.messages import day, message, names, plural_message

# --- explanation ----------------------------------------------------------------------------

# The explanation is returned as a stored message (egards.messages) and rendered in the
# reader's language by the caller (egards.i18n.render_message): the sentences' French is in
# loyalty's fr.po; numbers and days are written by Babel when rendered; tier, currency and
# activity names are the programme's, in each language.
Message = dict[str, Any]


def _joined(items: Sequence[Message], joiner: str, last_joiner: str | None = None) -> Message:
    """Items joined two by two by ``joiner`` (``{first}, {rest}``), the last two by
    ``last_joiner`` when given (``a, b and c``)."""
    joined = items[-1]
    for index, item in enumerate(reversed(items[:-1])):
        joined = message(
            last_joiner if index == 0 and last_joiner else joiner, first=item, rest=joined
        )
    return joined


@dataclass(frozen=True)
class PeriodCount:
    """What the current period counted towards the tier: the qualifying amount, and the
    activities it came from as (kind, how many), kinds in the order they were first counted."""

    amount: int = 0
    activities: tuple[tuple[str, int], ...] = ()


def count_period(
    programme: Programme, state: TierState, earnings: Sequence[Earning], *, as_of: date
) -> PeriodCount:
    """The current period's qualifying lines summed, and its activities counted by kind,
    reversed activities left out. ``earnings`` are the member's lines in the order they were
    counted (others than the qualifying currency's are ignored); when reaching the tier took
    its threshold (or the whole counter) off, the lines that went into reaching it (those up
    to the activity that reached it) are left out. The ledger gives the same in one aggregate
    (``service.earnings.period_count``)."""
    lines = _counted_lines(programme, state, earnings, as_of)
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
    return PeriodCount(sum(line.amount for line in lines), tuple(counts.items()))


def _count_activities(programme: Programme, counted: PeriodCount) -> Message | None:
    """``9 flights and 2 purchases``."""
    parts = []
    for code, n in counted.activities:
        try:
            kind = programme.activity(code)
            label: Any = names(kind.name if n == 1 else kind.plural)
        except UnknownReference:
            label = code
        parts.append(message(N_("{count} {activities}"), count=n, activities=label))
    return _joined(parts, N_("{first}, {rest}"), N_("{first} and {rest}")) if parts else None


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


def _sentences(sentences: Sequence[Message]) -> Message:
    return message(N_("{sentences}."), sentences=_joined(sentences, N_("{first}; {rest}")))


def explain_tier(programme: Programme, state: TierState, *, counted: PeriodCount) -> Message:
    """The member's tier in words an agent can read out, e.g. "Gold since 12 March 2025:
    184 XP from 9 flights in the current period; 46 XP needed by 11 March 2026 to keep Gold",
    as a message to render in the reader's language; ``counted`` is what the current period
    counted (:func:`count_period`).
    """
    q = programme.qualification
    currency = names(programme.qualifying_currency.name)
    tier = programme.tier(state.tier)
    name = names(tier.name)
    earned = counted.amount
    sources = _count_activities(programme, counted)
    head = message(N_("{tier} since {day}"), tier=name, day=day(state.since))
    if earned or sources:
        if sources:
            detail = message(
                N_("{amount} {currency} from {activities} in the current period"),
                amount=earned,
                currency=currency,
                activities=sources,
            )
        else:
            detail = message(
                N_("{amount} {currency} in the current period"), amount=earned, currency=currency
            )
        head = message(N_("{tier_since}: {detail}"), tier_since=head, detail=detail)
    sentences = [head]

    index = programme.tier_index(state.tier)
    following = programme.tiers[index + 1] if index + 1 < len(programme.tiers) else None
    if q.period.kind is not PeriodKind.CUMULATIVE:
        sentences.append(
            message(
                N_("qualification counter: {amount} {currency}"),
                amount=state.counter,
                currency=currency,
            )
        )
    if state.lifetime:
        sentences.append(message(N_("{tier} for life"), tier=name))
    elif state.period_end is not None and index > 0:
        missing = max(0, tier.threshold - state.counter)
        deadline = day(state.period_end)
        if missing:
            sentences.append(
                message(
                    N_("{amount} {currency} needed by {day} to keep {tier}"),
                    amount=missing,
                    currency=currency,
                    day=deadline,
                    tier=name,
                )
            )
        else:
            sentences.append(
                message(
                    N_("{tier} is already kept for the next period (evaluated on {day})"),
                    tier=name,
                    day=deadline,
                )
            )
    if following is not None:
        values = {
            "amount": max(0, following.threshold - state.counter),
            "currency": currency,
            "tier": names(following.name),
        }
        if state.period_end is not None and q.period.kind is not PeriodKind.ROLLING:
            text = message(
                N_("{amount} {currency} more to reach {tier} by {day}"),
                day=day(state.period_end),
                **values,
            )
        else:
            text = message(N_("{amount} {currency} more to reach {tier}"), **values)
        sentences.append(text)
    return _sentences(sentences)


def explain_balance(
    programme: Programme,
    currency: str,
    *,
    balance: int,
    tier: str,
    as_of: date,
    buckets: Sequence[Bucket] = (),
    last_activity_on: date | None = None,
) -> Message:
    """A spendable balance in words, with what expires next and why, as a message."""
    unit = names(programme.currency(currency).name)
    values: dict[str, Any] = {"amount": balance, "currency": unit}
    expiry = programme.currency(currency).expiry
    if expiry is None or expiry.mode is ExpiryMode.NEVER:
        return message(N_("{amount} {currency}, with no expiry date."), **values)
    if balance == 0:
        return message(N_("{amount} {currency}."), **values)
    if is_exempt(programme, currency, tier):
        return message(
            N_("{amount} {currency}; as {tier}, your {currency} do not expire."),
            tier=names(programme.tier(tier).name),
            **values,
        )
    if expiry.mode is ExpiryMode.AFTER_LAST_ACTIVITY and last_activity_on is not None:
        until = balance_valid_until(programme, currency, last_activity_on=last_activity_on)
        assert until is not None
        months = expiry.months or 0
        return message(
            N_(
                "{amount} {currency}, valid until {day}; any activity before then extends "
                "them by {months} (last activity on {last_day})."
            ),
            day=day(until),
            months=plural_message("{count} month", "{count} months", months),
            last_day=day(last_activity_on),
            **values,
        )
    dated = sorted((b for b in buckets if b.expires_on and b.amount), key=fifo_order)
    if dated:
        first_day = dated[0].expires_on
        assert first_day is not None
        soonest = sum(b.amount for b in dated if b.expires_on == first_day)
        return message(
            N_(
                "{amount} {currency}; {expiring} expire on {day} (soonest-expiring are spent "
                "first)."
            ),
            expiring=soonest,
            day=day(first_day),
            **values,
        )
    return message(N_("{amount} {currency}."), **values)


def explain(
    programme: Programme,
    state: TierState,
    *,
    counted: PeriodCount,
    balances: Mapping[str, int],
    as_of: date,
    buckets: Mapping[str, Sequence[Bucket]] | None = None,
    last_activity_on: date | None = None,
) -> list[Message]:
    """Tier and balances of a member, one message per subject (a paragraph each)."""
    paragraphs = [explain_tier(programme, state, counted=counted)]
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
            )
        )
    return paragraphs
