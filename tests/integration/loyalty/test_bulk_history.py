"""The bulk path (:func:`service.record_histories`, many members in one batch) is a faster way
to the outcome of :func:`service.record_activity` applied one activity at a time: the same
ledger entries with the same operations, balances, tiers, tier changes with their reasons,
timeline entries and activity records, on random histories with refunds, over a book that
already holds entries."""

from __future__ import annotations

import dataclasses
import itertools
import json
import sys
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from egards.accounts.domain import SYSTEM
from egards.customers.models import TimelineEvent
from egards.errors import Conflict, NotFound
from egards.loyalty import service
from egards.loyalty.domain import Activity
from egards.loyalty.errors import IdempotencyConflict
from egards.loyalty.models import Activity as ActivityRow
from egards.loyalty.models import Balance, Entry, Member
from egards.loyalty.schemas import ActivityCreate
from egards.loyalty.service import history_bulk
from tests.integration.loyalty import enrolled

TODAY = date.today()
ENROLLED = TODAY - timedelta(days=900)
_serial = itertools.count(1)

flight = st.tuples(
    st.just("flight"),
    st.integers(0, 800),  # days after enrolment
    st.sampled_from([400, 1500, 3000, 4500, 5800]),
    st.sampled_from(["economy", "premium", "business", "first"]),
    st.integers(50, 4000),  # fare in euros
)
partner = st.tuples(st.just("partner"), st.integers(0, 800), st.integers(1, 900))
refund = st.tuples(st.just("refund"), st.integers(0, 60), st.integers(0, 40))
histories = st.lists(
    st.lists(st.one_of(flight, flight, partner, refund), min_size=1, max_size=14),
    min_size=1,
    max_size=3,
)


def _activities(prefix: str, steps: list[tuple]) -> list[Activity]:
    """The history a member lives; refunds name an earlier activity, each at most once."""
    made: list[Activity] = [
        Activity(  # stored before the history: a refund below may take it back
            key=f"{prefix}-old",
            kind="flight",
            on=ENROLLED + timedelta(days=1),
            amounts={"fare": 90_000},
            attributes={"cabin": "business", "distance_miles": 5800, "domestic": False},
        )
    ]
    refunded: set[str] = set()
    for n, step in enumerate(steps):
        key = f"{prefix}-{n:02d}"
        if step[0] == "flight":
            _, days, miles, cabin, fare = step
            made.append(
                Activity(
                    key=key,
                    kind="flight",
                    on=ENROLLED + timedelta(days=days),
                    amounts={"fare": fare * 100, "taxes": 3_000},
                    attributes={"cabin": cabin, "distance_miles": miles, "domestic": False},
                )
            )
        elif step[0] == "partner":
            _, days, euros = step
            made.append(
                Activity(
                    key=key,
                    kind="partner",
                    on=ENROLLED + timedelta(days=days),
                    amounts={"purchase": euros * 100},
                )
            )
        else:
            _, delay, pick = step
            originals = [a for a in made if a.reverses is None and a.key not in refunded]
            if not originals:
                continue
            original = originals[pick % len(originals)]
            refunded.add(original.key)
            made.append(
                Activity(
                    key=f"{key}-refund",
                    kind="refund",
                    on=original.on + timedelta(days=delay),
                    reverses=original.key,
                )
            )
    return made


def _member(session, run: int, side: str) -> Member:
    return enrolled(session, side, f"Bulk{run}", on=ENROLLED)


def _before_the_history(session, member: Member, old: Activity) -> None:
    """Entries already in the book: goodwill miles, and a flight a refund may reverse."""
    service.grant_points(
        session,
        actor=SYSTEM,
        member_id=member.id,
        key=f"{old.key}-goodwill",
        currency="MILES",
        amount=500,
        reason="welcome",
        today=lambda: ENROLLED,
    )
    _one_by_one(session, member, [old])


def _one_by_one(session, member: Member, activities: list[Activity]) -> None:
    for activity in sorted(activities, key=lambda a: a.on):  # stable, as the bulk path
        service.record_activity(
            session,
            actor=SYSTEM,
            programme_code="flying_blue",
            data=ActivityCreate(
                key=activity.key,
                customer_id=member.customer_id,
                kind=activity.kind,
                on=activity.on,
                amounts=dict(activity.amounts),
                attributes=dict(activity.attributes),
                reverses=activity.reverses,
            ),
            today=lambda: TODAY,
        )


def _outcome(session, member_id: int, prefix: str) -> dict:
    """Everything the two paths write for a member, with its own key prefix and id taken out."""

    def plain(value) -> str:
        text = json.dumps(value, default=str, sort_keys=True)
        return text.replace(f"{prefix}-", "K-").replace(f'"{member_id}"', '"M"')

    member = session.get(Member, member_id)
    keys = {
        a.id: a.key
        for a in session.scalars(select(ActivityRow).where(ActivityRow.member_id == member_id))
    }
    return {
        "member": plain(
            [
                member.tier,
                member.tier_since,
                member.period_end,
                member.counter,
                member.tier_state,
                member.last_activity_on,
                member.entries_count,
            ]
        ),
        "entries": [
            plain(
                [
                    e.seq,
                    e.key,
                    e.op,
                    e.args,
                    e.currency,
                    e.debit,
                    e.credit,
                    e.amount,
                    e.on,
                    e.kind,
                    e.state,
                    e.rule_id,
                    e.reverses,
                    e.resolves,
                    e.expires_on,
                    e.memo,
                    keys.get(e.activity_id),
                ]
            )
            for e in session.scalars(
                select(Entry).where(Entry.member_id == member_id).order_by(Entry.seq)
            )
        ],
        "balances": [
            (b.currency, b.balance, b.available, b.pending_credits)
            for b in session.scalars(
                select(Balance).where(Balance.member_id == member_id).order_by(Balance.currency)
            )
        ],
        "activities": sorted(
            plain([a.key, a.kind, a.on, a.status, a.payload, a.earnings, a.entry_seqs])
            for a in session.scalars(select(ActivityRow).where(ActivityRow.member_id == member_id))
        ),
        "tier_changes": [
            plain([c.on, c.kind, c.from_tier, c.to_tier, c.message, c.source])
            for c in reversed(service.tier_history(session, member_id=member_id))
        ],
        "timeline": [
            (t.kind, t.summary, t.channel, t.silo, t.actor_label)
            for t in session.scalars(
                select(TimelineEvent)
                .where(
                    TimelineEvent.ref_type == "loyalty_member",
                    TimelineEvent.ref_id == str(member_id),
                    TimelineEvent.kind.startswith("tier."),
                )
                .order_by(TimelineEvent.id)
            )
        ],
    }


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(members=histories, chunk_size=st.sampled_from([1, 2, 1000]))
def test_a_batch_of_histories_ends_exactly_where_one_activity_at_a_time_does(
    db, members, chunk_size
):
    run = next(_serial)
    pairs = []
    with db.unit_of_work() as session:
        for index, steps in enumerate(members):
            one, bulk = _member(session, run, "One"), _member(session, run, "Bulk")
            lived = {side: _activities(f"{side}{run}x{index}", steps) for side in ("one", "bulk")}
            _before_the_history(session, one, lived["one"][0])
            _before_the_history(session, bulk, lived["bulk"][0])
            pairs.append((one.id, bulk.id, index, lived))
    with db.unit_of_work() as session:
        for one_id, _, _, lived in pairs:
            _one_by_one(session, session.get(Member, one_id), lived["one"][1:])
    with db.unit_of_work() as session:
        written = service.record_histories(
            session,
            actor=SYSTEM,
            histories={bulk_id: lived["bulk"][1:] for _, bulk_id, _, lived in pairs},
            today=lambda: TODAY,
            chunk_size=chunk_size,
        )
        assert written == sum(len(lived["bulk"]) - 1 for *_, lived in pairs)
    with db.unit_of_work() as session:
        for one_id, bulk_id, index, _ in pairs:
            expected = _outcome(session, one_id, f"one{run}x{index}")
            assert _outcome(session, bulk_id, f"bulk{run}x{index}") == expected
            service.open_book(session, session.get(Member, bulk_id)).ledger.check_invariants()


def test_a_refund_in_a_batch_of_an_activity_already_reversed_is_refused(db):
    run = next(_serial)
    with db.unit_of_work() as session:
        member = _member(session, run, "Twice")
        old = _activities(f"twice{run}", [])[0]
        _before_the_history(session, member, old)
        _one_by_one(
            session,
            member,
            [Activity(key=f"twice{run}-r1", kind="refund", on=old.on, reverses=old.key)],
        )
        member_id = member.id
    again = Activity(key=f"twice{run}-r2", kind="refund", on=TODAY, reverses=old.key)
    with pytest.raises(Conflict) as refused, db.unit_of_work() as session:
        service.record_histories(
            session, actor=SYSTEM, histories={member_id: [again]}, today=lambda: TODAY
        )
    assert refused.value.field == "reverses"
    assert refused.value.message == f"activity {old.key} is already reversed"


def test_an_activity_from_a_batch_sent_again_one_at_a_time_is_recognised(db):
    run = next(_serial)
    with db.unit_of_work() as session:
        member = _member(session, run, "Again")
        flight = _activities(f"again{run}", [])[0]
        service.record_histories(
            session, actor=SYSTEM, histories={member.id: [flight]}, today=lambda: TODAY
        )
        member_id = member.id
    with db.unit_of_work() as session:
        before = session.get(Member, member_id).entries_count
        _one_by_one(session, session.get(Member, member_id), [flight])  # the same content
        assert session.get(Member, member_id).entries_count == before
        changed = dataclasses.replace(flight, amounts={"fare": 1})
        with pytest.raises(IdempotencyConflict):
            _one_by_one(session, session.get(Member, member_id), [changed])


def test_the_bulk_path_gives_the_interpreters_switch_interval_back_even_when_refused(
    db, monkeypatch
):
    before = sys.getswitchinterval()
    seen = []
    real = history_bulk._write_chunk

    def writing(*args):
        seen.append(sys.getswitchinterval())  # shortened while the writer works
        real(*args)

    monkeypatch.setattr(history_bulk, "_write_chunk", writing)
    with db.unit_of_work() as session:
        member = _member(session, next(_serial), "Switch")
        flight = _activities(f"switch{member.id}", [])[0]
        service.record_histories(
            session, actor=SYSTEM, histories={member.id: [flight]}, today=lambda: TODAY
        )
        with pytest.raises(NotFound):
            service.record_histories(
                session, actor=SYSTEM, histories={-1: [flight]}, today=lambda: TODAY
            )
    assert seen and all(interval < before for interval in seen)
    assert sys.getswitchinterval() == before
