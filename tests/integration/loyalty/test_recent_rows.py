"""The bulk path's entries and buckets kept apart until merged (migration 0036): on
PostgreSQL they go into the recent rows' partitions, single operations into the history;
readers see one ledger either way, and merging moves the rows without changing anything a
reader sees. SQLite keeps one table of each and has nothing to merge."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import text

from egards.accounts.domain import SYSTEM
from egards.db import Database, utcnow
from egards.loyalty import domain, service
from egards.worker import run_once
from tests.conftest import migrate, own_database
from tests.integration.loyalty import enrolled

TODAY = date.today()
PARTITIONS = {
    "loyalty_entries": ("loyalty_entries_history", "loyalty_entries_recent"),
    "loyalty_buckets": ("loyalty_buckets_history", "loyalty_buckets_recent"),
}


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
    service.grant_points(  # a single operation: into the history
        session,
        actor=SYSTEM,
        member_id=members[1],
        key="g1",
        currency="MILES",
        amount=500,
        reason="a late bag",
    )
    return members


def _rows_by_partition(session) -> dict[str, int]:
    return {
        partition: session.scalar(text(f"SELECT count(*) FROM {partition}"))
        for partitions in PARTITIONS.values()
        for partition in partitions
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


def test_the_bulk_paths_rows_wait_apart_and_merging_changes_nothing_readers_see(db):
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
        rows = _rows_by_partition(session)
        # Three flights a member, an XP and a Miles entry and bucket each: recent; the
        # redemption, the grant and its bucket in the history, with the bucket the redemption
        # took part of (a single operation rewrites a bucket it changes).
        assert rows["loyalty_entries_recent"] == 18 and rows["loyalty_entries_history"] == 2
        assert rows["loyalty_buckets_recent"] == 17 and rows["loyalty_buckets_history"] == 2
        assert service.recent_members(session) == members
        assert service.oldest_recent(session) is not None

        moved = service.merge_recent(session, actor=SYSTEM, member_ids=members[:2])
        assert service.recent_members(session) == members[2:]
        assert _what_readers_see(session, members) == before
        moved += service.merge_recent(session, actor=SYSTEM, member_ids=members[2:])

        after = _rows_by_partition(session)
        assert moved == rows["loyalty_entries_recent"] + rows["loyalty_buckets_recent"]
        assert after["loyalty_entries_recent"] == after["loyalty_buckets_recent"] == 0
        assert after["loyalty_entries_history"] == 20
        assert service.recent_members(session) == [] and service.oldest_recent(session) is None
        assert _what_readers_see(session, members) == before


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
        rows = _rows_by_partition(session)
        before = _what_readers_see(session, members)
    assert rows["loyalty_entries_recent"] > 0 and rows["loyalty_entries_history"] > 0

    migrate(db, command.downgrade, "0034")
    with db.unit_of_work() as session:
        for table, partitions in PARTITIONS.items():
            assert session.scalar(text(f"SELECT count(*) FROM {table}")) == sum(
                rows[partition] for partition in partitions
            )
            assert session.scalar(text(f"SELECT to_regclass('{partitions[1]}')")) is None
        assert _what_readers_see(session, members) == before

    migrate(db, command.upgrade, "heads")
    with db.unit_of_work() as session:
        assert service.recent_members(session) == []  # every row now in the history
        assert _what_readers_see(session, members) == before
        service.record_histories(
            session, actor=SYSTEM, histories={members[0]: _flights("again", 1)}
        )
        assert service.recent_members(session) == [members[0]]


@pytest.mark.postgres
def test_the_worker_merges_once_the_oldest_recent_row_is_due(committed_db: Database, settings):
    db = committed_db
    with db.unit_of_work() as session:
        members = _members_with_history(session, 2)
        rows = _rows_by_partition(session)
    recent = rows["loyalty_entries_recent"] + rows["loyalty_buckets_recent"]
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
        assert _rows_by_partition(session)["loyalty_entries_history"] == sum(
            rows[name] for name in PARTITIONS["loyalty_entries"]
        )
        assert all(
            list(service.verify(session, actor=SYSTEM, member_id=member)) == []
            for member in members
        )
