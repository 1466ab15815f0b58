"""Use cases of the loyalty engine. Each runs inside the caller's unit of work.

A member's ledger is resumed from its stored state (:mod:`egards.loyalty.stored`: balances,
the buckets that still hold points, the tier state, what counts against caps) through the
in-memory :class:`Ledger` (the executable specification), the operation is applied there, and
only what it appended and changed is written: an operation costs the same whatever the
member's history. :func:`open_book` replays a whole ledger instead, to verify the stored
state (:func:`verify`). The member row is locked first (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite takes the database write lock at ``BEGIN IMMEDIATE``), so concurrent
operations on one member run one after the other and never lose or create a point.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import String, Text, cast, func, literal, select, tuple_, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.bulk import (
    BackgroundWriter,
    PreparedCopy,
    bulk_insert,
    bulk_update,
    chunks,
    paused_gc,
    prepare_copy,
    reserve_ids,
    write_prepared_copy,
)
from egards.customers import service as customers
from egards.customers.domain import ERASED, Erasure
from egards.customers.models import Identity, TimelineEvent
from egards.db import Base, utcnow
from egards.errors import Conflict, InvalidInput, NotFound
from egards.loyalty import codec, domain, stored
from egards.loyalty.errors import IdempotencyConflict
from egards.loyalty.ledger import Account, AccountKind, Ledger
from egards.loyalty.models import Activity, Balance, CapUsage, Entry, Member, TierChange
from egards.loyalty.models import Bucket as BucketRow
from egards.loyalty.programme import PROGRAMMES_DIR, ExpiryMode, Programme, load_programme
from egards.loyalty.schemas import ActivityCreate, ActivityResult

Today = Callable[[], date]


def today() -> date:
    return utcnow().date()


@cache
def programmes() -> dict[str, Programme]:
    """The programmes this installation runs: the bundled examples, by their code."""
    loaded = [load_programme(path) for path in sorted(Path(PROGRAMMES_DIR).glob("*.yaml"))]
    return {programme.code: programme for programme in loaded}


def get_programme(code: str) -> Programme:
    try:
        return programmes()[code]
    except KeyError:
        raise NotFound(
            f"no programme {code!r}", field="programme", known=", ".join(programmes())
        ) from None


# --- a member's books ----------------------------------------------------------------------


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
        return result


def _lock(session: Session, member_id: int) -> Member:
    query = select(Member).where(Member.id == member_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    member = session.scalar(query)
    if member is None:
        raise NotFound(f"member {member_id} not found", field="member_id")
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


def resume_book(session: Session, member: Member) -> Book:
    """A member's book from the stored state: what it costs does not depend on the history."""
    totals = {
        Account.of_member(str(member.id), b.currency): (
            b.balance,
            b.balance - b.available,
            b.pending_credits,
        )
        for b in session.scalars(select(Balance).where(Balance.member_id == member.id))
    }
    ledger = Ledger.resume(
        stored.StoredPast(member.id, session), length=member.entries_count, totals=totals
    )
    return Book(
        member=member,
        programme=get_programme(member.programme),
        ledger=ledger,
        state=codec.state_from_json(member.tier_state),
        written=len(ledger),
        **_usage(stored.read_usage(session, [member.id]).get(member.id, {})),
    )


def _usage(usage: stored.Usage) -> dict[str, stored.Usage]:
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


def _open_for_change(
    session: Session, actor: Actor, member_id: int, permission: Permission
) -> Book:
    """A member's book, locked, for an actor allowed to change it and to see the customer."""
    actor.require(permission)
    find_member(session, actor=actor, member_id=member_id)
    return resume_book(session, _lock(session, member_id))


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
        balance = session.get(Balance, (member.id, currency.code))
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
                reason=event.reason,
                reason_fr=event.reason_fr,
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


# --- members -------------------------------------------------------------------------------


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
            f"customer {customer_id} is already a member of {programme.code}",
            field="customer_id",
            member_id=existing.id,
        )
    number = (
        session.scalar(
            select(Identity.value).where(
                Identity.customer_id == customer_id, Identity.kind == "loyalty_number"
            )
        )
        or f"{programme.code[:2].upper()}{customer_id:010d}"
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
    audit.record(
        session,
        actor=actor,
        action="loyalty.enrol",
        entity_type="loyalty_member",
        entity_id=member.id,
        customer_id=customer_id,
        after={"programme": programme.code, "number": number},
    )
    customers.record_event(
        session,
        actor=actor,
        customer_id=customer_id,
        kind="loyalty.enrolled",
        summary=f"Joined {programme.name.get('en')} as {state.tier} ({number})",
        silo="loyalty",
        ref_type="loyalty_member",
        ref_id=str(member.id),
    )
    _apply_parked(session, actor=actor, member=member)
    return member


def find_member(session: Session, *, actor: Actor, member_id: int) -> Member:
    actor.require(Permission.LOYALTY_READ)
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"member {member_id} not found", field="member_id")
    customers.check_visible(session, actor=actor, customer_id=member.customer_id)
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


# --- activities ----------------------------------------------------------------------------


def _content_hash(payload: dict[str, Any]) -> str:
    """What an activity's key is checked against when it comes again: its stored payload."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def activity_of(data: ActivityCreate) -> domain.Activity:
    """An activity received (API, file) as the rules see it."""
    return domain.Activity(
        key=data.key,
        kind=data.kind,
        on=data.on,
        amounts=data.amounts,
        attributes=data.attributes,
        quantity=data.quantity,
        reverses=data.reverses,
    )


def _resolve_member(session: Session, programme: Programme, data: ActivityCreate) -> Member | None:
    if data.customer_id is not None:
        return session.scalar(
            select(Member).where(
                Member.customer_id == data.customer_id, Member.programme == programme.code
            )
        )
    return session.scalar(
        select(Member).where(
            Member.programme == programme.code, Member.number == stored_number(data.member_number)
        )
    )


def stored_number(number: str | None) -> str:
    """A member number as typed (``fb-0001``) in the form it is stored (``FB0001``)."""
    return (number or "").upper().replace("-", "")


def record_activity(
    session: Session,
    *,
    actor: Actor,
    programme_code: str,
    data: ActivityCreate,
    today: Today = today,
) -> ActivityResult:
    """Count an activity: earnings posted to the ledger with the rule that produced each,
    the qualifying part counted towards the tier. A refund names the activity it reverses and
    takes back exactly what it gave. Unknown members are parked, not dropped.
    Idempotent by key: the same activity again changes nothing; other content is refused."""
    actor.require(Permission.LOYALTY_WRITE)
    programme = get_programme(programme_code)
    payload = data.model_dump(mode="json", exclude={"member_number", "customer_id", "key"})
    digest = _content_hash(payload)
    previous = session.scalar(
        select(Activity).where(Activity.programme == programme.code, Activity.key == data.key)
    )
    if previous is not None:
        if previous.content_hash != digest:
            raise IdempotencyConflict(
                f"activity {data.key} was already received with other content", field="key"
            )
        return _result(session, previous)
    activity = activity_of(data)
    domain.validate_activity(programme, activity, today=today())
    member = _resolve_member(session, programme, data)
    row = Activity(
        programme=programme.code,
        key=data.key,
        member_id=None,
        member_number=(
            member.number if member else (data.member_number or f"customer:{data.customer_id}")
        ),
        kind=data.kind,
        on=data.on,
        content_hash=digest,
        status="parked",
        payload=payload,
    )
    session.add(row)
    session.flush()
    if member is None:
        audit_parked(session, actor=actor, row=row)
        return _result(session, row)
    book = resume_book(session, _lock(session, member.id))
    events = _apply(session, book, row, activity)
    close_book(session, book)
    _record_tier_events(session, book, events, actor=actor, source="activity")
    return _result(session, row, events)


def _apply(
    session: Session,
    book: Book,
    row: Any,
    activity: domain.Activity,
    batch: dict[str, Any] | None = None,
) -> tuple[domain.TierEvent, ...]:
    """Post one activity's earnings (or reverse its original's) and count its qualifying part.

    ``row`` is the activity's record (a mapped row, or a plain one that a bulk path writes
    later); ``batch`` holds such plain rows by key, so a refund can find an original that is
    not written yet."""
    original = (
        _original_of(session, book, activity.reverses, batch or {}) if activity.reverses else None
    )
    return _post_activity(book, row, activity, original)


def _cap_usage(book: Book, activity: domain.Activity) -> dict[str, int]:
    """What the member already earned, by rule or promotion with a cap per period that may
    apply to this activity, in the cap's window around its date (reversed earnings no
    longer count): from the stored usage, kept by :func:`stored.count_caps`."""
    caps = _period_caps(book.member.programme).get(activity.kind)
    if not caps:
        return {}
    return {
        rule_id: stored.used_in_window(book.cap_usage, rule_id, cap, activity.on)
        for rule_id, cap in caps.items()
    }


@cache
def _period_caps(code: str) -> dict[str, dict[str, Any]]:
    """By activity kind, the caps per period of the rules and promotions it may earn under."""
    programme = get_programme(code)
    kinds = {rule.id: set(rule.activities) for rule in programme.earning}
    for promotion in programme.promotions:
        kinds[promotion.id] = set().union(*(kinds.get(r, set()) for r in promotion.rules))
    caps: dict[str, dict[str, Any]] = {}
    for rule in [*programme.earning, *programme.promotions]:
        if rule.cap is not None and rule.cap.per_period and rule.cap.period:
            for kind in kinds[rule.id]:
                caps.setdefault(kind, {})[rule.id] = rule.cap
    return caps


def _post_activity(
    book: Book, row: Any, activity: domain.Activity, original: Any
) -> tuple[domain.TierEvent, ...]:
    """The ledger and tier part of :func:`_apply`, once a refund's original is known."""
    programme = book.programme
    member = book.member
    counted = domain.count_activity(
        programme,
        book.state,
        activity,
        last_activity_on=member.last_activity_on,
        earned_in_cap_window=None if activity.reverses else _cap_usage(book, activity),
        original=(
            [codec.earning_from_json(e) for e in original.earnings or []]
            if activity.reverses
            else None
        ),
        original_on=original.on if activity.reverses else None,
    )
    if activity.reverses:
        for seq in original.entry_seqs or []:
            book.apply("reverse", row.id, key=f"{activity.key}:{seq}", entry_id=seq, on=activity.on)
    else:
        seqs = []
        for line in counted.lines:
            if line.amount <= 0:
                continue
            entry = book.apply(
                "post",
                row.id,
                key=f"{activity.key}:{line.rule_id}",
                debit=book.programme_account(AccountKind.ISSUANCE, line.currency),
                credit=book.account(line.currency),
                amount=line.amount,
                on=activity.on,
                kind="earn",
                rule_id=line.rule_id,
                expires_on=domain.expiry_date(programme, line.currency, earned_on=activity.on),
            )
            seqs.append(entry.id)
        row.entry_seqs = seqs
    book.state = counted.state
    member.last_activity_on = counted.last_activity_on
    row.member_id = member.id
    row.member_number = member.number
    row.status = "applied"
    row.earnings = [codec.earning_to_json(line) for line in counted.lines]
    return counted.events


def _original_of(session: Session, book: Book, key: str, batch: dict[str, Any]) -> Any:
    """The applied activity a refund names (in this batch or stored), not reversed yet."""
    original = batch.get(key)
    if original is None or original.status != "applied":
        original = session.scalar(
            select(Activity).where(
                Activity.programme == book.programme.code,
                Activity.key == key,
                Activity.member_id == book.member.id,
                Activity.status == "applied",
            )
        )
    if original is None:
        raise NotFound(f"no applied activity {key} for this member", field="reverses")
    reversed_in_batch = any(
        r.status == "applied" and r.payload.get("reverses") == key for r in batch.values()
    )
    if reversed_in_batch or session.scalar(
        select(Activity.id).where(
            Activity.programme == book.programme.code,
            Activity.member_id == book.member.id,
            Activity.status == "applied",
            Activity.payload["reverses"].as_string() == key,
        )
    ):
        raise Conflict(f"activity {key} is already reversed", field="reverses")
    return original


def audit_parked(session: Session, *, actor: Actor, row: Activity) -> None:
    """The audit record of an activity kept until its member is known."""
    audit.record(
        session,
        actor=actor,
        action="loyalty.activity_parked",
        entity_type="loyalty_activity",
        entity_id=row.id,
        after={"key": row.key, "member": row.member_number},
    )


def shown_earnings(earnings: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Stored earnings as an activity's result shows them."""
    return [{k: e[k] for k in ("currency", "amount", "rule_id", "reason")} for e in earnings or []]


def _result(
    session: Session, row: Activity, events: tuple[domain.TierEvent, ...] = ()
) -> ActivityResult:
    member = session.get(Member, row.member_id) if row.member_id else None
    return ActivityResult(
        key=row.key,
        status=row.status,
        member_number=row.member_number,
        earnings=shown_earnings(row.earnings),
        tier=member.tier if member else None,
        tier_events=[e.reason for e in events],
    )


def _apply_parked(session: Session, *, actor: Actor, member: Member) -> int:
    """Activities received before the member was known, applied in date order."""
    parked = list(
        session.scalars(
            select(Activity)
            .where(
                Activity.programme == member.programme,
                Activity.status == "parked",
                Activity.member_number.in_([member.number, f"customer:{member.customer_id}"]),
            )
            .order_by(Activity.on, Activity.id)
        )
    )
    if not parked:
        return 0
    book = resume_book(session, _lock(session, member.id))
    events: tuple[domain.TierEvent, ...] = ()
    for row in parked:
        payload = row.payload
        activity = domain.Activity(
            key=row.key,
            kind=row.kind,
            on=row.on,
            amounts=payload["amounts"],
            attributes=payload["attributes"],
            quantity=payload["quantity"],
            reverses=payload["reverses"],
        )
        events += _apply(session, book, row, activity)
    close_book(session, book)
    _record_tier_events(session, book, events, actor=actor, source="activity")
    return len(parked)


# --- redemptions and holds -----------------------------------------------------------------


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
            f"{currency} is not a spendable currency of {book.programme.code}",
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
        f"{'Held' if hold else 'Redeemed'} {amount} {currency}" + (f": {memo}" if memo else ""),
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
        f"Hold {seq} {'settled' if settle else 'cancelled, points returned'}",
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
        f"Redemption {seq} cancelled: {entry.amount} {entry.currency} returned",
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
        session, book, entry.id, actor, "loyalty.goodwill", f"{amount} {currency} offered: {reason}"
    )


def _finish(
    session: Session, book: Book, seq: int, actor: Actor, action: str, summary: str
) -> Entry:
    fresh = bool(book.ops)
    close_book(session, book)
    entry = session.scalar(select(Entry).where(Entry.member_id == book.member.id, Entry.seq == seq))
    if fresh:
        audit.record(
            session,
            actor=actor,
            action=action,
            entity_type="loyalty_entry",
            entity_id=entry.id,
            customer_id=book.member.customer_id,
            after={
                "seq": seq,
                "amount": entry.amount,
                "currency": entry.currency,
                "key": entry.key,
            },
        )
        customers.record_event(
            session,
            actor=actor,
            customer_id=book.member.customer_id,
            kind=action,
            summary=summary,
            channel="api",
            silo="loyalty",
            ref_type="loyalty_entry",
            ref_id=str(entry.id),
        )
    return entry


# --- tiers ---------------------------------------------------------------------------------


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
        raise Conflict(f"the member is already {tier}", field="tier")
    book.state = replace(
        book.state, tier=tier, since=book.state.since if tier == before else today(), upgrades=()
    )
    if new_period:
        book.state = domain.hold_period(book.programme, book.state, on=today())
    rank = book.programme.tier_index
    event = domain.TierEvent(
        kind="upgraded"
        if rank(tier) > rank(before)
        else "requalified"
        if tier == before
        else "downgraded",
        on=today(),
        from_tier=before,
        to_tier=tier,
        reason=f"{before} → {tier} by exception: {justification}"
        if tier != before
        else f"{tier} held until {book.state.period_end} by exception: {justification}",
        reason_fr=f"{before} → {tier} par dérogation : {justification}"
        if tier != before
        else f"{tier} maintenu jusqu'au {book.state.period_end} par dérogation : {justification}",
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


def requalify(
    session: Session,
    *,
    actor: Actor,
    as_of: date,
    batch_size: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Close every qualification period that ended before ``as_of``, in bulk.

    Reads (id, state) tuples in batches, runs the pure period-end rule, writes the changed
    states (one statement per batch) and their tier changes and timeline entries (COPY on
    PostgreSQL) back: no ORM object per member. A batch is written while the next one is
    computed."""
    actor.require(Permission.LOYALTY_EXCEPTION)
    counts: dict[str, int] = {"members": 0, "changed": 0}
    table = Member.__table__

    def after(last_id: int) -> Sequence[Any]:
        return session.execute(
            select(
                table.c.id, table.c.customer_id, table.c.programme, cast(table.c.tier_state, Text)
            )
            .where(table.c.period_end < as_of, table.c.id > last_id)
            .order_by(table.c.id)
            .limit(batch_size)
        ).all()

    outcomes: dict[tuple[str, str], Any] = {}
    with BackgroundWriter(session) as writer, paused_gc():
        rows = after(0)
        while rows:
            if len(outcomes) > 200_000:
                outcomes.clear()
            updates, changes, timeline, changed = _requalified(actor, rows, as_of, outcomes)
            writer.wait()
            following = after(rows[-1].id)
            writer.submit(_write_requalified, session, updates, changes, timeline)
            counts["members"] += len(rows)
            counts["changed"] += changed
            if progress:
                progress(len(rows))
            rows = following
    # Mapped members the caller holds were written behind the ORM's back.
    for identity in list(session.identity_map.keys()):
        if identity[0] is Member:
            session.expire(session.identity_map[identity])
    return counts


def _requalified(
    actor: Actor,
    rows: Sequence[Any],
    as_of: date,
    outcomes: dict[tuple[str, str], Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], int]:
    """One batch of :func:`requalify`, computed: member updates, tier changes, timeline
    entries, and how many members changed tier.

    The period-end rule is a pure function of the programme and the stored state, so members
    in the same standing (e.g. every inactive member enrolled the same day) share one
    evaluation, kept in ``outcomes`` by programme and state text."""
    now = utcnow()
    updates, changes, timeline = [], [], []
    changed = set()
    for member_id, customer_id, code, state_text in rows:
        known = outcomes.get((code, state_text))
        if known is None:
            outcome = domain.close_periods(
                get_programme(code), codec.state_from_json(json.loads(state_text)), as_of=as_of
            )
            known = (outcome, codec.state_to_json(outcome.state))
            outcomes[(code, state_text)] = known
        outcome, state_json = known
        state = outcome.state
        updates.append(
            {
                "id": member_id,
                "tier": state.tier,
                "tier_since": state.since,
                "period_end": state.period_end,
                "counter": state.counter,
                "tier_state": state_json,
            }
        )
        for event in outcome.events:
            changes.append({**_tier_change_row(member_id, event, actor, now), "source": "batch"})
            timeline.append(_timeline_row(customer_id, member_id, event, actor))
            if event.kind != "requalified":
                changed.add(member_id)
    return updates, changes, timeline, len(changed)


def _write_requalified(
    session: Session,
    updates: list[dict[str, Any]],
    changes: list[dict[str, Any]],
    timeline: list[dict[str, Any]],
) -> None:
    bulk_update(session, Member.__table__, updates, key="id")
    bulk_insert(session, TierChange.__table__, changes)
    bulk_insert(session, TimelineEvent.__table__, timeline)


# --- reading -------------------------------------------------------------------------------


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
    # Rows, not ORM objects: a statement is read and shown, never changed.
    query = (
        select(Entry.__table__)
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
    book = resume_book(session, member)
    earnings = [
        codec.earning_from_json(e)
        for (payload,) in session.execute(
            # The current period's only (read through the (member, day) index), in the order
            # they were counted: the explanation leaves out what reached the tier.
            select(Activity.earnings)
            .where(
                Activity.member_id == member_id,
                Activity.status == "applied",
                Activity.on >= book.state.period_start,
            )
            .order_by(Activity.id)
        )
        for e in payload or []
    ]
    spendable = book.programme.spendable_currencies
    return domain.explain(
        book.programme,
        book.state,
        earnings=earnings,
        balances={
            c.code: book.ledger.balance(book.account(c.code)) for c in book.programme.currencies
        },
        as_of=today(),
        # Only buckets of their own date say what expires next (the others are not read).
        buckets={
            c.code: book.ledger.buckets(book.account(c.code))
            for c in spendable
            if c.expiry is not None and c.expiry.mode is ExpiryMode.AFTER_EARNING
        },
        last_activity_on=member.last_activity_on,
        lang=lang,
    )


def tier_counts(session: Session) -> list[tuple[str, str, int]]:
    return [
        tuple(r)
        for r in session.execute(
            select(Member.programme, Member.tier, func.count()).group_by(
                Member.programme, Member.tier
            )
        )
    ]


def tier_history(session: Session, *, member_id: int) -> list[TierChange]:
    return list(
        session.scalars(
            select(TierChange)
            .where(TierChange.member_id == member_id)
            .order_by(TierChange.id.desc())
        )
    )


def record_history(
    session: Session,
    *,
    actor: Actor,
    member: Member,
    activities: list[domain.Activity],
    today: Today = today,
) -> int:
    """Apply a member's activities in date order in one pass over their book (demo data,
    migrations from another system). Every activity is validated before anything is
    written; keys must be new."""
    return record_histories(session, actor=actor, histories={member.id: activities}, today=today)


@dataclass
class _Holder:
    """A member as the bulk path reads and writes it: plain columns, no ORM object."""

    id: int
    customer_id: int
    programme: str
    number: str
    tier_state: dict[str, Any]
    last_activity_on: date | None
    entries_count: int


def record_histories(
    session: Session,
    *,
    actor: Actor,
    histories: Mapping[int, Sequence[domain.Activity]],
    today: Today = today,
    chunk_size: int = 1000,
    events: dict[str, tuple[domain.TierEvent, ...]] | None = None,
) -> int:
    """Apply the activities of many members (by member id), each member's in date order (the
    activities of one day in the order given), in one pass: one query locks the members;
    then, by chunks of ``chunk_size`` members, a few queries load their stored state, and
    activities, entries, balances, members and tier changes go in with one bulk statement
    each (a chunk is written while the next one is computed). The outcome is the one
    :func:`record_activity` gives one activity at a time. Every activity is validated
    before anything is written; keys must be new. ``events``, if given, receives the tier
    events each activity caused, by key."""
    actor.require(Permission.LOYALTY_WRITE)
    with paused_gc():
        return _record_histories(session, actor, histories, today, chunk_size, events)


def _record_histories(
    session: Session,
    actor: Actor,
    histories: Mapping[int, Sequence[domain.Activity]],
    today: Today,
    chunk_size: int,
    events: dict[str, tuple[domain.TierEvent, ...]] | None,
) -> int:
    session.flush()
    member_ids = sorted(histories)
    holders = _lock_many(session, member_ids)
    day = today()
    ordered: dict[int, list[domain.Activity]] = {}
    for member_id in member_ids:
        programme = get_programme(holders[member_id].programme)
        activities = sorted(histories[member_id], key=lambda a: a.on)  # a day's as given
        for activity in activities:
            domain.validate_activity(programme, activity, today=day)
        ordered[member_id] = activities
    # All ids at once (on SQLite they are counted from the rows already written), then each
    # chunk of members with the ids of its activities.
    ids = reserve_ids(session, Activity.__table__, sum(map(len, ordered.values())))
    jobs: list[tuple[Sequence[int], list[int]]] = []
    for chunk in chunks(member_ids, chunk_size):
        taken = sum(len(ordered[member_id]) for member_id in chunk)
        jobs.append((chunk, ids[:taken]))
        ids = ids[taken:]
    copy = session.get_bind().dialect.name == "postgresql"
    context = _Context(actor, holders, ordered, utcnow(), copy)
    written = 0
    # Chunk k is computed while chunk k-1 is written; what chunk k+1 needs from the database
    # is read in between, when the connection is free.
    with BackgroundWriter(session) as writer:
        read = _read(session, holders, ordered, jobs[0][0]) if jobs else None
        for index, (member_ids_k, activity_ids) in enumerate(jobs):
            assert read is not None
            done = _computed(context, member_ids_k, activity_ids, read, events)
            writer.wait()
            if index + 1 < len(jobs):
                read = _read(session, holders, ordered, jobs[index + 1][0])
            writer.submit(_write_chunk, session, done)
            written += done.count
    # Mapped members and balances the caller holds were written behind the ORM's back.
    for identity in list(session.identity_map.keys()):
        if identity[0] in (Member, Balance) and identity[1][0] in holders:
            session.expire(session.identity_map[identity])
    return written


@dataclass
class _Context:
    """What every chunk of one call of the bulk path shares."""

    actor: Actor
    holders: Mapping[int, _Holder]
    histories: Mapping[int, Sequence[domain.Activity]]
    now: datetime
    copy: bool  # rows as COPY's text (PostgreSQL), or as they are


@dataclass
class _Read:
    """What a chunk of members' histories needs from the database before it is applied: the
    stored state, never the ledgers (only members with refunds in the chunk get the entries
    those reverse and their buckets)."""

    balances: dict[tuple[int, str], tuple[int, int, int]]  # balance, available, pending credits
    originals: dict[tuple[int, str], Any]
    reversed: set[tuple[int, str]]
    entries: dict[int, dict[int, Any]]  # by member and seq: ledger entries refunds reverse
    reversals: dict[int, dict[int, int]]  # by member: reversed seq -> reversing seq
    buckets: dict[int, dict[str, list[domain.Bucket]]]  # by member and currency
    usage: dict[int, stored.Usage]  # cap usage by member


@dataclass
class _Applied:
    """A chunk of histories applied in memory: the rows to write."""

    activities: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    buckets: list[dict[str, Any]]
    new_balances: list[dict[str, Any]]
    balances: list[dict[str, Any]]
    members: list[dict[str, Any]]
    tier_changes: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    deleted_buckets: list[tuple[int, int]]
    usage: list[dict[str, Any]]
    deleted_usage: list[tuple[int, str, date]]


@dataclass
class _Chunk:
    """A computed chunk as it goes to the writer: new rows by table (COPY's text on
    PostgreSQL), the balance and member updates."""

    inserts: list[tuple[str, PreparedCopy | list[dict[str, Any]]]]
    balances: list[dict[str, Any]]
    members: list[dict[str, Any]]
    deleted: list[tuple[Any, list[tuple[Any, ...]]]]  # stored state to rewrite, by table
    count: int


_INSERTED = (  # in this order: entries point to activities
    ("activities", Activity.__table__),
    ("entries", Entry.__table__),
    ("buckets", BucketRow.__table__),
    ("usage", CapUsage.__table__),
    ("new_balances", Balance.__table__),
    ("tier_changes", TierChange.__table__),
    ("timeline", TimelineEvent.__table__),
)


def _computed(
    context: _Context,
    member_ids: Sequence[int],
    activity_ids: list[int],
    read: _Read,
    events: dict[str, tuple[domain.TierEvent, ...]] | None,
) -> _Chunk:
    """One chunk through the rules, and its rows made ready to send; nothing touches the
    database."""
    done = _applied_histories(context, member_ids, read, iter(activity_ids), events)
    inserts: list[tuple[str, PreparedCopy | list[dict[str, Any]]]] = []
    for name, table in _INSERTED:
        rows = getattr(done, name)
        if rows:
            inserts.append((table.name, prepare_copy(table, rows) if context.copy else rows))
    deleted = [
        (BucketRow.__table__, done.deleted_buckets),
        (CapUsage.__table__, done.deleted_usage),
    ]
    return _Chunk(inserts, done.balances, done.members, deleted, len(done.activities))


def _read(
    session: Session,
    holders: Mapping[int, _Holder],
    histories: Mapping[int, Sequence[domain.Activity]],
    member_ids: Sequence[int],
) -> _Read:
    """A chunk's stored balances, the stored activities its refunds name, and for the members
    with refunds, the entries those reverse and the buckets that still hold points."""
    table = Balance.__table__
    balances = {
        (row.member_id, row.currency): (row.balance, row.available, row.pending_credits)
        for row in session.execute(
            select(
                table.c.member_id,
                table.c.currency,
                table.c.balance,
                table.c.available,
                table.c.pending_credits,
            ).where(table.c.member_id.in_(member_ids))
        )
    }
    originals, reversed_ = _stored_originals(
        session,
        {member_id: holders[member_id] for member_id in member_ids},
        {member_id: histories[member_id] for member_id in member_ids},
    )
    usage = stored.read_usage(session, member_ids)
    read = _Read(balances, originals, reversed_, {}, {}, {}, usage)
    refunding = sorted({m for m in member_ids if any(a.reverses for a in histories[m])})
    if not refunding:
        return read
    seqs = {seq for row in originals.values() for seq in row.entry_seqs or ()}
    entries = Entry.__table__
    for chunk in chunks(refunding):
        for row in session.execute(
            select(*stored.ENTRY_COLUMNS).where(
                entries.c.member_id.in_(chunk), entries.c.seq.in_(sorted(seqs))
            )
        ):
            read.entries.setdefault(row.member_id, {})[row.seq] = stored.ledger_entry(row)
        for member_id, reversed_seq, seq in session.execute(
            select(entries.c.member_id, entries.c.reverses, entries.c.seq).where(
                entries.c.member_id.in_(chunk), entries.c.reverses.in_(sorted(seqs))
            )
        ):
            read.reversals.setdefault(member_id, {})[reversed_seq] = seq
        buckets = BucketRow.__table__
        for row in session.execute(select(buckets).where(buckets.c.member_id.in_(chunk))):
            read.buckets.setdefault(row.member_id, {}).setdefault(row.currency, []).append(
                domain.Bucket(str(row.seq), row.earned_on, row.expires_on, row.amount)
            )
    return read


def _applied_histories(
    context: _Context,
    member_ids: Sequence[int],
    read: _Read,
    activity_ids: Iterator[int],
    events: dict[str, tuple[domain.TierEvent, ...]] | None,
) -> _Applied:
    """Each member's book resumed from the stored state, then their activities through it,
    in date order, as :func:`_apply` does one at a time."""
    actor, now = context.actor, context.now
    done = _Applied([], [], [], [], [], [], [], [], [], [], [])
    for member_id in member_ids:
        holder = context.holders[member_id]
        programme = get_programme(holder.programme)
        totals = {}
        for currency in programme.currencies:
            found = read.balances.get((member_id, currency.code))
            if found is not None:
                balance, available, pending_credits = found
                totals[Account.of_member(str(member_id), currency.code)] = (
                    balance,
                    balance - available,
                    pending_credits,
                )
        past = stored.StoredPast(
            member_id,
            entries=read.entries.get(member_id),
            reversals=read.reversals.get(member_id),
            buckets=read.buckets.get(member_id),
        )
        book = Book(
            member=holder,  # type: ignore[arg-type]
            programme=programme,
            ledger=Ledger.resume(past, length=holder.entries_count, totals=totals),
            state=codec.state_from_json(holder.tier_state),
            written=holder.entries_count,
            **_usage(read.usage.get(member_id, {})),
        )
        applied: dict[str, Any] = {}
        reversed_keys: set[str] = set()
        for activity in context.histories[member_id]:
            row = _history_row(next(activity_ids), holder, activity, now)
            original = None
            if activity.reverses:
                key = activity.reverses
                original = applied.get(key) or read.originals.get((member_id, key))
                if original is None:
                    raise NotFound(f"no applied activity {key} for this member", field="reverses")
                if key in reversed_keys or (member_id, key) in read.reversed:
                    raise Conflict(f"activity {key} is already reversed", field="reverses")
                reversed_keys.add(key)
            caused = _post_activity(book, row, activity, original)
            if events is not None:
                events[activity.key] = caused
            for event in caused:
                done.tier_changes.append(_tier_change_row(member_id, event, actor, now))
                done.timeline.append(_timeline_row(holder.customer_id, member_id, event, actor))
            applied[row.key] = row
            done.activities.append(vars(row))
        done.entries += _entry_rows(book, now)
        deleted, buckets = stored.bucket_changes(member_id, book.ledger, holder.entries_count)
        done.deleted_buckets += [(member_id, seq) for seq in deleted]
        done.buckets += buckets
        deleted_usage, usage = _usage_changes(book)
        done.deleted_usage += deleted_usage
        done.usage += usage
        for currency in book.programme.currencies:
            account = book.account(currency.code)
            balance = {
                "member_id": member_id,
                "currency": currency.code,
                "balance": book.ledger.balance(account),
                "available": book.ledger.available(account),
                "pending_credits": book.ledger.pending_credits(account),
            }
            known = (member_id, currency.code) in read.balances
            (done.balances if known else done.new_balances).append(balance)
        state = book.state
        done.members.append(
            {
                "id": member_id,
                "tier": state.tier,
                "tier_since": state.since,
                "period_end": state.period_end,
                "counter": state.counter,
                "tier_state": codec.state_to_json(state),
                "last_activity_on": holder.last_activity_on,
                "entries_count": len(book.ledger),
                "updated_at": now,
            }
        )
    return done


def _write_chunk(session: Session, chunk: _Chunk) -> None:
    tables = Base.metadata.tables
    for table, keys in chunk.deleted:  # before the rewritten rows go in
        _rewrite(session, table, keys, [])
    for name, rows in chunk.inserts:
        if isinstance(rows, PreparedCopy):
            write_prepared_copy(session, rows)
        else:
            bulk_insert(session, tables[name], rows)
    bulk_update(session, Balance.__table__, chunk.balances, key=("member_id", "currency"))
    bulk_update(session, Member.__table__, chunk.members, key="id")


def _lock_many(session: Session, member_ids: Sequence[int]) -> dict[int, _Holder]:
    """The members, locked in id order (so that two batches never wait on each other)."""
    table = Member.__table__
    holders: dict[int, _Holder] = {}
    for chunk in chunks(member_ids):
        query = (
            select(
                table.c.id,
                table.c.customer_id,
                table.c.programme,
                table.c.number,
                table.c.tier_state,
                table.c.last_activity_on,
                table.c.entries_count,
            )
            .where(table.c.id.in_(chunk))
            .order_by(table.c.id)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        holders.update((row.id, _Holder(*row)) for row in session.execute(query))
    missing = [member_id for member_id in member_ids if member_id not in holders]
    if missing:
        raise NotFound(f"member {missing[0]} not found", field="member_id")
    return holders


def _stored_originals(
    session: Session,
    holders: Mapping[int, _Holder],
    histories: Mapping[int, Sequence[domain.Activity]],
) -> tuple[dict[tuple[int, str], Any], set[tuple[int, str]]]:
    """Applied activities that refunds in the batch name but the batch does not hold, by
    (member, key), and those of them a stored refund already reversed."""
    wanted: set[tuple[int, str]] = set()
    for member_id, activities in histories.items():
        keys = {a.key for a in activities}
        wanted |= {
            (member_id, a.reverses) for a in activities if a.reverses and a.reverses not in keys
        }
    if not wanted:
        return {}, set()
    member_ids = sorted({member_id for member_id, _ in wanted})
    keys = sorted({key for _, key in wanted})
    found: dict[tuple[int, str], Any] = {}
    reversed_: set[tuple[int, str]] = set()
    table = Activity.__table__
    for chunk in chunks(member_ids):
        applied = (
            table.c.member_id.in_(chunk),
            table.c.status == "applied",
        )
        for row in session.execute(select(table).where(*applied, table.c.key.in_(keys))):
            if row.programme == holders[row.member_id].programme:
                found[(row.member_id, row.key)] = row
        reverses = table.c.payload["reverses"].as_string()
        for member_id, programme, key in session.execute(
            select(table.c.member_id, table.c.programme, reverses).where(
                *applied, reverses.in_(keys)
            )
        ):
            if programme == holders[member_id].programme:
                reversed_.add((member_id, key))
    return {k: v for k, v in found.items() if k in wanted}, reversed_


def _history_row(
    activity_id: int, holder: _Holder, activity: domain.Activity, now: datetime
) -> SimpleNamespace:
    """An activity's record before it is applied, written later with the others."""
    payload = {
        "kind": activity.kind,
        "on": activity.on.isoformat(),
        "amounts": dict(activity.amounts),
        "attributes": dict(activity.attributes),
        "quantity": activity.quantity,
        "reverses": activity.reverses,
    }
    return SimpleNamespace(
        id=activity_id,
        programme=holder.programme,
        key=activity.key,
        member_id=holder.id,
        member_number=holder.number,
        kind=activity.kind,
        on=activity.on,
        status="parked",
        payload=payload,
        earnings=None,
        entry_seqs=None,
        received_at=now,
        content_hash=_content_hash(payload),
    )


def _tier_change_row(
    member_id: int, event: domain.TierEvent, actor: Actor, now: datetime
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "on": event.on,
        "kind": event.kind,
        "from_tier": event.from_tier,
        "to_tier": event.to_tier,
        "reason": event.reason,
        "reason_fr": event.reason_fr,
        "source": "activity",
        "actor_label": actor.label,
        "justification": None,
        "created_at": now,
    }


def _timeline_row(
    customer_id: int, member_id: int, event: domain.TierEvent, actor: Actor
) -> dict[str, Any]:
    """What :func:`customers.record_event` writes for a tier event, as a row for a bulk path."""
    return {
        "customer_id": customer_id,
        "occurred_at": utcnow(),
        "kind": f"tier.{event.kind}",
        "channel": "api",
        "silo": "loyalty",
        "summary": event.reason,
        "actor_label": actor.label,
        "organisation_id": actor.organisation_id,
        "ref_type": "loyalty_member",
        "ref_id": str(member_id),
    }


def expiry_candidates(session: Session, *, as_of: date) -> list[int]:
    """The members who may have points lapsing on ``as_of``, in id order: those holding an
    available balance in a currency that expires, and for expiry after the last activity,
    only those inactive long enough; for expiry after earning, only those with a bucket dated
    before ``as_of``. A superset: :func:`expire_points` applies the exact rules."""
    found: set[int] = set()
    for code, programme in programmes().items():
        for currency in programme.spendable_currencies:
            expiry = currency.expiry
            if expiry is None or expiry.mode is ExpiryMode.NEVER:
                continue
            query = (
                select(Member.id)
                .join(Balance, Balance.member_id == Member.id)
                .where(
                    Member.programme == code,
                    Balance.currency == currency.code,
                    Balance.available > 0,
                )
            )
            horizon = domain.lapse_possible_before(programme, currency.code, as_of=as_of)
            if horizon is not None:
                query = query.where(Member.last_activity_on < horizon)
            else:
                dated = select(Entry.id).where(
                    Entry.member_id == Member.id,
                    Entry.currency == currency.code,
                    Entry.expires_on < as_of,
                )
                query = query.where(dated.exists())
            found.update(session.scalars(query))
    return sorted(found)


def expire_points(
    session: Session,
    *,
    actor: Actor,
    as_of: date,
    member_ids: Sequence[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Lapse what the programmes' expiry rules say is due on ``as_of``: buckets past their date
    (expiry after earning), or whole balances left without activity (expiry after the last
    activity). Each expiry is a ledger entry to the programme's expiry account. ``member_ids``
    (from :func:`expiry_candidates`) lets a caller split the work into short transactions."""
    actor.require(Permission.LOYALTY_EXCEPTION)
    counts = {"members": 0, "expired_points": 0}
    if member_ids is None:
        member_ids = expiry_candidates(session, as_of=as_of)
    for member_id in member_ids:
        book = resume_book(session, _lock(session, member_id))
        before = len(book.ledger)
        for currency in book.programme.spendable_currencies:
            account = book.account(currency.code)
            key = f"expiry:{currency.code}:{as_of.isoformat()}"
            last = book.member.last_activity_on
            if last and domain.balance_lapses(
                book.programme,
                currency.code,
                last_activity_on=last,
                as_of=as_of,
                tier=book.state.tier,
            ):
                book.apply("expire_balance", key=key, account=account, on=as_of)
            else:
                due = domain.due_expiries(
                    book.programme,
                    currency.code,
                    book.ledger.buckets(account),
                    as_of=as_of,
                    tier=book.state.tier,
                )
                if due:
                    book.apply("expire_allocations", key=key, account=account, on=as_of, due=due)
        expired = book.ledger.since(before)
        if expired:
            counts["members"] += 1
            counts["expired_points"] += sum(e.amount for e in expired)
            close_book(session, book)
            customers.record_event(
                session,
                actor=actor,
                customer_id=book.member.customer_id,
                kind="loyalty.expired",
                summary=", ".join(f"{e.amount} {e.currency} expired" for e in expired),
                channel="api",
                silo="loyalty",
                ref_type="loyalty_member",
                ref_id=str(member_id),
            )
        if progress:
            progress(1)
    return counts


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """Memberships, balances, tier history and activities, for the customer's GDPR export."""
    result = []
    for member in members_of(session, customer_id=customer_id):
        result.append(
            {
                "programme": member.programme,
                "number": member.number,
                "tier": member.tier,
                "tier_since": member.tier_since.isoformat(),
                "balances": {b.currency: b.balance for b in balances(session, member=member)},
                "tier_history": [
                    {
                        "on": c.on.isoformat(),
                        "from": c.from_tier,
                        "to": c.to_tier,
                        "reason": c.reason,
                    }
                    for c in tier_history(session, member_id=member.id)
                ],
                "activities": [
                    {"key": a.key, "kind": a.kind, "on": a.on.isoformat(), "payload": a.payload}
                    for a in session.scalars(
                        select(Activity).where(Activity.member_id == member.id)
                    )
                ],
            }
        )
    return {"memberships": result}


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """The membership number identifies the person and goes; so do the free texts (memos,
    activity attributes, justifications of tier exceptions). The ledger stays, anonymous,
    entry for entry and point for point, so the programme's books still balance."""
    members = list(
        session.scalars(select(Member.id).where(Member.customer_id.in_(erasure.customer_ids)))
    )
    if not members:
        return
    session.execute(
        update(Member)
        .where(Member.id.in_(members))
        .values(number=literal("ERASED-") + cast(Member.id, String))
    )
    for activity in session.scalars(select(Activity).where(Activity.member_id.in_(members))):
        activity.member_number = ERASED
        activity.payload = {**activity.payload, "attributes": {}}
    session.execute(update(Entry).where(Entry.member_id.in_(members)).values(memo=""))
    # An operation's stored arguments carry its memo too; the replay must find the same "".
    for entry in session.scalars(
        select(Entry).where(Entry.member_id.in_(members), Entry.args.is_not(None))
    ):
        if entry.args.get("memo"):
            entry.args = {**entry.args, "memo": ""}
    session.execute(
        update(TierChange)
        .where(TierChange.member_id.in_(members), TierChange.justification.is_not(None))
        .values(justification=None, reason=ERASED, reason_fr=ERASED)
    )
    audit.redact(session, entity_type="loyalty_member", entity_ids=members)


# --- the stored state against the ledger ---------------------------------------------------


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
        raise NotFound(f"member {member_id} not found", field="member_id")
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
