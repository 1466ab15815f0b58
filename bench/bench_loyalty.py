"""Loyalty engine benchmarks: bulk ingest, period-end requalification, statement latency.

    python bench/bench_loyalty.py [--members 100000] [--activities 1000000] [--db postgresql|sqlite]

Ingest: activities grouped by member through the bulk path (one pass over each member's book),
against the bare insert of the same ledger entries into a plain table in the same run
(PostgreSQL COPY; SQLite executemany). Requalify: every member's period closed at once.
Statement and explanation: p95 through the API on the loaded data.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select, text

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Permission, Role
from egards.accounts.schemas import TokenCreate, UserCreate
from egards.bulk import bulk_insert
from egards.config import Settings
from egards.customers.models import Customer
from egards.db import Database, make_engine
from egards.loyalty import service
from egards.loyalty.domain import Activity
from egards.loyalty.models import Entry, Member
from egards.migrate import upgrade

console = Console()
PG_URL = os.environ.get(
    "EGARDS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/egards_bench_loyalty"
)
START = date(2025, 1, 1)
TODAY = date(2026, 11, 20)


def fresh_database(kind: str, workdir: Path) -> Database:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{workdir / 'loyalty.db'}")
    else:
        server, name = PG_URL.rsplit("/", 1)
        admin = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        engine = make_engine(PG_URL)
    upgrade(engine)
    return Database(engine)


def members(db: Database, count: int) -> list[int]:
    with db.unit_of_work() as session:
        rows = [
            {
                "first_name": "M",
                "last_name": str(i),
                "search_last_first": f"{i} m",
                "search_first_last": f"m {i}",
                "preferred_language": "fr",
                "status": "active",
                "created_at": func.now(),
                "updated_at": func.now(),
            }
            for i in range(count)
        ]
        for row in rows:
            row.pop("created_at"), row.pop("updated_at")
        session.execute(insert(Customer.__table__), rows)
        ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
    member_ids = []
    for start in range(0, count, 2000):
        with db.unit_of_work() as session:
            for customer_id in ids[start : start + 2000]:
                member_ids.append(
                    service.enrol(
                        session,
                        actor=SYSTEM,
                        customer_id=customer_id,
                        programme_code="flying_blue",
                        on=START,
                    ).id
                )
    return member_ids


def activities_for(rng: random.Random, member_id: int, count: int) -> list[Activity]:
    return [
        Activity(
            key=f"b{member_id}-{n}",
            kind="flight",
            on=START + timedelta(days=rng.randint(0, 600)),
            amounts={"fare": rng.randint(100, 3000) * 100, "taxes": 2000},
            attributes={
                "cabin": rng.choice(["economy", "business"]),
                "distance_miles": rng.choice([400, 1500, 5800]),
                "domestic": False,
            },
        )
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    args = parser.parse_args()
    db = fresh_database(args.db, Path(tempfile.mkdtemp()))
    rng = random.Random(5)
    with console.status("Enrolling members"):
        member_ids = members(db, args.members)
    per_member = args.activities // args.members
    start = time.perf_counter()
    with db.unit_of_work() as session:
        member_rows = {m.id: m for m in session.scalars(select(Member))}
    done = 0
    for offset in range(0, len(member_ids), 500):
        with db.unit_of_work() as session:
            for member_id in member_ids[offset : offset + 500]:
                member = session.merge(member_rows[member_id], load=False)
                done += service.record_history(
                    session,
                    actor=SYSTEM,
                    member=member,
                    activities=activities_for(rng, member_id, per_member),
                    today=lambda: TODAY,
                )
    ingest = time.perf_counter() - start
    with db.unit_of_work() as session:
        entries = session.scalar(select(func.count()).select_from(Entry))
        rows = [dict(r._mapping) for r in session.execute(select(Entry.__table__).limit(entries))]
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE bare_entries AS SELECT * FROM loyalty_entries WHERE false"
        )
    start = time.perf_counter()
    from sqlalchemy import MetaData
    from sqlalchemy import Table as SqlTable

    with db.unit_of_work() as session:
        bare = SqlTable("bare_entries", MetaData(), autoload_with=session.connection())
        for row in rows:
            row.pop("id")
        if db.dialect == "postgresql":
            bare.c.args.type = Entry.__table__.c.args.type
        bulk_insert(session, bare, rows)
    reference = time.perf_counter() - start
    start = time.perf_counter()
    with db.unit_of_work() as session:
        counts = service.requalify(session, actor=SYSTEM, as_of=date(2027, 6, 1))
    requalify_seconds = time.perf_counter() - start
    latencies = statement_latencies(db, member_ids)
    table = Table(title=f"Loyalty: {done:,} activities of {args.members:,} members ({args.db})")
    for column in ("measure", "value", "reference / target"):
        table.add_column(column)
    table.add_row(
        "ingest (bulk path)",
        f"{ingest:.1f} s · {done / ingest:,.0f} activities/s",
        "target ≥ 20,000/s on PostgreSQL",
    )
    table.add_row("ledger entries written", f"{entries:,}", "")
    table.add_row(
        "bare insert of the same entries",
        f"{reference:.1f} s",
        f"ratio {ingest / reference:.1f}× (target ≤ 4×)",
    )
    table.add_row(
        "requalify all members",
        f"{requalify_seconds:.1f} s for {counts['members']:,}",
        "target: 1,000,000 in < 60 s",
    )
    for name, (median, p95) in latencies.items():
        table.add_row(
            f"{name} (API)", f"median {median:.1f} ms · p95 {p95:.1f} ms", "target p95 < 50 ms"
        )
    console.print(table)


def statement_latencies(
    db: Database, member_ids: list[int], queries: int = 200
) -> dict[str, tuple[float, float]]:
    from fastapi.testclient import TestClient

    from egards.app import create_app

    with db.unit_of_work() as session:
        user = accounts.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email="bench@example.com",
                display_name="Bench",
                role=Role.SUPERVISOR,
                password="benchmark-password",
            ),
        )
        _, token = accounts.create_token(
            session,
            actor=accounts.actor_for(user),
            data=TokenCreate(
                name="bench", scopes=[Permission.CUSTOMERS_READ, Permission.LOYALTY_READ]
            ),
        )
    client = TestClient(
        create_app(Settings(data_dir=Path(tempfile.mkdtemp()), secret_key="b" * 40), db)
    )
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(2)
    results = {}
    for name, path in (("statement", "statement"), ("explanation", "explanation")):
        timings = []
        for _ in range(queries):
            member_id = rng.choice(member_ids)
            began = time.perf_counter()
            response = client.get(f"/api/v1/loyalty/members/{member_id}/{path}", headers=headers)
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.text
        timings.sort()
        results[name] = (statistics.median(timings), timings[int(len(timings) * 0.95) - 1])
    return results


if __name__ == "__main__":
    main()
