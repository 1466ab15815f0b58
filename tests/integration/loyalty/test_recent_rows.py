"""New activities, entries and buckets kept apart until merged (migration 0036): on
PostgreSQL they go into the recent rows' partitions, whether the bulk path or a single
operation wrote them; readers see one ledger either way, merging moves the rows without
changing anything a reader sees, and a key stays unique across the two partitions. SQLite
keeps one table of each and has nothing to merge."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import text

from egards.accounts.domain import SYSTEM
from egards.db import Database, utcnow
from egards.loyalty import domain, service
from egards.loyalty.errors import IdempotencyConflict
from egards.loyalty.schemas import ActivityCreate
from egards.worker import run_once
from tests.conftest import migrate, own_database
from tests.integration.loyalty import enrolled

TODAY = date.today()
TABLES = ("loyalty_activities", "loyalty_entries", "loyalty_buckets")


def _flights(prefix: str, count: int) -> list[domain.Activity]:
    return [
        domain.Activity(
            key=f"{prefix}-{n}",
            kind="flight",
            on=TODAY - timedelta(days=count - n),
            amounts={"fare": 40_000, "taxes": 2_000},
            attributes={"cabin": "business", "distance_miles": 1500, "domestic": False},
        )
        for n in range(count)
    ]


def _members_with_history(session, count: int) -> list[int]:
    members = [
        enrolled(session, "Recent", f"Rows{n}", on=TODAY - timedelta(days=400)).id
        for n in range(count)
    ]
    service.record_histories(
        session,
        actor=SYSTEM,
        histories={member: _flights(f"r{member}", 3) for member in members},
    )
    service.redeem(  # takes from buckets the bulk path opened
        session, actor=SYSTEM, member_id=members[0], key="x1", currency="MILES", amount=1000
    )
    service.grant_points(  # a single operation
        session,
        actor=SYSTEM,
        member_id=members[1],
        key="g1",
        currency="MILES",
        amount=500,
        reason="a late bag",
    )
    return members


def _rows_by_partition(session, members: list[int]) -> dict[str, int]:
    """The members' rows in each partition of each table."""
    return {
        f"{table}_{part}": session.scalar(
            text(f"SELECT count(*) FROM {table}_{part} WHERE member_id = ANY(:members)"),
            {"members": members},
        )
        for table in TABLES
        for part in ("history", "recent")
    }


def _what_readers_see(session, members: list[int]) -> list:
    """Each member's statement, balances, explanation, and what verifying their ledger
    finds (nothing)."""
    seen = []
    for member_id in members:
        member = service.find_member(session, actor=SYSTEM, member_id=member_id)
        seen.append(service.statement(session, actor=SYSTEM, member_id=member_id))
        seen.append(
            [
                (b.currency, b.balance, b.available, b.pending_credits)
                for b in service.balances(session, member=member)
            ]
        )
        seen.append(service.explain_member(session, actor=SYSTEM, member_id=member_id))
        seen.append(list(service.verify(session, actor=SYSTEM, member_id=member_id)))
    return seen


def test_new_rows_wait_apart_and_merging_changes_nothing_readers_see(db):
    with db.unit_of_work() as session:
        members = _members_with_history(session, 3)
        before = _what_readers_see(session, members)
        assert before[3] == [] and before[7] == [] and before[11] == []  # each verifies
        if db.dialect == "sqlite":
            assert service.recent_members(session) == []
            assert service.oldest_recent(session) is None
            assert service.merge_recent(session, actor=SYSTEM, member_ids=members) == 0
            assert _what_readers_see(session, members) == before
            return
        rows = _rows_by_partition(session, members)
        # Three flights a member, an XP and a Miles entry and bucket each, the redemption,
        # the grant and its bucket: all recent.
        assert rows == {
            "loyalty_activities_history": 0,
            "loyalty_activities_recent": 9,
            "loyalty_entries_history": 0,
            "loyalty_entries_recent": 20,
            "loyalty_buckets_history": 0,
            "loyalty_buckets_recent": rows["loyalty_buckets_recent"],
        }
        assert rows["loyalty_buckets_recent"] >= 18  # the redemption may have emptied some
        assert service.recent_members(session) == members
        assert service.oldest_recent(session) is not None

        moved = service.merge_recent(session, actor=SYSTEM, member_ids=members[:2])
        assert service.recent_members(session) == members[2:]
        assert _what_readers_see(session, members) == before
        moved += service.merge_recent(session, actor=SYSTEM, member_ids=members[2:])

        after = _rows_by_partition(session, members)
        assert moved == sum(rows.values())
        assert after == {
            name.replace("recent", "history"): count
            for name, count in rows.items()
            if name.endswith("recent")
        } | {name: 0 for name in rows if name.endswith("recent")}
        assert service.recent_members(session) == [] and service.oldest_recent(session) is None
        assert _what_readers_see(session, members) == before


def test_a_key_stays_unique_across_the_partitions(db):
    with db.unit_of_work() as session:
        member = enrolled(session, "Unique", "Keys", on=TODAY - timedelta(days=400))
        flight = ActivityCreate(
            key="k1",
            member_number=member.number,
            kind="flight",
            on=TODAY,
            amounts={"fare": 40_000, "taxes": 2_000},
            attributes={"cabin": "economy", "distance_miles": 1500, "domestic": False},
        )
        first = service.record_activity(
            session, actor=SYSTEM, programme_code="flying_blue", data=flight
        )
        service.merge_recent(session, actor=SYSTEM, member_ids=[member.id])
        seen = _what_readers_see(session, [member.id])
        again = service.record_activity(  # the same activity, now in the history: recognised
            session, actor=SYSTEM, programme_code="flying_blue", data=flight
        )
        assert again == first
        with pytest.raises(IdempotencyConflict):  # another one under its key: refused
            service.record_activity(
                session,
                actor=SYSTEM,
                programme_code="flying_blue",
                data=flight.model_copy(update={"amounts": {"fare": 90_000}}),
            )
        with pytest.raises(IdempotencyConflict):  # and so in bulk
            service.record_histories(
                session,
                actor=SYSTEM,
                histories={member.id: [dataclasses.replace(_flights("k", 1)[0], key="k1")]},
            )
        assert _what_readers_see(session, [member.id]) == seen


@pytest.fixture
def committed_db(tmp_path):
    yield from own_database("postgresql", tmp_path, "recent_rows")


@pytest.mark.postgres
def test_migration_0036_splits_the_tables_and_its_downgrade_keeps_every_row(
    committed_db: Database,
):
    db = committed_db
    with db.unit_of_work() as session:
        members = _members_with_history(session, 2)
        service.merge_recent(session, actor=SYSTEM, member_ids=members[:1])
        rows = _rows_by_partition(session, members)
        before = _what_readers_see(session, members)
    assert all(rows[f"{table}_{part}"] for table in TABLES for part in ("history", "recent"))

    migrate(db, command.downgrade, "0034")
    with db.unit_of_work() as session:
        for table in TABLES:
            assert session.scalar(text(f"SELECT count(*) FROM {table}")) == (
                rows[f"{table}_history"] + rows[f"{table}_recent"]
            )
            assert session.scalar(text(f"SELECT to_regclass('{table}_recent')")) is None
        assert _what_readers_see(session, members) == before

    migrate(db, command.upgrade, "heads")
    with db.unit_of_work() as session:
        assert service.recent_members(session) == []  # every row now in the history
        assert _what_readers_see(session, members) == before
        service.record_histories(
            session, actor=SYSTEM, histories={members[0]: _flights("again", 1)}
        )
        assert service.recent_members(session) == [members[0]]
        # The activities' ids still come from their sequence, past the rows already there.
        assert session.scalar(text("SELECT max(id) FROM loyalty_activities_recent")) > (
            session.scalar(text("SELECT max(id) FROM loyalty_activities_history"))
        )


@pytest.mark.postgres
def test_the_worker_merges_once_the_oldest_recent_row_is_due(committed_db: Database, settings):
    db = committed_db
    with db.unit_of_work() as session:
        members = _members_with_history(session, 2)
        recent = sum(_rows_by_partition(session, members).values())
    job = {"only": {"loyalty-merge-recent-rows"}}
    now = utcnow()
    for days, report in (
        (6, "no recent rows due for merging"),  # EGARDS_LOYALTY_MERGE_DAYS=7
        (7, f"{recent} recent rows merged into the history"),
        (8, "no recent rows due for merging"),
    ):
        outcome = run_once(db, settings, now=now + timedelta(days=days), **job)
        assert outcome["loyalty-merge-recent-rows"] == report
    with db.unit_of_work() as session:
        assert (
            sum(
                count
                for name, count in _rows_by_partition(session, members).items()
                if name.endswith("history")
            )
            == recent
        )
        assert all(
            list(service.verify(session, actor=SYSTEM, member_id=member)) == []
            for member in members
        )
