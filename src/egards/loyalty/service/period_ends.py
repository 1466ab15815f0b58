"""What the calendar triggers for all members: closing the qualification periods that ended
(:func:`requalify`, in bulk, with no ORM object per member) and lapsing the points the
programmes' expiry rules say are due (:func:`expire_points`, member by member, for the
candidates :func:`expiry_candidates` finds)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.bulk import (
    BackgroundWriter,
    among,
    bulk_insert,
    bulk_update_unchanged,
    chunks,
    paused_gc,
)
from egards.config import LOCALES
from egards.customers import service as customers
from egards.customers.models import TimelineEvent
from egards.db import utcnow
from egards.i18n import N_, format_number, message, names
from egards.loyalty import codec, domain
from egards.loyalty.models import Balance, Entry, Member, TierChange
from egards.loyalty.programme import ExpiryMode

from ._common import _tier_change_row, _timeline_row, get_programme, programmes
from .books import _lock, close_book, resume_book

RETRIES = 3


@dataclass(frozen=True, slots=True)
class Requalified:
    """One batch of :func:`requalify`, computed by :func:`requalified`: the member updates,
    each member's tier state as it was read (JSON text, beside ``updates``), the tier changes
    and timeline entries, and the members whose tier changed (not only requalified)."""

    updates: list[dict[str, Any]]
    read: list[str]
    changes: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    changed: frozenset[int]


@dataclass(frozen=True, slots=True)
class Written:
    """What :func:`write_requalified` wrote: members, of them how many changed tier, and the
    members it left because their tier state moved since it was read (an activity posted, a
    tier changed by exception), in id order."""

    members: int
    changed: int
    moved: list[int]


def requalify(
    session: Session,
    *,
    actor: Actor,
    as_of: date,
    batch_size: int = 20_000,
    progress: Callable[[int], None] | None = None,
    member_ids: Sequence[int] | None = None,
) -> dict[str, int]:
    """Close every qualification period that ended before ``as_of`` (of ``member_ids`` only,
    when given), in bulk.

    Reads (id, state) tuples in batches, runs the pure period-end rule, writes the changed
    states (one statement per batch) and their tier changes and timeline entries (COPY on
    PostgreSQL) back: no ORM object per member. A batch is written while the next one is
    computed. A member whose stored state moved between the read and the write (an activity
    posted meanwhile) is not overwritten: it is read and evaluated again, up to ``RETRIES``
    times, then left due for the next run. Counts: ``members`` written, ``changed`` tier,
    ``moved`` (states found moved at write time) and ``left``."""
    actor.require(Permission.LOYALTY_EXCEPTION)
    counts: dict[str, int] = {"members": 0, "changed": 0, "moved": 0, "left": 0}
    moved: list[int] = []

    def after(last_id: int) -> Sequence[Any]:
        return members_due(session, as_of=as_of, after_id=last_id, limit=batch_size, ids=member_ids)

    def write(batch: Requalified) -> None:
        done = write_requalified(session, batch)
        counts["members"] += done.members
        counts["changed"] += done.changed
        counts["moved"] += len(done.moved)
        moved.extend(done.moved)

    outcomes: dict[tuple[str, str], Any] = {}
    with BackgroundWriter(session) as writer, paused_gc():
        rows = after(0)
        while rows:
            if len(outcomes) > 200_000:
                outcomes.clear()
            batch = requalified(actor, rows, as_of, outcomes)
            writer.wait()
            following = after(rows[-1].id)
            writer.submit(write, batch)
            if progress:
                progress(len(rows))
            rows = following
    for _ in range(RETRIES):
        if not moved:
            break
        again, moved[:] = sorted(moved), []
        for chunk in chunks(again, batch_size):
            write(requalified(actor, members_due(session, as_of=as_of, ids=chunk), as_of, {}))
    counts["left"] = len(moved)
    # Mapped members the caller holds were written behind the ORM's back.
    for identity in list(session.identity_map.keys()):
        if identity[0] is Member:
            session.expire(session.identity_map[identity])
    return counts


def members_due(
    session: Session,
    *,
    as_of: date,
    after_id: int = 0,
    limit: int | None = None,
    ids: Sequence[int] | None = None,
) -> Sequence[Any]:
    """(id, customer_id, programme, tier_state as JSON text) of the members whose period ended
    before ``as_of`` (among ``ids`` when given), after ``after_id``, in id order: what
    :func:`requalified` reads."""
    table = Member.__table__
    query = (
        select(table.c.id, table.c.customer_id, table.c.programme, cast(table.c.tier_state, Text))
        .where(table.c.period_end < as_of, table.c.id > after_id)
        .order_by(table.c.id)
    )
    if ids is not None:
        query = query.where(among(session, table.c.id, ids))
    return session.execute(query if limit is None else query.limit(limit)).all()


def requalified(
    actor: Actor,
    rows: Sequence[Any],
    as_of: date,
    outcomes: dict[tuple[str, str], Any],
) -> Requalified:
    """One batch of :func:`requalify`, computed.

    The period-end rule is a pure function of the programme and the stored state, so members
    in the same standing (e.g. every inactive member enrolled the same day) share one
    evaluation, kept in ``outcomes`` by programme and state text."""
    now = utcnow()
    updates, read, changes, timeline = [], [], [], []
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
        read.append(state_text)
        for event in outcome.events:
            changes.append({**_tier_change_row(member_id, event, actor, now), "source": "batch"})
            timeline.append(_timeline_row(customer_id, member_id, event, actor))
            if event.kind != "requalified":
                changed.add(member_id)
    return Requalified(updates, read, changes, timeline, frozenset(changed))


def write_requalified(session: Session, batch: Requalified) -> Written:
    """Write a batch computed by :func:`requalified`, compare-and-set: a member whose stored
    tier state is no longer the one read is left as it is (the batch's tier changes and
    timeline entries for it too) and named in :attr:`Written.moved`."""
    written = bulk_update_unchanged(
        session,
        Member.__table__,
        batch.updates,
        key="id",
        column="tier_state",
        read=batch.read,
    )
    moved = sorted({row["id"] for row in batch.updates} - written)
    changes, timeline = batch.changes, batch.timeline
    if moved:
        changes = [row for row in changes if row["member_id"] in written]
        timeline = [row for row in timeline if int(row["ref_id"]) in written]
    bulk_insert(session, TierChange.__table__, changes)
    bulk_insert(session, TimelineEvent.__table__, timeline)
    return Written(len(written), len(batch.changed & written), moved)


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
                dated = select(Entry.seq).where(
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
                summary=message(
                    N_("Expired: {amounts}"),
                    amounts=names(
                        {
                            language: ", ".join(
                                format_number(e.amount, language)
                                + " "
                                + (book.programme.currency(e.currency).name.get(language) or "")
                                for e in expired
                            )
                            for language in LOCALES
                        }
                    ),
                ),
                channel="api",
                silo="loyalty",
                ref_type="loyalty_member",
                ref_id=str(member_id),
            )
        if progress:
            progress(1)
    return counts
