"""Many activities at once, each with the outcome :func:`service.record_activity` gives it.

The API's bulk endpoint and the file import take this path. What record_activity checks one
activity at a time (the key already seen, the activity itself, its member, a refund's
original) is checked for the whole batch with a few queries; the activities that pass go
through :func:`service.record_histories`, one pass over their members' books.

Every item gets exactly what record_activity would give it, the items taken in input order.
record_histories applies each member's activities in date order (a day's in the order given),
so only the members whose activities in the batch already come in date order go through it;
the others' activities (one sent with a date before an earlier item's) are applied one at a
time with record_activity, in input order. Members do not share books, so the two kinds mix
freely. If the ledger refuses something only it can see (a refund of points already spent),
the batch is applied again one item at a time, so that item alone is refused and nothing
half-applies.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.bulk import chunks
from egards.errors import Conflict, DomainError, NotFound
from egards.i18n import render_message
from egards.loyalty import domain, service
from egards.loyalty.errors import IdempotencyConflict
from egards.loyalty.models import Activity, Member
from egards.loyalty.programme import Programme
from egards.loyalty.schemas import ActivityCreate, ActivityResult

ItemOutcome = ActivityResult | DomainError
"""What became of one item: its result (applied, parked or replayed), or why it was refused."""

_NOT_CONTENT = {"member_number", "customer_id", "key"}


@dataclass(frozen=True)
class _Parked:
    member_number: str


@dataclass(frozen=True)
class _Pending:
    member_id: int
    activity: domain.Activity


@dataclass(frozen=True)
class _Replay:
    """The same content under a key already taken: in this batch (``lead``) or stored."""

    lead: int | None
    stored: Any = None


_Decision = _Parked | _Pending | _Replay | DomainError


@dataclass
class _Plan:
    """Each item's fate as far as the database tells before the ledger is involved."""

    decisions: list[_Decision]
    payloads: list[dict[str, Any]]
    digests: list[str]
    tiers: dict[int, str]  # every member concerned, by id: tier before the batch
    numbers: dict[int, str]  # their member numbers

    def histories(self) -> dict[int, list[domain.Activity]]:
        """Each member's activities to apply, in input order."""
        found: dict[int, list[domain.Activity]] = {}
        for decision in self.decisions:
            if isinstance(decision, _Pending):
                found.setdefault(decision.member_id, []).append(decision.activity)
        return found


def _in_date_order(activities: Sequence[domain.Activity]) -> bool:
    """Whether record_histories applies these in the order given: no date before the last."""
    return all(a.on <= b.on for a, b in itertools.pairwise(activities))


def record_many(
    session: Session,
    *,
    actor: Actor,
    programme_code: str,
    items: Sequence[ActivityCreate],
    today: service.Today = service.today,
    lang: str = "en",
) -> list[ItemOutcome]:
    """Count many activities: one outcome per item, in input order, each the one
    record_activity gives it in turn (reasons in ``lang``). Idempotent by key (within the
    batch too), unknown members parked, refunds checked against their original. A member's
    activities go through the bulk path when the batch has them in date order, one at a time
    otherwise."""
    actor.require(Permission.LOYALTY_WRITE)
    programme = service.get_programme(programme_code)
    day = today()
    plan = _plan(session, programme, items, day)
    histories = plan.histories()
    bulk = {m: history for m, history in histories.items() if _in_date_order(history)}
    events: dict[str, tuple[domain.TierEvent, ...]] = {}
    in_turn: dict[int, ActivityResult] = {}  # by index: items of the other members
    try:
        with session.begin_nested():
            _park(session, actor, programme, items, plan)
            if bulk:
                service.record_histories(
                    session, actor=actor, histories=bulk, today=lambda: day, events=events
                )
            for index, decision in enumerate(plan.decisions):
                if isinstance(decision, _Pending) and decision.member_id not in bulk:
                    in_turn[index] = service.record_activity(
                        session,
                        actor=actor,
                        programme_code=programme.code,
                        data=items[index],
                        today=lambda: day,
                        lang=lang,
                    )
    except DomainError:
        return _one_at_a_time(session, actor, programme.code, items, today, lang)
    return _outcomes(session, programme, items, plan, events, in_turn, lang)


def _plan(
    session: Session, programme: Programme, items: Sequence[ActivityCreate], day: date
) -> _Plan:
    """Every check record_activity makes before the ledger, in input order, against what is
    stored and what the batch has taken so far."""
    payloads = [item.model_dump(mode="json", exclude=_NOT_CONTENT) for item in items]
    digests = [service._content_hash(payload) for payload in payloads]
    stored = _stored_activities(session, programme.code, {item.key for item in items})
    members = _members(session, programme.code, items)
    concerned = {m for m, _ in members.values()} | {r.member_id for r in stored.values()}
    plan = _Plan(
        decisions=[],
        payloads=payloads,
        digests=digests,
        tiers=_locked_tiers(session, concerned - {None}),
        numbers=dict(members.values()),
    )
    originals, reversed_ = _stored_refund_targets(
        session, programme.code, {item.reverses for item in items if item.reverses}
    )
    taken: dict[str, int] = {}  # key -> the item of this batch now stored under it
    for index, item in enumerate(items):
        decision = _decide(
            programme, item, index, day, plan, taken, stored, members, originals, reversed_
        )
        if isinstance(decision, _Pending) and item.reverses:
            reversed_.add((decision.member_id, item.reverses))
        if isinstance(decision, _Parked | _Pending):
            taken[item.key] = index
        plan.decisions.append(decision)
    return plan


def _decide(
    programme: Programme,
    item: ActivityCreate,
    index: int,
    day: date,
    plan: _Plan,
    taken: dict[str, int],
    stored: dict[str, Any],
    members: dict[tuple[str, Any], tuple[int, str]],
    originals: dict[str, int],
    reversed_: set[tuple[int, str]],
) -> _Decision:
    digest = plan.digests[index]
    lead = taken.get(item.key)
    previous = stored.get(item.key)
    if lead is not None or previous is not None:
        known = plan.digests[lead] if lead is not None else previous and previous.content_hash
        if known != digest:
            return IdempotencyConflict(
                f"activity {item.key} was already received with other content", field="key"
            )
        return _Replay(lead, previous)
    activity = service.activity_of(item)
    try:
        domain.validate_activity(programme, activity, today=day)
    except DomainError as error:
        return error
    member = members.get(_who(item))
    if member is None:
        return _Parked(item.member_number or f"customer:{item.customer_id}")
    member_id = member[0]
    if item.reverses:
        key = item.reverses
        original = taken.get(key)
        if original is not None:
            found = plan.decisions[original]
            applied_to = found.member_id if isinstance(found, _Pending) else None
        else:
            applied_to = originals.get(key)
        if applied_to != member_id:
            return NotFound(f"no applied activity {key} for this member", field="reverses")
        if (member_id, key) in reversed_:
            return Conflict(f"activity {key} is already reversed", field="reverses")
    return _Pending(member_id, activity)


def _who(item: ActivityCreate) -> tuple[str, Any]:
    """How the item names its member, as record_activity resolves it."""
    if item.customer_id is not None:
        return ("customer", item.customer_id)
    return ("number", service.stored_number(item.member_number))


def _stored_activities(session: Session, programme: str, keys: Iterable[str]) -> dict[str, Any]:
    table = Activity.__table__
    found: dict[str, Any] = {}
    for chunk in chunks(sorted(keys)):
        rows = session.execute(
            select(table).where(table.c.programme == programme, table.c.key.in_(chunk))
        )
        found.update((row.key, row) for row in rows)
    return found


def _shown(
    session: Session, programme: Programme, rows: Iterable[Any], lang: str
) -> tuple[dict[int, list[dict[str, Any]]], dict[int, str]]:
    """Stored activities' earnings as results show them (by activity id), and the numbers of
    their members (by member id)."""
    rows = list(rows)
    lines = service.earnings_of(session, programme, rows)
    member_ids = sorted({row.member_id for row in rows if row.member_id is not None})
    numbers: dict[int, str] = {}
    table = Member.__table__
    for chunk in chunks(member_ids):
        query = select(table.c.id, table.c.number).where(table.c.id.in_(chunk))
        numbers.update((member_id, number) for member_id, number in session.execute(query))
    return {k: service.shown_earnings(v, lang) for k, v in lines.items()}, numbers


def _members(
    session: Session, programme: str, items: Sequence[ActivityCreate]
) -> dict[tuple[str, Any], tuple[int, str]]:
    """(id, number) of the members the items name, by how they name them."""
    wanted = {_who(item) for item in items}
    table = Member.__table__
    columns = (table.c.id, table.c.number, table.c.customer_id)
    found: dict[tuple[str, Any], tuple[int, str]] = {}
    for how, column in (("number", table.c.number), ("customer", table.c.customer_id)):
        values = sorted(value for kind, value in wanted if kind == how)
        for chunk in chunks(values):
            query = select(*columns).where(table.c.programme == programme, column.in_(chunk))
            for member_id, number, customer_id in session.execute(query):
                found[(how, number if how == "number" else customer_id)] = (member_id, number)
    return found


def _stored_refund_targets(
    session: Session, programme: str, keys: set[str]
) -> tuple[dict[str, int], set[tuple[int, str]]]:
    """Of the activities refunds name: the stored applied ones with their member, and the
    (member, key) pairs a stored refund already reversed. A refund is its original's
    member's, so the refunds are looked for among those members' activities (through their
    index), not among the whole programme's."""
    table = Activity.__table__
    applied = (table.c.programme == programme, table.c.status == "applied")
    reverses = table.c.payload["reverses"].as_string()
    originals: dict[str, int] = {}
    for chunk in chunks(sorted(keys)):
        query = select(table.c.key, table.c.member_id).where(*applied, table.c.key.in_(chunk))
        originals.update((key, member_id) for key, member_id in session.execute(query))
    reversed_: set[tuple[int, str]] = set()
    for chunk in chunks(sorted(set(originals.values()))):
        query = select(table.c.member_id, reverses).where(
            *applied, table.c.member_id.in_(chunk), reverses.is_not(None)
        )
        reversed_.update(
            (member_id, key) for member_id, key in session.execute(query) if key in originals
        )
    return originals, reversed_


def _locked_tiers(session: Session, member_ids: Iterable[int]) -> dict[int, str]:
    """The members' tiers, locked in id order as record_histories locks them, so that what
    the batch checks and reports holds until it commits."""
    table = Member.__table__
    locking = session.get_bind().dialect.name == "postgresql"
    found: dict[int, str] = {}
    for chunk in chunks(sorted(member_ids)):
        query = select(table.c.id, table.c.tier).where(table.c.id.in_(chunk)).order_by(table.c.id)
        if locking:
            query = query.with_for_update()
        found.update((member_id, tier) for member_id, tier in session.execute(query))
    return found


def _park(
    session: Session,
    actor: Actor,
    programme: Programme,
    items: Sequence[ActivityCreate],
    plan: _Plan,
) -> None:
    """Activities of members not known yet, kept (and audited) as record_activity keeps them."""
    rows = [
        Activity(
            programme=programme.code,
            key=items[index].key,
            member_id=None,
            member_number=decision.member_number,
            kind=items[index].kind,
            on=items[index].on,
            content_hash=plan.digests[index],
            status="parked",
            payload=plan.payloads[index],
        )
        for index, decision in enumerate(plan.decisions)
        if isinstance(decision, _Parked)
    ]
    if not rows:
        return
    session.add_all(rows)
    session.flush()
    for row in rows:
        service.audit_parked(session, actor=actor, row=row)


def _outcomes(
    session: Session,
    programme: Programme,
    items: Sequence[ActivityCreate],
    plan: _Plan,
    events: dict[str, tuple[domain.TierEvent, ...]],
    in_turn: dict[int, ActivityResult],
    lang: str,
) -> list[ItemOutcome]:
    """Each item's result from what was written, with the member's tier as it stood right
    after the item, as record_activity reports it (``in_turn``: the results of the items
    record_activity applied itself)."""
    applied = {
        i: d.member_id
        for i, d in enumerate(plan.decisions)
        if isinstance(d, _Pending) and i not in in_turn
    }
    written = _stored_activities(session, programme.code, (items[i].key for i in applied))
    replays = [d.stored for d in plan.decisions if isinstance(d, _Replay) and d.stored is not None]
    shown, numbers = _shown(session, programme, [*written.values(), *replays], lang)
    # Where each applied item falls in its member's date order, and the tier it left.
    rank = {i: (items[i].on, i) for i in applied}
    left: dict[int, str] = {}
    tier = dict(plan.tiers)
    for index in sorted(applied, key=rank.__getitem__):
        caused = events.get(items[index].key, ())
        if caused:
            tier[applied[index]] = caused[-1].to_tier
        left[index] = tier[applied[index]]
    # Walking in input order: a replay reads its member's tier after the items before it.
    now: dict[int, str | None] = dict(plan.tiers)
    latest: dict[int, tuple[date, int]] = {}
    outcomes: list[ItemOutcome] = []
    for index, decision in enumerate(plan.decisions):
        item = items[index]
        if isinstance(decision, DomainError):
            outcomes.append(decision)
        elif isinstance(decision, _Parked):
            outcomes.append(
                ActivityResult(key=item.key, status="parked", member_number=decision.member_number)
            )
        elif isinstance(decision, _Pending) and index in in_turn:
            outcomes.append(in_turn[index])
            now[decision.member_id] = in_turn[index].tier
        elif isinstance(decision, _Pending):
            member_id = decision.member_id
            if member_id not in latest or rank[index] > latest[member_id]:
                latest[member_id] = rank[index]
                now[member_id] = left[index]
            outcomes.append(
                ActivityResult(
                    key=item.key,
                    status="applied",
                    member_number=plan.numbers[member_id],
                    earnings=shown[written[item.key].id],
                    tier=left[index],
                    tier_events=[
                        render_message(lang, event.reason) for event in events.get(item.key, ())
                    ],
                )
            )
        elif decision.lead is not None:
            first = outcomes[decision.lead]
            assert isinstance(first, ActivityResult)
            lead = plan.decisions[decision.lead]
            tier_now = now[lead.member_id] if isinstance(lead, _Pending) else None
            outcomes.append(first.model_copy(update={"tier": tier_now, "tier_events": []}))
        else:
            row = decision.stored
            outcomes.append(
                ActivityResult(
                    key=row.key,
                    status=row.status,
                    member_number=row.member_number or numbers.get(row.member_id, ""),
                    earnings=shown[row.id],
                    tier=now[row.member_id] if row.member_id else None,
                )
            )
    return outcomes


def _one_at_a_time(
    session: Session,
    actor: Actor,
    programme_code: str,
    items: Sequence[ActivityCreate],
    today: service.Today,
    lang: str,
) -> list[ItemOutcome]:
    """record_activity on each item in turn, each whole or not at all."""
    outcomes: list[ItemOutcome] = []
    for item in items:
        try:
            with session.begin_nested():
                outcomes.append(
                    service.record_activity(
                        session,
                        actor=actor,
                        programme_code=programme_code,
                        data=item,
                        today=today,
                        lang=lang,
                    )
                )
        except DomainError as error:
            outcomes.append(error)
    return outcomes
