"""A member's book: their ledger and tier resumed from the stored state
(:mod:`egards.loyalty.stored`) through the in-memory :class:`Ledger` for one operation
(:func:`resume_book`), or replayed from every stored operation to verify that state
(:func:`open_book`); the lock on the member row operations take first; and
:func:`close_book`, which writes only what the operation appended and changed, so that an
operation costs the same whatever the member's history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypedDict

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor
from egards.bulk import bulk_insert, chunks
from egards.customers import service as customers
from egards.db import utcnow
from egards.errors import NotFound
from egards.i18n import N_
from egards.loyalty import codec, domain, stored
from egards.loyalty.ledger import Account, AccountKind, Ledger
from egards.loyalty.models import Balance, CapUsage, Entry, Member, TierChange
from egards.loyalty.models import Bucket as BucketRow
from egards.loyalty.programme import Programme

from ._common import get_programme


@dataclass
class Book:
    """One member's ledger and tier, resumed (or replayed) for one use case, and what it
    appended."""

    member: Member
    programme: Programme
    ledger: Ledger
    state: domain.TierState
    written: int
    ops: list[tuple[str, dict[str, Any], int | None]] = field(default_factory=list)
    # Earned under capped rules, by rule and window (see stored.count_caps), and as stored.
    cap_usage: stored.Usage = field(default_factory=dict)
    stored_usage: stored.Usage = field(default_factory=dict)
    # What the activities applied through this book earned, by key, and the entries they
    # posted, by activity id (until written, a refund finds its original's here).
    lines: dict[str, tuple[domain.Earning, ...]] = field(default_factory=dict)
    seqs: dict[int | None, list[int]] = field(default_factory=dict)
    # The stored balances, by currency, as read (held here: the session only weakly does).
    balances: dict[str, Balance] = field(default_factory=dict)
    ledger_past: stored.StoredPast | None = None
    # One Account object per account: the ledger's dictionaries then find them by identity.
    _accounts: dict[tuple[AccountKind, str], Account] = field(default_factory=dict, repr=False)

    def account(self, currency: str) -> Account:
        found = self._accounts.get((AccountKind.MEMBER, currency))
        if found is None:
            found = Account.of_member(str(self.member.id), currency)
            self._accounts[(AccountKind.MEMBER, currency)] = found
        return found

    def programme_account(self, kind: AccountKind, currency: str) -> Account:
        found = self._accounts.get((kind, currency))
        if found is None:
            found = Account.of_programme(kind, currency)
            self._accounts[(kind, currency)] = found
        return found

    def apply(self, op: str, activity_id: int | None = None, **kwargs: Any) -> Any:
        """Run a ledger operation; remember it if it appended an entry (replays do not)."""
        before = len(self.ledger)
        result = getattr(self.ledger, op)(**kwargs)
        if len(self.ledger) > before:
            self.ops.append((op, kwargs, activity_id))
            for entry in self.ledger.since(before):
                stored.count_caps(self.programme, self.cap_usage, entry, self.ledger)
                self.seqs.setdefault(activity_id, []).append(entry.id)
        return result


def _lock(session: Session, member_id: int) -> Member:
    query = select(Member).where(Member.id == member_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    member = session.scalar(query)
    if member is None:
        raise NotFound(N_("member {member_id} not found"), member_id=member_id, field="member_id")
    return member


def open_book(session: Session, member: Member) -> Book:
    """A member's book with their whole ledger replayed from its stored operations: what
    :func:`verify` compares the stored state with (operations use :func:`resume_book`)."""
    rows = session.execute(
        select(*_STORED_OP).where(Entry.member_id == member.id).order_by(Entry.seq)
    )
    ledger = _replayed(rows)
    programme = get_programme(member.programme)
    return Book(
        member=member,
        programme=programme,
        ledger=ledger,
        state=codec.state_from_json(member.tier_state),
        written=len(ledger),
        cap_usage=stored.expected_state(programme, member.id, ledger).cap_usage,
    )


def resume_book(session: Session, member: Member, *, posting: bool = True) -> Book:
    """A member's book from the stored state: what it costs does not depend on the history.
    ``posting=False``: for a reader, without the cap usage only posts count in."""
    balances = {
        b.currency: b
        for b in session.scalars(select(Balance).where(Balance.member_id == member.id))
    }
    totals = {
        Account.of_member(str(member.id), b.currency): (
            b.balance,
            b.balance - b.available,
            b.pending_credits,
        )
        for b in balances.values()
    }
    past = stored.StoredPast(member.id, session, programme=member.programme)
    ledger = Ledger.resume(past, length=member.entries_count, totals=totals)
    programme = get_programme(member.programme)
    capped = posting and stored.capped_rules(programme)
    usage = stored.read_usage(session, [member.id]) if capped else {}
    return Book(
        member=member,
        programme=programme,
        ledger=ledger,
        state=codec.state_from_json(member.tier_state),
        written=len(ledger),
        balances=balances,
        ledger_past=past,
        **_usage(usage.get(member.id, {})),
    )


class _Usages(TypedDict):
    cap_usage: stored.Usage
    stored_usage: stored.Usage


def _usage(usage: stored.Usage) -> _Usages:
    """A Book's cap usage: a copy to count in, and the stored one it is compared with."""
    return {
        "cap_usage": {rule: dict(windows) for rule, windows in usage.items()},
        "stored_usage": usage,
    }


# What an entry's operation is rebuilt from: its arguments, or for a plain post (most
# entries), the entry's own columns.
_STORED_OP = (
    Entry.op,
    Entry.args,
    Entry.member_id,
    Entry.key,
    Entry.debit,
    Entry.credit,
    Entry.currency,
    Entry.amount,
    Entry.on,
    Entry.kind,
    Entry.state,
    Entry.rule_id,
    Entry.expires_on,
    Entry.memo,
)


def _replayed(rows: Iterable[Any]) -> Ledger:
    """A ledger rebuilt from its stored operations (rows of ``_STORED_OP``), in their order."""
    ledger = Ledger()
    for row in rows:
        if row.args is None:  # a plain post: see _entry_rows
            ledger.post(
                key=row.key,
                debit=stored.account(row.debit, row.currency, row.member_id),
                credit=stored.account(row.credit, row.currency, row.member_id),
                amount=row.amount,
                on=row.on,
                kind=row.kind,
                pending=row.state == "pending",
                rule_id=row.rule_id,
                expires_on=row.expires_on,
                memo=row.memo,
            )
        else:
            getattr(ledger, row.op)(**{k: codec.decode(v) for k, v in row.args.items()})
    return ledger


_POST_ARGUMENTS = frozenset(
    ("key", "debit", "credit", "amount", "on", "kind", "pending", "rule_id", "expires_on", "memo")
)


def _plain_post(op: str, kwargs: dict[str, Any], entry: Any) -> bool:
    """Whether the post that made ``entry`` is rebuilt exactly from the entry's columns
    (then its arguments are not stored twice)."""
    return (
        op == "post"
        and kwargs.keys() <= _POST_ARGUMENTS
        and kwargs.get("pending", False) == (entry.state == "pending")
        and kwargs.get("rule_id") == entry.rule_id
        and kwargs.get("expires_on") == entry.expires_on
        and kwargs.get("memo", "") == entry.memo
    )


def close_book(session: Session, book: Book) -> None:
    """Write the appended entries, the balances and the tier."""
    member = book.member
    rows = _entry_rows(book, utcnow())
    session.flush()  # activities first: entries point to them
    bulk_insert(session, Entry.__table__, rows)
    deleted, buckets = stored.bucket_changes(member.id, book.ledger, book.member.entries_count)
    _rewrite(session, BucketRow.__table__, [(member.id, seq) for seq in deleted], buckets)
    _rewrite(session, CapUsage.__table__, *_usage_changes(book))
    for currency in book.programme.currencies:
        account = book.account(currency.code)
        values = {
            "balance": book.ledger.balance(account),
            "available": book.ledger.available(account),
            "pending_credits": book.ledger.pending_credits(account),
        }
        balance = book.balances.get(currency.code) or session.get(
            Balance, (member.id, currency.code)
        )
        if balance is None:
            session.add(Balance(member_id=member.id, currency=currency.code, **values))
        else:
            for name, value in values.items():
                setattr(balance, name, value)
    member.tier = book.state.tier
    member.tier_since = book.state.since
    member.period_end = book.state.period_end
    member.counter = book.state.counter
    member.tier_state = codec.state_to_json(book.state)
    member.entries_count = len(book.ledger)
    member.updated_at = utcnow()
    session.flush()
    book.written = len(book.ledger)
    book.ops.clear()
    book.stored_usage = _usage(book.cap_usage)["cap_usage"]


def _usage_changes(book: Book) -> tuple[list[tuple[int, str, date]], list[dict[str, Any]]]:
    return stored.usage_changes(book.member.id, book.stored_usage, book.cap_usage)


def _rewrite(
    session: Session, table: Any, deleted: Sequence[tuple[Any, ...]], rows: list[dict[str, Any]]
) -> None:
    """Rows of stored state rewritten: the changed ones deleted by primary key, then the
    current ones inserted."""
    key = tuple_(*table.primary_key.columns)
    for chunk in chunks(deleted):
        session.execute(table.delete().where(key.in_(list(chunk))))
    bulk_insert(session, table, rows)


def _entry_rows(book: Book, now: datetime) -> list[dict[str, Any]]:
    """The rows of the entries the book appended, with the operation that made each."""
    new_entries = book.ledger.since(book.written)
    return [
        {
            "member_id": book.member.id,
            "seq": entry.id,
            "key": entry.key,
            "op": op,
            "args": None if _plain_post(op, kwargs, entry) else codec.encode_args(kwargs),
            "currency": entry.currency,
            "debit": str(entry.debit.kind),
            "credit": str(entry.credit.kind),
            "amount": entry.amount,
            "on": entry.on,
            "kind": entry.kind,
            "state": str(entry.state),
            "rule_id": entry.rule_id,
            "reverses": entry.reverses,
            "resolves": entry.resolves,
            "expires_on": entry.expires_on,
            "activity_id": activity_id,
            "memo": entry.memo,
            "allocations": stored.allocations(entry),
            "created_at": now,
        }
        for entry, (op, kwargs, activity_id) in zip(new_entries, book.ops, strict=True)
    ]


def _record_tier_events(
    session: Session,
    book: Book,
    events: tuple[domain.TierEvent, ...],
    *,
    actor: Actor,
    source: str,
    justification: str | None = None,
) -> None:
    for event in events:
        session.add(
            TierChange(
                member_id=book.member.id,
                on=event.on,
                kind=event.kind,
                from_tier=event.from_tier,
                to_tier=event.to_tier,
                message=event.reason,
                source=source,
                actor_label=actor.label,
                justification=justification,
            )
        )
        customers.record_event(
            session,
            actor=actor,
            customer_id=book.member.customer_id,
            kind=f"tier.{event.kind}",
            summary=event.reason,
            channel="api" if source != "exception" else "console",
            silo="loyalty",
            ref_type="loyalty_member",
            ref_id=str(book.member.id),
        )
