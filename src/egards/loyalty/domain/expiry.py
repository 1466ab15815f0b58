"""Expiry and redemption: buckets, first-in first-out consumption, lapses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from egards.errors import N_
from egards.loyalty.domain.dates import add_months, end_of_month
from egards.loyalty.errors import (
    InsufficientBalance,
    RedemptionRefused,
)
from egards.loyalty.programme import (
    ExpiryMode,
    Programme,
)
from egards.messages import plural_message

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
            plural_message(
                "{requested} requested, {count} available",
                "{requested} requested, {count} available",
                available,
                requested=amount,
            ),
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
        raise RedemptionRefused(N_("{currency} cannot be redeemed"), currency=currency)
    if amount < rules.minimum:
        raise RedemptionRefused(
            N_("at least {minimum} {currency} per redemption"),
            currency=currency,
            field="amount",
            amount=amount,
            minimum=rules.minimum,
        )
    if rules.maximum is not None and amount > rules.maximum:
        raise RedemptionRefused(
            N_("at most {maximum} {currency} per redemption"),
            currency=currency,
            field="amount",
            amount=amount,
            maximum=rules.maximum,
        )
    if amount % rules.multiple:
        raise RedemptionRefused(
            N_("redemptions go by multiples of {multiple} {currency}"),
            currency=currency,
            field="amount",
            amount=amount,
            multiple=rules.multiple,
        )
    if amount > available:
        raise InsufficientBalance(
            plural_message(
                "{amount} {currency} requested, {count} available",
                "{amount} {currency} requested, {count} available",
                available,
                amount=amount,
                currency=currency,
            ),
            field="amount",
            requested=amount,
            available=available,
        )
