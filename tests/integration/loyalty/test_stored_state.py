"""Operations start from the stored state beside the ledger, never from a replay: after any
sequence of operations (earn, partner purchases under a yearly cap, batches, refunds,
redemptions, holds settled or voided, cancellations, goodwill, expiry, tier exceptions, the
batches' recent rows merged into the history) the
stored state is exactly what replaying the ledger gives (``egards loyalty verify``)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from alembic import command
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from egards.accounts.domain import SYSTEM
from egards.errors import DomainError
from egards.loyalty import intake, service
from egards.loyalty.models import Bucket, CapUsage, Entry
from egards.loyalty.schemas import ActivityCreate
from egards.migrate import alembic_config
from tests.conftest import BOTH, own_database
from tests.integration.loyalty import enrolled

TODAY = date.today()
_serial = itertools.count(1)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.sampled_from([400, 1500, 5800]), st.integers(0, 400)),
        st.tuples(st.just("partner"), st.integers(1_000, 30_000), st.integers(0, 400)),
        st.tuples(st.just("batch"), st.integers(1, 3)),
        st.tuples(st.just("refund"), st.integers(0, 20)),
        st.tuples(st.just("redeem"), st.integers(1000, 9000), st.booleans()),
        st.tuples(st.just("settle"), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("goodwill"), st.integers(1, 5000)),
        st.tuples(st.just("expire"), st.integers(0, 1000)),
        st.tuples(st.just("exception"), st.sampled_from(["explorer", "silver", "gold"])),
        st.tuples(st.just("merge")),
    ),
    min_size=1,
    max_size=14,
)


def _flight(key: str, customer_id: int, miles: int, days_ago: int) -> ActivityCreate:
    return ActivityCreate(
        key=key,
        customer_id=customer_id,
        kind="flight",
        on=TODAY - timedelta(days=days_ago),
        amounts={"fare": 45_000, "taxes": 3_000},
        attributes={"cabin": "business", "distance_miles": miles, "domestic": False},
    )


def _run(session, op, step: int, run: int, member_id: int, customer_id: int, seen) -> None:
    key = f"s{run}-{step}"
    if op[0] == "earn":
        data = _flight(key, customer_id, op[1], op[2])
        service.record_activity(session, actor=SYSTEM, programme_code="flying_blue", data=data)
        seen["activities"].append(key)
    elif op[0] == "partner":
        data = ActivityCreate(
            key=key,
            customer_id=customer_id,
            kind="partner",
            on=TODAY - timedelta(days=op[2]),
            amounts={"purchase": op[1] * 100},
        )
        service.record_activity(session, actor=SYSTEM, programme_code="flying_blue", data=data)
        seen["activities"].append(key)
    elif op[0] == "batch":
        items = [_flight(f"{key}-{n}", customer_id, 1500, 3 - n) for n in range(op[1])]
        outcomes = intake.record_many(
            session, actor=SYSTEM, programme_code="flying_blue", items=items
        )
        assert not any(isinstance(o, DomainError) for o in outcomes), outcomes
        seen["activities"] += [item.key for item in items]
    elif op[0] == "refund" and seen["activities"]:
        original = seen["activities"][op[1] % len(seen["activities"])]
        data = ActivityCreate(
            key=key, customer_id=customer_id, kind="refund", on=TODAY, reverses=original
        )
        service.record_activity(session, actor=SYSTEM, programme_code="flying_blue", data=data)
    elif op[0] == "redeem":
        entry = service.redeem(
            session,
            actor=SYSTEM,
            member_id=member_id,
            key=key,
            currency="MILES",
            amount=op[1],
            hold=op[2],
        )
        seen["holds" if op[2] else "redemptions"].append(entry.seq)
    elif op[0] == "settle" and seen["holds"]:
        seq = seen["holds"][op[1] % len(seen["holds"])]
        entry = service.resolve_hold(
            session, actor=SYSTEM, member_id=member_id, seq=seq, key=key, settle=op[2]
        )
        if op[2]:
            seen["redemptions"].append(entry.seq)
    elif op[0] == "cancel" and seen["redemptions"]:
        seq = seen["redemptions"][op[1] % len(seen["redemptions"])]
        service.cancel_redemption(session, actor=SYSTEM, member_id=member_id, seq=seq, key=key)
    elif op[0] == "goodwill":
        service.grant_points(
            session,
            actor=SYSTEM,
            member_id=member_id,
            key=key,
            currency="MILES",
            amount=op[1],
            reason="a late bag",
        )
    elif op[0] == "expire":
        service.expire_points(session, actor=SYSTEM, as_of=TODAY + timedelta(days=op[1]))
    elif op[0] == "exception":
        service.change_tier_by_exception(
            session,
            actor=SYSTEM,
            member_id=member_id,
            tier=op[1],
            justification="property test",
            new_period=True,
        )
    elif op[0] == "merge":  # the batches' recent rows into the history (PostgreSQL)
        service.merge_recent(session, actor=SYSTEM, member_ids=[member_id])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
# A yearly cap reached, then given back by a refund; a hold voided, a redemption cancelled.
@example(ops=[("partner", 30_000, 0), ("partner", 30_000, 1), ("refund", 0), ("partner", 9, 0)])
@example(
    ops=[
        ("earn", 5800, 3),
        ("redeem", 2000, True),
        ("settle", 0, False),
        ("redeem", 1000, False),
        ("cancel", 0),
        ("expire", 900),
    ]
)
# A batch's buckets taken by a redemption while recent, then merged, then refunded.
@example(ops=[("batch", 3), ("redeem", 2000, False), ("merge",), ("refund", 1), ("batch", 1)])
def test_the_stored_state_is_what_replaying_the_ledger_gives(db, ops):
    run = next(_serial)
    with db.unit_of_work() as session:
        member = enrolled(session, "Stored", f"State{run}", on=TODAY - timedelta(days=500))
        member_id, customer_id = member.id, member.customer_id
    seen: dict[str, list] = {"activities": [], "holds": [], "redemptions": []}
    for step, op in enumerate(ops):
        try:
            with db.unit_of_work() as session:
                _run(session, op, step, run, member_id, customer_id, seen)
        except DomainError:
            pass  # refused whole: the unit of work rolled back
        with db.unit_of_work() as session:
            assert list(service.verify(session, actor=SYSTEM, member_id=member_id)) == []


def test_verify_reports_where_the_stored_state_parts_from_the_ledger(db):
    with db.unit_of_work() as session:
        member = enrolled(session, "Tampered", "State", on=TODAY - timedelta(days=10))
        service.record_activity(
            session,
            actor=SYSTEM,
            programme_code="flying_blue",
            data=_flight("tampered-1", member.customer_id, 5800, 1),
        )
        member_id = member.id
    with db.unit_of_work() as session:
        bucket = session.scalars(select(Bucket).where(Bucket.member_id == member_id)).first()
        bucket.amount += 1
        seq, currency = bucket.seq, bucket.currency
        assert session.scalar(
            select(Entry.seq).where(Entry.member_id == member_id, Entry.seq == seq)
        )
    with db.unit_of_work() as session:
        differences = list(service.verify(session, actor=SYSTEM, member_id=member_id))
    assert [(d.what, d.stored[0], d.stored[3] - d.replayed[3]) for d in differences] == [
        (f"bucket {seq}", currency, 1)
    ]


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "stored_state")


def test_migration_0012_fills_the_stored_state_in_for_ledgers_written_before_it(committed_db):
    db = committed_db
    with db.unit_of_work() as session:
        member = enrolled(session, "Before", "Migration", on=TODAY - timedelta(days=90))
        member_id, customer_id = member.id, member.customer_id
        seen: dict[str, list] = {"activities": [], "holds": [], "redemptions": []}
        # A flight, a yearly cap reached by two partner purchases, the first one refunded.
        ops = [("earn", 5800, 20), ("partner", 30_000, 10), ("partner", 30_000, 9), ("refund", 1)]
        for step, op in enumerate(ops):
            _run(session, op, step, 0, member_id, customer_id, seen)
        for n, hold in enumerate([True, False]):
            service.redeem(
                session,
                actor=SYSTEM,
                member_id=member_id,
                key=f"m-redeem-{n}",
                currency="MILES",
                amount=2_000,
                hold=hold,
            )
    config = alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    with db.unit_of_work() as session:
        assert list(service.verify(session, actor=SYSTEM, member_id=member_id)) == []
        assert session.scalar(select(func.count()).select_from(Bucket)) > 0
        assert session.scalar(select(func.count()).select_from(CapUsage)) == 1
