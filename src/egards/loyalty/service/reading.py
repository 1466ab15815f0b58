"""Reading members: finding one for an actor who may see them, a customer's memberships,
balances, progress towards the next tier, the statement of entries, the explanation an agent
reads to the customer, tier history and counts. Nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.bulk import select_in
from egards.customers import service as customers
from egards.errors import DomainError, NotFound
from egards.i18n import N_, render_message
from egards.loyalty import domain
from egards.loyalty.models import Balance, Entry, Member, TierChange
from egards.loyalty.programme import ExpiryMode

from ._common import Today, get_programme, today
from .books import resume_book
from .earnings import period_count


def find_member(session: Session, *, actor: Actor, member_id: int) -> Member:
    actor.require(Permission.LOYALTY_READ)
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(N_("member {member_id} not found"), member_id=member_id, field="member_id")
    customers.check_visible(session, actor=actor, customer_id=member.customer_id, referenced=True)
    return member


def customer_members(session: Session, *, actor: Actor, customer_id: int) -> list[Member]:
    """A customer's memberships, for an actor who reads loyalty and sees the customer."""
    actor.require(Permission.LOYALTY_READ)
    customers.check_visible(session, actor=actor, customer_id=customer_id)
    return members_of(session, customer_id=customer_id)


def members_of(session: Session, *, customer_id: int) -> list[Member]:
    return list(
        session.scalars(select(Member).where(Member.customer_id == customer_id).order_by(Member.id))
    )


def balances(session: Session, *, member: Member) -> list[Balance]:
    """One balance per currency of the programme, zero where nothing was ever posted."""
    stored = {
        b.currency: b
        for b in session.scalars(select(Balance).where(Balance.member_id == member.id))
    }
    currencies = sorted(c.code for c in get_programme(member.programme).currencies)
    return [
        stored.get(code)
        or Balance(member_id=member.id, currency=code, balance=0, available=0, pending_credits=0)
        for code in currencies
    ]


def progress(member: Member) -> dict[str, Any]:
    """Next tier and what is missing, and what keeping the current tier needs."""
    programme = get_programme(member.programme)
    index = programme.tier_index(member.tier)
    result: dict[str, Any] = {"next_tier": None, "needed_for_next": None, "needed_to_keep": None}
    if index + 1 < len(programme.tiers):
        upper = programme.tiers[index + 1]
        result["next_tier"] = upper.code
        result["needed_for_next"] = max(upper.threshold - member.counter, 0)
    if index > 0 and not member.tier_state.get("lifetime"):
        result["needed_to_keep"] = max(programme.tiers[index].threshold - member.counter, 0)
    return result


_STATEMENT_COLUMNS = (
    *("seq", "key", "currency", "debit", "credit", "amount", "on", "kind", "state", "rule_id"),
    *("reverses", "resolves", "expires_on", "memo", "created_at"),
)


def statement(
    session: Session,
    *,
    actor: Actor,
    member_id: int,
    currency: str | None = None,
    kind: str | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The member's entries, newest first, with the signed effect on their account."""
    find_member(session, actor=actor, member_id=member_id)
    # Rows, not ORM objects, of what the reader sees: a statement is read and shown, never
    # changed (the operation's arguments stay in the ledger).
    query = (
        select(*(Entry.__table__.c[name] for name in _STATEMENT_COLUMNS))
        .where(Entry.member_id == member_id)
        .order_by(Entry.seq.desc())
        .limit(limit)
    )
    if currency:
        query = query.where(Entry.currency == currency)
    if kind:
        query = query.where(Entry.kind == kind)
    if start:
        query = query.where(Entry.on >= start)
    if end:
        query = query.where(Entry.on <= end)
    lines = []
    for entry in session.execute(query).mappings():
        sign = 1 if entry["credit"] == "member" else -1
        lines.append(
            {**entry, "signed_amount": sign * entry["amount"] if entry["state"] == "posted" else 0}
        )
    return lines


def explain_member(
    session: Session, *, actor: Actor, member_id: int, lang: str = "en", today: Today = today
) -> str:
    """In words an agent can read to the customer: tier, what it took, what keeps it, balances."""
    member = find_member(session, actor=actor, member_id=member_id)
    book = resume_book(session, member, posting=False)
    as_of = today()
    spendable = book.programme.spendable_currencies
    paragraphs = domain.explain(
        book.programme,
        book.state,
        counted=period_count(session, book.programme, book.state, member_id, as_of=as_of),
        balances={
            c.code: book.ledger.balance(book.account(c.code)) for c in book.programme.currencies
        },
        as_of=as_of,
        # Only buckets of their own date say what expires next (the others are not read).
        buckets={
            c.code: book.ledger.buckets(book.account(c.code))
            for c in spendable
            if c.expiry is not None and c.expiry.mode is ExpiryMode.AFTER_EARNING
        },
        last_activity_on=member.last_activity_on,
    )
    return "\n".join(render_message(lang, paragraph) for paragraph in paragraphs)


def tier_counts(session: Session) -> list[tuple[str, str, int]]:
    return [
        (programme, tier, count)
        for programme, tier, count in session.execute(
            select(Member.programme, Member.tier, func.count()).group_by(
                Member.programme, Member.tier
            )
        )
    ]


def current_tiers(
    session: Session, *, actor: Actor, customer_ids: Iterable[int], locale: str = "en"
) -> dict[int, list[str]]:
    """Each customer's live tier in each programme, in words ("Gold"), in bulk; nothing for an
    actor who does not read loyalty (a list shows the column empty rather than failing)."""
    if not actor.can(Permission.LOYALTY_READ):
        return {}
    tiers: dict[int, list[str]] = {}
    rows = select_in(session, Member.customer_id, Member.programme, Member.tier, ids=customer_ids)
    for customer_id, programme_code, tier_code in sorted(rows):
        tier = get_programme(programme_code).tier(tier_code)
        tiers.setdefault(customer_id, []).append(tier.name.get(locale))
    return tiers


def programmes_of(session: Session, customer_ids: Iterable[int]) -> dict[int, list[str]]:
    """The codes of the programmes each customer is a member of, in bulk (a customer in
    several programmes is in each): what a report broken down by programme groups on."""
    found: dict[int, list[str]] = {}
    for customer_id, code in sorted(
        select_in(session, Member.customer_id, Member.programme, ids=customer_ids)
    ):
        found.setdefault(customer_id, []).append(code)
    return found


def tier_history(session: Session, *, member_id: int) -> list[TierChange]:
    return list(
        session.scalars(
            select(TierChange)
            .where(TierChange.member_id == member_id)
            .order_by(TierChange.id.desc())
        )
    )


_LEVEL_ORDER = {"standard": 0, "priority": 1, "dedicated": 2}


def case_standing(session: Session, customer_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each customer's live tier and the service level it earns (a benefit of the tier in
    the programme file), the best over their memberships: what a case's promise and queue
    rank are chosen on (the cases' ``case_standing`` hook)."""
    found: dict[int, dict[str, Any]] = {}
    for customer_id, code, tier in select_in(
        session, Member.customer_id, Member.programme, Member.tier, ids=customer_ids
    ):
        try:
            programme = get_programme(code)
            spec = programme.tier(tier)
        except DomainError:  # a programme or tier no longer in the files
            continue
        level = spec.benefits.service_level
        rank = (_LEVEL_ORDER.get(level, 0), programme.tier_index(tier))
        held = found.get(customer_id)
        if held is None or rank > held["_rank"]:
            found[customer_id] = {
                "tier": tier,
                "tier_name": {"en": spec.name.en, "fr": spec.name.fr},
                "service_level": level,
                "programme": code,
                "_rank": rank,
            }
    for value in found.values():
        value.pop("_rank")
    return found
