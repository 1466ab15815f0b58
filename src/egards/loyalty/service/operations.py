"""Operations on a member: enrolment (which applies the activities parked for them),
redemptions and holds, cancelled redemptions, goodwill points, and a tier changed by
exception. Each runs on the member's locked book and records its audit entry and the
customer's timeline event."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.customers import service as customers
from egards.errors import Conflict, InvalidInput
from egards.i18n import N_, day, message, names
from egards.loyalty import codec, domain
from egards.loyalty.ledger import AccountKind
from egards.loyalty.models import Entry, Member

from ._common import Today, get_programme, today
from .activities import _apply_parked
from .books import Book, _lock, _record_tier_events, close_book, resume_book
from .reading import find_member


def enrol(
    session: Session, *, actor: Actor, customer_id: int, programme_code: str, on: date | None = None
) -> Member:
    """Make a customer a member; the loyalty number is their existing one, or a new one."""
    actor.require(Permission.LOYALTY_WRITE)
    programme = get_programme(programme_code)
    customers.check_visible(session, actor=actor, customer_id=customer_id)
    existing = session.scalar(
        select(Member).where(Member.customer_id == customer_id, Member.programme == programme.code)
    )
    if existing is not None:
        raise Conflict(
            N_("customer {customer_id} is already a member of {programme_code}"),
            customer_id=customer_id,
            programme_code=programme.code,
            field="customer_id",
            member_id=existing.id,
        )
    number = programme.member_number(
        customer_id,
        customers.identity_values(session, customer_id, "loyalty_number"),
    )
    start = on or today()
    state = domain.enrol(programme, on=start)
    member = Member(
        customer_id=customer_id,
        programme=programme.code,
        number=number,
        enrolled_on=start,
        tier=state.tier,
        tier_since=state.since,
        period_end=state.period_end,
        counter=state.counter,
        tier_state=codec.state_to_json(state),
        entries_count=0,
    )
    session.add(member)
    session.flush()
    customers.record_change(
        session,
        actor=actor,
        action="loyalty.enrol",
        kind="loyalty.enrolled",
        entity=("loyalty_member", member.id),
        customer_id=customer_id,
        after={"programme": programme.code, "number": number},
        summary=message(
            N_("Joined {programme} as {tier} ({number})"),
            programme=names(programme.name),
            tier=names(programme.tier(state.tier).name),
            number=number,
        ),
        silo="loyalty",
    )
    _apply_parked(session, actor=actor, member=member)
    return member


def _open_for_change(
    session: Session, actor: Actor, member_id: int, permission: Permission
) -> Book:
    """A member's book, locked, for an actor allowed to change it and to see the customer."""
    actor.require(permission)
    find_member(session, actor=actor, member_id=member_id)
    return resume_book(session, _lock(session, member_id))


def redeem(
    session: Session,
    *,
    actor: Actor,
    member_id: int,
    key: str,
    currency: str,
    amount: int,
    hold: bool = False,
    memo: str = "",
    today: Today = today,
) -> Entry:
    """Spend points (or reserve them with ``hold``), soonest-expiring first; never below zero."""
    book = _open_for_change(session, actor, member_id, Permission.LOYALTY_WRITE)
    spendable = {c.code for c in book.programme.spendable_currencies}
    if currency not in spendable:
        raise InvalidInput(
            N_("{currency} is not a spendable currency of {programme_code}"),
            currency=currency,
            programme_code=book.programme.code,
            field="currency",
            allowed=", ".join(sorted(spendable)),
        )
    account = book.account(currency)
    if not book.ledger.has_key(key):  # a replay returns the first result, checked then
        domain.check_redemption(
            book.programme, currency, amount, available=book.ledger.available(account)
        )
    entry = book.apply(
        "post",
        key=key,
        debit=account,
        credit=book.programme_account(AccountKind.REDEMPTION, currency),
        amount=amount,
        on=today(),
        kind="redemption",
        pending=hold,
        memo=memo,
    )
    return _finish(
        session,
        book,
        entry.id,
        actor,
        "loyalty.hold" if hold else "loyalty.redeem",
        message(
            (N_("Held {amount}: {memo}") if memo else N_("Held {amount}"))
            if hold
            else (N_("Redeemed {amount}: {memo}") if memo else N_("Redeemed {amount}")),
            amount=_amount(book, amount, currency),
            memo=memo,
        ),
    )


def resolve_hold(
    session: Session,
    *,
    actor: Actor,
    member_id: int,
    seq: int,
    key: str,
    settle: bool,
    today: Today = today,
) -> Entry:
    book = _open_for_change(session, actor, member_id, Permission.LOYALTY_WRITE)
    op = "settle" if settle else "void"
    entry = book.apply(op, key=key, pending_id=seq, on=today())
    return _finish(
        session,
        book,
        entry.id,
        actor,
        f"loyalty.hold_{op}",
        message(
            N_("Hold {seq} settled") if settle else N_("Hold {seq} cancelled, points returned"),
            seq=str(seq),
        ),
    )


def cancel_redemption(
    session: Session, *, actor: Actor, member_id: int, seq: int, key: str, today: Today = today
) -> Entry:
    """Give a redemption's points back, with the expiry they had."""
    book = _open_for_change(session, actor, member_id, Permission.LOYALTY_WRITE)
    entry = book.apply("reverse", key=key, entry_id=seq, on=today(), memo="redemption cancelled")
    return _finish(
        session,
        book,
        entry.id,
        actor,
        "loyalty.redemption_cancelled",
        message(
            N_("Redemption {seq} cancelled: {amount} returned"),
            seq=str(seq),
            amount=_amount(book, entry.amount, entry.currency),
        ),
    )


def grant_points(
    session: Session,
    *,
    actor: Actor,
    member_id: int,
    key: str,
    currency: str,
    amount: int,
    reason: str,
    today: Today = today,
) -> Entry:
    """Goodwill points from the programme's goodwill account (service recovery builds on it)."""
    book = _open_for_change(session, actor, member_id, Permission.LOYALTY_WRITE)
    entry = book.apply(
        "post",
        key=key,
        debit=book.programme_account(AccountKind.GOODWILL, currency),
        credit=book.account(currency),
        amount=amount,
        on=today(),
        kind="goodwill",
        memo=reason,
        expires_on=domain.expiry_date(book.programme, currency, earned_on=today()),
    )
    return _finish(
        session,
        book,
        entry.id,
        actor,
        "loyalty.goodwill",
        message(
            N_("{amount} offered: {reason}"), amount=_amount(book, amount, currency), reason=reason
        ),
    )


def _amount(book: Book, amount: int, currency: str) -> dict[str, Any]:
    """``8 000 Miles``: an amount in the programme's name of its currency, as a message."""
    return message(
        N_("{amount} {currency}"),
        amount=amount,
        currency=names(book.programme.currency(currency).name),
    )


def _finish(
    session: Session, book: Book, seq: int, actor: Actor, action: str, summary: dict[str, Any]
) -> Entry:
    fresh = bool(book.ops)
    close_book(session, book)
    entry = session.scalars(
        select(Entry).where(Entry.member_id == book.member.id, Entry.seq == seq)
    ).one()
    if fresh:
        customers.record_change(
            session,
            actor=actor,
            action=action,
            # An entry is its member's (seq below): the member's records are the ones an
            # erasure redacts.
            entity=("loyalty_member", book.member.id),
            customer_id=book.member.customer_id,
            after={
                "seq": seq,
                "amount": entry.amount,
                "currency": entry.currency,
                "key": entry.key,
            },
            summary=summary,
            channel="api",
            silo="loyalty",
        )
    return entry


def change_tier_by_exception(
    session: Session,
    *,
    actor: Actor,
    member_id: int,
    tier: str,
    justification: str,
    new_period: bool = False,
    today: Today = today,
) -> Member:
    """A manual tier change: only by exception, by a supervisor, with a written justification.

    With ``new_period`` the tier (which may be the current one: "keep Gold one more period")
    is held for a whole new qualification period starting today; the counter is kept.
    """
    book = _open_for_change(session, actor, member_id, Permission.LOYALTY_EXCEPTION)
    book.programme.tier(tier)  # unknown tiers are refused with the programme's own error
    before = book.state.tier
    if tier == before and not new_period:
        raise Conflict(N_("the member is already {tier}"), tier=tier, field="tier")
    book.state = replace(
        book.state, tier=tier, since=book.state.since if tier == before else today(), upgrades=()
    )
    if new_period:
        book.state = domain.hold_period(book.programme, book.state, on=today())
    rank = book.programme.tier_index

    def name(code: str) -> dict[str, Any]:  # tiers and dates in words, not codes
        return names(book.programme.tier(code).name)

    if tier != before:
        reason = message(
            N_("{frm} → {to} by exception: {justification}"),
            frm=name(before),
            to=name(tier),
            justification=justification,
        )
    else:
        end = book.state.period_end
        reason = message(
            N_("{tier} held until {end} by exception: {justification}"),
            tier=name(tier),
            end=day(end) if end is not None else "",
            justification=justification,
        )

    event = domain.TierEvent(
        kind="upgraded"
        if rank(tier) > rank(before)
        else "requalified"
        if tier == before
        else "downgraded",
        on=today(),
        from_tier=before,
        to_tier=tier,
        reason=reason,
    )
    close_book(session, book)
    _record_tier_events(
        session, book, (event,), actor=actor, source="exception", justification=justification
    )
    audit.record(
        session,
        actor=actor,
        action="loyalty.tier_exception",
        entity_type="loyalty_member",
        entity_id=member_id,
        customer_id=book.member.customer_id,
        before={"tier": before},
        after={"tier": tier},
        reason=justification,
    )
    return book.member
