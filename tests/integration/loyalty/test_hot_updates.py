"""Every batch rewrites its members' and balances' rows. On PostgreSQL their pages are left
half full (migration 0032), so that the new version of every row of a page fits beside the
old one and no index is written: a heap-only update, counted by the server. (With a fifth of
each page free, as before, about a quarter of them were.)"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import text

from egards.accounts.domain import SYSTEM
from egards.db import Database
from egards.loyalty import service
from egards.loyalty.domain import Activity
from tests.conftest import BOTH, migrate, own_database
from tests.integration.loyalty import enrolled

TODAY = date.today()
HOT_TABLES = ("loyalty_members", "loyalty_balances")


def _updates(session) -> dict[str, tuple[int, int]]:
    """This transaction's updated rows and, of those, heap-only ones, by table."""
    rows = session.execute(
        text(
            "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
            " WHERE relname IN ('loyalty_members', 'loyalty_balances')"
        )
    )
    return {name: (updated, hot) for name, updated, hot in rows}


def _fill_factors(db: Database) -> dict[str, list[str] | None]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(:names)"),
            {"names": list(HOT_TABLES)},
        )
        return {name: options for name, options in rows}


def _flights(member_ids: list[int], day: int) -> dict[int, list[Activity]]:
    return {
        member_id: [
            Activity(
                key=f"hot-{member_id}-{day}",
                kind="flight",
                on=TODAY - timedelta(days=day),
                amounts={"fare": 40_000},
                attributes={"cabin": "economy", "distance_miles": 1500, "domestic": False},
            )
        ]
        for member_id in member_ids
    }


def test_a_batch_rewrites_every_member_and_balance_of_a_page_without_writing_an_index(
    committed_db,
):
    db = committed_db
    if db.dialect != "postgresql":
        pytest.skip("fill factors and heap-only updates are PostgreSQL's")
    with db.unit_of_work() as session:
        # Enough members for several pages of each table; the first batch makes balances.
        member_ids = [
            enrolled(session, "Hot", f"Page{n}", on=TODAY - timedelta(days=30)).id
            for n in range(150)
        ]
        service.record_histories(
            session, actor=SYSTEM, histories=_flights(member_ids, 2), today=lambda: TODAY
        )
    # What autovacuum does between two days' files (each rewrites every member, so their
    # dead versions pass its threshold): the old versions' room is free again.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in HOT_TABLES:
            connection.execute(text(f"VACUUM {table}"))
    with db.unit_of_work() as session:  # the next day's batch, as in the steady state
        before = _updates(session)
        service.record_histories(
            session,
            actor=SYSTEM,
            histories=_flights(member_ids, 1),
            today=lambda: TODAY,
            chunk_size=50,
        )
        after = _updates(session)
    for table in HOT_TABLES:
        updated = after[table][0] - before.get(table, (0, 0))[0]
        hot = after[table][1] - before.get(table, (0, 0))[1]
        assert updated >= len(member_ids), table
        assert hot == updated, f"{table}: {hot} of {updated} updates heap-only"


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "hot_updates")


def test_migration_0032_leaves_half_of_each_page_free_and_its_downgrade_a_fifth(committed_db):
    db = committed_db
    postgresql = db.dialect == "postgresql"
    half, fifth = ["fillfactor=50"], ["fillfactor=80"]
    if postgresql:
        assert _fill_factors(db) == dict.fromkeys(HOT_TABLES, half)
    migrate(db, command.downgrade, "0031")
    if postgresql:
        assert _fill_factors(db) == dict.fromkeys(HOT_TABLES, fifth)
    migrate(db, command.upgrade, "heads")
    if postgresql:
        assert _fill_factors(db) == dict.fromkeys(HOT_TABLES, half)
