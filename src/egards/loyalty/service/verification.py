"""The stored state against the ledger: :func:`verify` replays members' ledgers and reports
where the stored state operations resume from (entries, balances, buckets, allocations, cap
usage) parts from them; :func:`store_replayed_state` writes that state once, for ledgers
written before it was kept."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.bulk import bulk_insert
from egards.errors import NotFound
from egards.i18n import N_
from egards.loyalty import stored
from egards.loyalty.models import Balance, CapUsage, Entry, Member
from egards.loyalty.models import Bucket as BucketRow
from egards.loyalty.programme import Programme

from .books import open_book


@dataclass(frozen=True)
class Difference:
    """Where a member's stored state parts from what replaying their ledger gives."""

    member_id: int
    what: str
    stored: Any
    replayed: Any


def verify(session: Session, *, actor: Actor, member_id: int | None = None) -> Iterator[Difference]:
    """Replay members' ledgers (one member, or all of them) and compare with the stored state
    operations start from: the number of entries, balances, buckets, each entry's
    allocations and what counts against per-period caps."""
    actor.require(Permission.LOYALTY_READ)
    if member_id is not None and session.get(Member, member_id) is None:
        raise NotFound(N_("member {member_id} not found"), member_id=member_id, field="member_id")
    member_ids = (
        [member_id]
        if member_id is not None
        else session.scalars(select(Member.id).order_by(Member.id)).all()
    )
    for found in member_ids:  # one member in memory at a time
        member = session.get(Member, found)
        assert member is not None
        yield from _differences(session, member)
        session.expunge(member)


def _differences(session: Session, member: Member) -> Iterator[Difference]:
    book = open_book(session, member)
    expected = stored.expected_state(book.programme, member.id, book.ledger)
    found = _stored_state(session, member, book.programme)

    def differ(what: str, have: Any, want: Any) -> Iterator[Difference]:
        if have != want:
            yield Difference(member.id, what, have, want)

    yield from differ("entries", found.entries, expected.entries)
    for currency, want in expected.balances.items():
        yield from differ(f"balance {currency}", found.balances.get(currency), want)
    for seq in sorted(found.buckets.keys() | expected.buckets.keys()):
        yield from differ(f"bucket {seq}", found.buckets.get(seq), expected.buckets.get(seq))
    for seq in sorted(found.allocations.keys() | expected.allocations.keys()):
        have, want = found.allocations.get(seq), expected.allocations.get(seq)
        yield from differ(f"allocations of entry {seq}", have, want)
    yield from differ("cap usage", found.cap_usage, expected.cap_usage)


def _stored_state(session: Session, member: Member, programme: Programme) -> stored.State:
    balances = {
        b.currency: (b.balance, b.available, b.pending_credits)
        for b in session.scalars(select(Balance).where(Balance.member_id == member.id))
    }
    for currency in programme.currencies:
        balances.setdefault(currency.code, (0, 0, 0))
    buckets = {
        b.seq: (b.currency, b.earned_on, b.expires_on, b.amount)
        for b in session.scalars(select(BucketRow).where(BucketRow.member_id == member.id))
    }
    allocations = dict(
        session.execute(
            select(Entry.seq, Entry.allocations).where(Entry.member_id == member.id)
        ).all()
    )
    return stored.State(
        entries=member.entries_count,
        balances=balances,
        buckets=buckets,
        allocations=allocations,
        cap_usage=stored.read_usage(session, [member.id]).get(member.id, {}),
    )


def store_replayed_state(session: Session) -> None:
    """Write the stored state every member's replayed ledger implies (buckets, allocations,
    cap usage): once, for ledgers written before that state was kept (migration 0012)."""
    entries, buckets = Entry.__table__, BucketRow.__table__
    member_ids = session.scalars(select(Member.id).order_by(Member.id)).all()
    for member_id in member_ids:
        member = session.get(Member, member_id)
        assert member is not None
        book = open_book(session, member)
        expected = stored.expected_state(book.programme, member_id, book.ledger)
        session.execute(buckets.delete().where(buckets.c.member_id == member_id))
        bulk_insert(
            session,
            buckets,
            [
                {
                    "member_id": member_id,
                    "seq": seq,
                    "currency": currency,
                    "earned_on": earned_on,
                    "expires_on": expires_on,
                    "amount": amount,
                }
                for seq, (currency, earned_on, expires_on, amount) in expected.buckets.items()
            ],
        )
        for seq, allocations in expected.allocations.items():
            if allocations:
                session.execute(
                    update(entries)
                    .where(entries.c.member_id == member_id, entries.c.seq == seq)
                    .values(allocations=allocations)
                )
        usage = CapUsage.__table__
        session.execute(usage.delete().where(usage.c.member_id == member_id))
        bulk_insert(session, usage, stored.usage_changes(member_id, {}, expected.cap_usage)[1])
        session.flush()
        session.expunge(member)
