"""Loyalty engine benchmarks: bulk ingest, period-end requalification, statement latency.

    python bench/bench_loyalty.py [--members 100000] [--activities 1000000] [--db postgresql|sqlite]
        [--requalify-members 1400000 --requalify-activities 10000000]

Ingest: activities grouped by member through the bulk path (one pass over each member's book),
against the bare insert of the same ledger entries into a plain table in the same run
(PostgreSQL COPY; SQLite executemany). On PostgreSQL, the write floor: the rows the ingest
wrote, copied as they are into a fresh database of the same schema (what the database alone
costs, whatever the engine). Steady state (b): its write floor is the day's rows and row
updates applied to a copy of the database taken before the day; and every statement the day
sent (reads included), sent again as it was to another such copy by a client doing nothing
else: the database's share of the day, which no work on the Python side goes below.
Requalify: every member's period closed at once; with ``--requalify-members``, that many more
members whose states the rules produced, and ``--requalify-activities`` activities (with two
ledger entries each) written by SQL beside them, so that the tables have the size the target
names (the requalification reads members only). Statement and explanation: p95 through the
API on the loaded data.
"""

from __future__ import annotations

import argparse
import atexit
import os
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import _cpu
import psycopg
from _cpu import cpu_clocks, cpu_spent
from rich.console import Console
from rich.table import Table
from sqlalchemy import Column, MetaData, func, select, text
from sqlalchemy import Table as SqlTable
from sqlalchemy.engine import Engine

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Permission, Role
from egards.accounts.schemas import TokenCreate, UserCreate
from egards.bulk import bulk_insert, reserve_ids
from egards.config import Settings
from egards.customers.models import Customer
from egards.db import Database, make_engine, utcnow
from egards.loyalty import codec, domain, service
from egards.loyalty.domain import Activity
from egards.loyalty.jobs import merge_recent_rows
from egards.loyalty.models import Activity as ActivityRow
from egards.loyalty.models import Entry, Member
from egards.migrate import upgrade

console = Console()
# Databases of its own, named after the configured one and this process (never a fixed name:
# several benchmarks or helpers may run at once), dropped when the run ends.
_BASE_URL = os.environ.get("EGARDS_BENCH_DATABASE_URL") or os.environ.get(
    "EGARDS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/egards"
)
PG_URL = f"{_BASE_URL}_bench_loyalty_{os.getpid()}"
START = date(2025, 1, 1)
TODAY = date(2026, 11, 20)
REQUALIFY_ON = date(2027, 6, 1)


def _drop(server: str, name: str) -> None:
    admin = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _created(server: str, name: str, template: str | None = None) -> Engine:
    """A new database on ``server`` (a copy of ``template`` if given), dropped at exit. A copy
    is made file by file (``STRATEGY FILE_COPY``, on disk when it returns) and followed by a
    checkpoint: copied block by block through the write-ahead log (PostgreSQL's default), a
    database of gigabytes leaves the server flushing them for minutes, and what is measured
    next runs beside it."""
    admin = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        like = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{like}'))
        if template:
            connection.execute(text("CHECKPOINT"))
    admin.dispose()
    atexit.register(_drop, server, name)
    return make_engine(f"{server}/{name}")


def fresh_database(kind: str, workdir: Path, suffix: str = "") -> Database:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{workdir / 'loyalty.db'}")
    else:
        server, name = PG_URL.rsplit("/", 1)
        engine = _created(server, name + suffix)
    upgrade(engine)
    return Database(engine)


def members(db: Database, count: int, states=None) -> list[int]:
    """``count`` customers, each a Flying Blue member, written in bulk (COPY): the setup is
    not what is measured. ``states`` gives each member's tier state (default: enrolled on
    START, as :func:`service.enrol` would)."""
    programme = service.get_programme("flying_blue")
    enrolled = domain.enrol(programme, on=START)
    now = utcnow()
    member_ids: list[int] = []
    for offset in range(0, count, 100_000):
        size = min(100_000, count - offset)
        with db.unit_of_work() as session:
            customer_ids = reserve_ids(session, Customer.__table__, size)
            bulk_insert(
                session,
                Customer.__table__,
                [
                    {
                        "id": customer_id,
                        "first_name": "M",
                        "last_name": str(customer_id),
                        "search_last_first": f"{customer_id} m",
                        "search_first_last": f"m {customer_id}",
                        "preferred_language": "fr",
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for customer_id in customer_ids
                ],
            )
            ids = reserve_ids(session, Member.__table__, size)
            rows = []
            for member_id, customer_id in zip(ids, customer_ids, strict=True):
                state = states(member_id) if states else enrolled
                rows.append(
                    {
                        "id": member_id,
                        "customer_id": customer_id,
                        "programme": programme.code,
                        "number": f"FB{customer_id:010d}",
                        "enrolled_on": START,
                        "tier": state.tier,
                        "tier_since": state.since,
                        "period_end": state.period_end,
                        "counter": state.counter,
                        "tier_state": codec.state_to_json(state),
                        "entries_count": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            bulk_insert(session, Member.__table__, rows)
            member_ids += ids
    return member_ids


def lived_state(rng: random.Random, programme):
    """A member's tier state after a few flights: enrolled some day of START's year, then
    0 to 8 flights' XP over the next 500 days, through the pure rules."""
    enrolled = START + timedelta(days=rng.randint(0, 364))
    state = domain.enrol(programme, on=enrolled)
    days = sorted(rng.randint(0, 500) for _ in range(rng.choice([0, 1, 2, 4, 8])))
    for day in days:
        xp = rng.choice([5, 8, 10, 15, 24, 36])
        state = domain.apply_qualifying(
            programme, state, xp, on=enrolled + timedelta(days=day)
        ).state
    return state


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
    parser.add_argument("--batch", type=int, default=10_000, help="members per unit of work")
    parser.add_argument(
        "--requalify-members",
        type=int,
        default=0,
        help="then requalify this many more members at once (bulk-written states)",
    )
    parser.add_argument(
        "--requalify-activities",
        type=int,
        default=0,
        help="activities written beside those members before the requalification",
    )
    parser.add_argument(
        "--scenario",
        choices=["fresh", "steady", "single"],
        default="fresh",
        help="fresh: (a) the ingest above; steady: (b) members who already hold --entries "
        "entries each, then a day of one or two activities per member; single: (c) one member "
        "holding --entries entries posting through the API",
    )
    parser.add_argument("--entries", type=int, default=200, help="entries held (steady, single)")
    parser.add_argument(
        "--days",
        type=int,
        default=1,
        help="steady: days of activities before the recent rows are merged (the first measured "
        "against the references, the others each timed, then the merge)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="steady: first a day through the pure rules only (no fast path), for comparison",
    )
    args = parser.parse_args()
    if args.scenario == "steady":
        steady_state(fresh_database(args.db, Path(tempfile.mkdtemp())), args)
        return
    if args.scenario == "single":
        single_member(fresh_database(args.db, Path(tempfile.mkdtemp())), args)
        return
    if args.requalify_activities and args.db != "postgresql":
        parser.error("--requalify-activities writes its rows with PostgreSQL's SQL")
    db = fresh_database(args.db, Path(tempfile.mkdtemp()))
    rng = random.Random(5)
    with console.status("Enrolling members"):
        member_ids = members(db, args.members)
    per_member = args.activities // args.members
    histories = {member_id: activities_for(rng, member_id, per_member) for member_id in member_ids}
    clocks = cpu_clocks(db)
    start = time.perf_counter()
    done = record(db, member_ids, histories.__getitem__, args.batch)
    ingest = time.perf_counter() - start
    spent = cpu_spent(db, clocks)
    # Planner statistics, as autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) keep them
    # after a load: without them the reads below pick the index on status.
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    with db.unit_of_work() as session:
        entries = session.scalar(select(func.count()).select_from(Entry))
        rows = [dict(r._mapping) for r in session.execute(select(Entry.__table__).limit(entries))]
    reference = bare_copy(db, rows)
    floor = write_floor(db) if args.db == "postgresql" else None
    start = time.perf_counter()
    with db.unit_of_work() as session:
        counts = service.requalify(session, actor=SYSTEM, as_of=REQUALIFY_ON)
    requalify_seconds = time.perf_counter() - start
    latencies = statement_latencies(db, member_ids)
    large = None
    if args.requalify_members:
        large = requalify_at_scale(db, args.requalify_members, args.requalify_activities)
    table = Table(title=f"Loyalty: {done:,} activities of {args.members:,} members ({args.db})")
    for column in ("measure", "value", "reference / target"):
        table.add_column(column)
    table.add_row(
        "ingest (bulk path)",
        f"{ingest:.1f} s · {done / ingest:,.0f} activities/s",
        f"target ≥ 20,000/s on PostgreSQL; {cpu_text(spent, done)}",
    )
    table.add_row("ledger entries written", f"{entries:,}", "")
    table.add_row(
        "bare insert of the same entries",
        f"{reference:.1f} s",
        f"ratio {ingest / reference:.1f}× (target ≤ 4×)",
    )
    if floor is not None:
        table.add_row(
            "write floor: the same activities, entries and balances copied into the schema",
            f"{floor:.1f} s · {done / floor:,.0f} activities/s",
            f"ratio {floor / reference:.1f}× (no rules, no reads)",
        )
    table.add_row(
        "requalify all members",
        f"{requalify_seconds:.1f} s for {counts['members']:,}",
        "target: 1,000,000 in < 60 s",
    )
    if large is not None:
        seconds, evaluated, activities = large
        table.add_row(
            f"requalify {evaluated:,} members ({activities:,} activities in the database)",
            f"{seconds:.1f} s · {evaluated / seconds:,.0f} members/s",
            "target: 1,000,000 in < 60 s",
        )
    for name, (median, p95) in latencies.items():
        table.add_row(
            f"{name} (API)", f"median {median:.1f} ms · p95 {p95:.1f} ms", "target p95 < 50 ms"
        )
    console.print(table)


def cpu_text(spent: tuple[float, float], activities: int) -> str:
    python, server = (seconds * 1e6 / activities for seconds in spent)
    return f"CPU per activity: Python {python:.0f} µs, PostgreSQL {server:.0f} µs"


def bare_copy(db: Database, rows: list[dict]) -> float:
    """Seconds to insert ``rows`` of ledger entries into a plain table of the same columns (no
    key, no index, no constraint): PostgreSQL COPY, SQLite executemany."""
    bare = SqlTable(
        "bare_entries",
        MetaData(),
        *(Column(c.name, c.type) for c in Entry.__table__.columns if c.name != "id"),
    )
    with db.engine.begin() as connection:
        bare.drop(connection, checkfirst=True)
        bare.create(connection)
    rows = [{k: v for k, v in row.items() if k != "id"} for row in rows]
    start = time.perf_counter()
    with db.unit_of_work() as session:
        bulk_insert(session, bare, rows)
    return time.perf_counter() - start


def held_history(rng: random.Random, member_id: int, entries: int) -> list[Activity]:
    """Flights (two entries each: XP and Miles) spread over the years before TODAY."""
    return sorted(
        (
            Activity(
                key=f"h{member_id}-{n}",
                kind="flight",
                on=START + timedelta(days=rng.randint(0, (TODAY - START).days - 2)),
                amounts={"fare": rng.randint(100, 3000) * 100, "taxes": 2000},
                attributes={
                    "cabin": rng.choice(["economy", "business"]),
                    "distance_miles": rng.choice([400, 1500, 5800]),
                    "domestic": False,
                },
            )
            for n in range(entries // 2)
        ),
        key=lambda a: a.on,
    )


def record(
    db: Database,
    member_ids: list[int],
    history_of: Callable[[int], list[Activity]],
    batch: int,
    fast_path: bool = True,
) -> int:
    """Members' histories through the bulk path, ``batch`` members per transaction (made as
    each batch is sent); the number of activities recorded. ``fast_path=False``: every
    activity through the pure rules and the ledger (what the bulk path did before it)."""
    done = 0
    for offset in range(0, len(member_ids), batch):
        chunk = member_ids[offset : offset + batch]
        with db.unit_of_work() as session:
            done += service.record_histories(
                session,
                actor=SYSTEM,
                histories={m: history_of(m) for m in chunk},
                today=lambda: TODAY,
                **({} if fast_path else {"fast_path": False}),
            )
    return done


def hold_histories(db: Database, member_ids: list[int], entries: int, batch: int) -> None:
    rng = random.Random(7)
    record(db, member_ids, lambda m: held_history(rng, m, entries), batch)
    merge_recent_rows(db)  # years of history: merged long ago (PostgreSQL, migration 0036)
    overnight(db)


def overnight(db: Database) -> None:
    """What autovacuum does before the next day's file: the day rewrote every member and
    balance, and the next day's rewrites find room beside the live versions once the dead
    ones are gone (migration 0032)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if db.dialect == "postgresql":
            connection.exec_driver_sql("VACUUM loyalty_members, loyalty_balances")
        connection.exec_driver_sql("ANALYZE")


def steady_day(
    member_ids: list[int], tag: str, seed: int, on: date = TODAY
) -> dict[int, list[Activity]]:
    """(b)'s day: one or two flights of each member on ``on`` (keys ``{tag}{member}-{n}``),
    drawn with ``seed``."""
    rng = random.Random(seed)
    return {
        m: [
            Activity(
                key=f"{tag}{m}-{n}",
                kind="flight",
                on=on,
                amounts={"fare": rng.randint(100, 3000) * 100, "taxes": 2000},
                attributes={"cabin": "economy", "distance_miles": 1500, "domestic": False},
            )
            for n in range(rng.choice([1, 2]))
        ]
        for m in member_ids
    }


def day_entries(db: Database) -> list[dict[str, Any]]:
    """The entries the steady day wrote (keys ``d…``, see :func:`steady_day`), as rows."""
    with db.unit_of_work() as session:
        return [
            dict(r._mapping)
            for r in session.execute(
                select(Entry.__table__)
                .where(Entry.key.like("d%"))
                .order_by(Entry.member_id, Entry.seq)
            )
        ]


def steady_state(db: Database, args: argparse.Namespace) -> None:
    """(b): members who already hold ``--entries`` entries, then a day of one or two
    activities per member through the bulk path, in units of work of ``--batch`` members."""
    with console.status(f"Enrolling {args.members:,} members with {args.entries} entries each"):
        member_ids = members(db, args.members)
        hold_histories(db, member_ids, args.entries, args.batch)

    pure = None
    if args.compare:  # the day before, every activity through the pure rules and the ledger
        day = steady_day(member_ids, "p", 13)
        clocks = cpu_clocks(db)
        start = time.perf_counter()
        pure = record(db, member_ids, day.__getitem__, args.batch, fast_path=False)
        pure = (pure, time.perf_counter() - start, cpu_spent(db, clocks))
    day = steady_day(member_ids, "d", 11)
    template = day_template(db) if args.db == "postgresql" else None
    again = day_template(db, "_again") if args.db == "postgresql" else None
    sent = Sent()
    clocks = cpu_clocks(db)
    start = time.perf_counter()
    with sent.kept() if again is not None else nullcontext():
        done = record(db, member_ids, day.__getitem__, args.batch)
    seconds = time.perf_counter() - start
    spent = cpu_spent(db, clocks)
    # The bare COPY of the same day's entries into a plain table (the reference of the target).
    rows = day_entries(db)
    reference = bare_copy(db, rows)
    floor = steady_write_floor(db, template) if template is not None else None
    replayed = sent.replay(again) if again is not None else None
    later: list[tuple[int, float]] = []  # the next days: each day's rows beside the recent ones
    for n in range(1, args.days):
        day = steady_day(member_ids, f"e{n}-", 11 + n, TODAY + timedelta(days=n))
        overnight(db)
        start = time.perf_counter()
        count = record(db, member_ids, day.__getitem__, args.batch)
        later.append((count, time.perf_counter() - start))
    start = time.perf_counter()
    merged = merge_recent_rows(db)
    merging = time.perf_counter() - start
    with db.unit_of_work() as session:
        entries = session.scalar(select(func.count()).select_from(Entry))
    table = Table(
        title=f"Loyalty steady state: {args.members:,} members holding {args.entries} entries "
        f"each ({args.db})"
    )
    for column in ("measure", "value", "reference / target"):
        table.add_column(column)
    if pure is not None:
        table.add_row(
            "the day before, every activity through the pure rules (no fast path)",
            f"{pure[0]:,} in {pure[1]:.1f} s · {pure[0] / pure[1]:,.0f} activities/s",
            cpu_text(pure[2], pure[0]),
        )
    table.add_row(
        "a day of one or two activities per member (bulk path)",
        f"{done:,} in {seconds:.1f} s · {done / seconds:,.0f} activities/s",
        f"target ≥ 20,000/s on PostgreSQL; {cpu_text(spent, done)}",
    )
    table.add_row(
        f"bare insert of the same day's {len(rows):,} entries",
        f"{reference:.2f} s",
        f"ratio {seconds / reference:.1f}× (target ≤ 4×)",
    )
    if floor is not None:
        floor_seconds, floor_spent, parts = floor
        table.add_row(
            "write floor: the day's rows and row updates applied to the database as it was "
            "before the day (COPY; members and balances by one UPDATE each from a COPY)",
            f"{floor_seconds:.2f} s · {done / floor_seconds:,.0f} activities/s\n"
            + ", ".join(
                f"{name.removeprefix('loyalty_')} {part:.2f} s" for name, part in parts.items()
            ),
            f"ratio {floor_seconds / reference:.1f}× (no rules, no reads); "
            f"{cpu_text(floor_spent, done)}",
        )
    if replayed is not None:
        replay_seconds, backend, by_statement = replayed
        table.add_row(
            "the day's statements sent again, as they were, by a client doing nothing else "
            "(no rules, no Python between them; reads included) to the database as it was "
            "before the day; the costliest:",
            f"{replay_seconds:.2f} s · {done / replay_seconds:,.0f} activities/s\n"
            + "\n".join(
                f"{part * 1e6 / done:.1f} µs/activity {name}" for name, part in by_statement[:6]
            ),
            f"ratio {replay_seconds / reference:.1f}× (the database's share: no engine "
            f"sending these statements goes below it); PostgreSQL {backend * 1e6 / done:.0f} "
            "µs/activity",
        )
    for n, (count, took) in enumerate(later, start=2):
        table.add_row(
            f"day {n}: the same, beside the recent rows of the days before",
            f"{count:,} in {took:.1f} s · {count / took:,.0f} activities/s",
            "",
        )
    if merged:
        days = [(done, seconds), *later]
        cycle = sum(s for _, s in days) + merging
        table.add_row(
            f"merging the {len(days)} day(s)' recent rows into the history "
            "(egards loyalty merge; the worker's, weekly by default)",
            f"{merged:,} rows in {merging:.1f} s",
            f"the {len(days)} day(s) and the merge: {sum(c for c, _ in days) / cycle:,.0f} "
            "activities/s",
        )
    table.add_row("ledger entries in the database", f"{entries:,}", "")
    console.print(table)


def single_member(db: Database, args: argparse.Namespace, queries: int = 100) -> None:
    """(c): one member holding ``--entries`` entries posts through the API (one flight per
    request), and reads their statement and explanation. The client holds one event loop for
    the run, as a server does (without ``with``, TestClient starts one per request)."""
    from fastapi.testclient import TestClient

    from egards.app import create_app

    with console.status(f"One member with {args.entries:,} entries"):
        (member_id,) = members(db, 1)
        hold_histories(db, [member_id], args.entries, 1)
    with db.unit_of_work() as session:
        number = session.get(Member, member_id).number
    app = create_app(Settings(data_dir=Path(tempfile.mkdtemp()), secret_key="b" * 40), db)
    headers = {"Authorization": f"Bearer {bench_token(db, Permission.LOYALTY_WRITE)}"}
    timings: dict[str, list[float]] = {"post": [], "statement": [], "explanation": []}
    cpu: dict[str, list[float]] = {name: [] for name in timings}  # this process, per request
    server: dict[str, float] = dict.fromkeys(timings, 0.0)  # the backends, per kind
    member = f"/api/v1/loyalty/members/{member_id}"
    load = [os.getloadavg()[0]]
    with TestClient(app) as client:
        for n in range(queries):
            body = {
                "key": f"api-{n}",
                "member_number": number,
                "kind": "flight",
                "on": TODAY.isoformat(),
                "amounts": {"fare": 25_000, "taxes": 2_000},
                "attributes": {"cabin": "economy", "distance_miles": 1500, "domestic": False},
            }
            for name, method, path, data in (
                ("post", "POST", "/api/v1/loyalty/programmes/flying_blue/activities", body),
                ("statement", "GET", f"{member}/statement", None),
                ("explanation", "GET", f"{member}/explanation", None),
            ):
                backends = _cpu.clocks(_cpu.backends(db))
                began, used = time.perf_counter(), time.process_time()
                response = client.request(method, path, json=data, headers=headers)
                timings[name].append((time.perf_counter() - began) * 1000)
                cpu[name].append((time.process_time() - used) * 1000)
                server[name] += _cpu.seconds_since(backends, backends)
                assert response.status_code == 200, response.text
    load.append(os.getloadavg()[0])
    with db.unit_of_work() as session:
        held = session.get(Member, member_id).entries_count
    table = Table(title=f"Loyalty: one member holding {args.entries:,} entries ({args.db})")
    for column in ("measure", "value", "reference / target"):
        table.add_column(column)
    for name, values in timings.items():
        used = sorted(cpu[name])
        table.add_row(
            f"{name} (API)",
            f"wall: median {statistics.median(values):.1f} ms · p95 {_p95(values):.1f} ms\n"
            f"CPU, this process: median {statistics.median(used):.1f} ms · p95 "
            f"{_p95(used):.1f} ms\n"
            f"CPU, PostgreSQL: mean {server[name] * 1000 / len(values):.1f} ms",
            "target p95 < 20 ms",
        )
    table.add_row("entries held at the end", f"{held:,}", "")
    table.add_row("load average (1 minute), start and end", f"{load[0]:.1f}, {load[1]:.1f}", "")
    console.print(table)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.95) - 1]


# What the bulk path writes, parents first; members and their customers are setup.
FLOOR_SETUP = ("customers", "loyalty_members")
FLOOR_MEASURED = ("loyalty_activities", "loyalty_entries", "loyalty_balances")


def write_floor(db: Database) -> float:
    """The database's share of the ingest alone: the rows the bulk path wrote, copied as they
    are (one COPY per table, text format) into a fresh database of the same schema, indexes
    and constraints, holding the same members. No rules, no reads and no member updates: no
    engine that writes these rows into this schema can ingest faster on this machine."""
    dumps: dict[str, bytes] = {}
    with db.engine.connect() as connection:
        cursor = connection.connection.cursor()
        for table in (*FLOOR_SETUP, *FLOOR_MEASURED):  # (a partitioned table is copied by query)
            with cursor.copy(f"COPY (SELECT * FROM {table}) TO STDOUT") as copy:
                dumps[table] = b"".join(bytes(block) for block in copy)
    target = fresh_database("postgresql", Path(), suffix="_floor")
    with target.engine.begin() as connection:
        cursor = connection.connection.cursor()
        for table in FLOOR_SETUP:
            with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(dumps.pop(table))
        connection.exec_driver_sql("ANALYZE")
    start = time.perf_counter()
    with target.engine.begin() as connection:
        cursor = connection.connection.cursor()
        for table in FLOOR_MEASURED:
            with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(dumps[table])
    seconds = time.perf_counter() - start
    target.engine.dispose()
    return seconds


def day_template(db: Database, suffix: str = "_day") -> Database:
    """A copy of the database as it is before the day (``CREATE DATABASE ... TEMPLATE``),
    for :func:`steady_write_floor` and :meth:`Sent.replay`."""
    db.engine.dispose()  # a template takes no other connection
    server, name = db.engine.url.render_as_string(hide_password=False).rsplit("/", 1)
    return Database(_created(server, f"{name}{suffix}", template=name))


def _statement_name(statement: str) -> str:
    """A statement's verb and the first table it names (``SELECT loyalty_balances``)."""
    table = re.search(r"\b(?:FROM|INTO|UPDATE|COPY)\s+(\w+)", statement)
    verb = statement.split(None, 1)[0]
    return f"{verb} {table[1]}" if table else verb


class Sent:
    """What the driver sends while :meth:`kept` is open (statements with their parameters,
    COPY data, commits), to be sent again, as it was, by :meth:`replay`. Keeping it costs
    the measured run a list append per statement (COPY data is kept by reference)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, Any]] = []

    @contextmanager
    def kept(self) -> Iterator[None]:
        cursor_class, connection_class = psycopg.Cursor, psycopg.Connection
        execute, many, copy = cursor_class.execute, cursor_class.executemany, cursor_class.copy
        commit = connection_class.commit
        sent = self.sent

        def kept_execute(cursor, query, params=None, **kwargs):
            sent.append(("execute", query, params))
            return execute(cursor, query, params, **kwargs)

        def kept_many(cursor, query, params_seq, **kwargs):
            params_seq = list(params_seq)
            sent.append(("executemany", query, params_seq))
            return many(cursor, query, params_seq, **kwargs)

        @contextmanager
        def kept_copy(cursor, statement, params=None, **kwargs):
            written: list[tuple[str, Any]] = []
            sent.append(("copy", statement, written))
            with copy(cursor, statement, params, **kwargs) as out:
                write, write_row = out.write, out.write_row
                out.write = lambda data: (written.append(("write", data)), write(data))[1]
                out.write_row = lambda row: (written.append(("row", row)), write_row(row))[1]
                yield out

        def kept_commit(connection):
            sent.append(("commit", None, None))
            return commit(connection)

        cursor_class.execute, cursor_class.executemany = kept_execute, kept_many
        cursor_class.copy, connection_class.commit = kept_copy, kept_commit
        try:
            yield
        finally:
            cursor_class.execute, cursor_class.executemany = execute, many
            cursor_class.copy, connection_class.commit = copy, commit

    def replay(self, before: Database) -> tuple[float, float, list[tuple[str, float]]]:
        """Everything kept, sent again to ``before`` (a copy of the database as it was when
        it was sent) by one connection, results fetched and dropped: seconds, the backend's
        CPU seconds, and the seconds by statement (its verb and table), costliest first."""
        url = before.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        before.engine.dispose()
        parts: dict[str, float] = {}
        with psycopg.connect(url) as connection:
            pid = connection.info.backend_pid
            cursor = connection.cursor()
            ticks, start = _cpu.ticks(pid), time.perf_counter()
            for kind, statement, data in self.sent:
                began = time.perf_counter()
                if kind == "commit":
                    connection.commit()
                elif kind == "copy":
                    with cursor.copy(statement) as out:
                        for how, written in data:
                            (out.write if how == "write" else out.write_row)(written)
                elif kind == "executemany":
                    cursor.executemany(statement, data)
                else:
                    cursor.execute(statement, data)
                    if cursor.description is not None:
                        cursor.fetchall()
                name = kind if statement is None else _statement_name(str(statement))
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - began
            connection.commit()
            seconds, spent = time.perf_counter() - start, (_cpu.ticks(pid) - ticks) / _cpu.HERTZ
        return seconds, spent, sorted(parts.items(), key=lambda part: -part[1])


# What a day writes in (b): new rows (selected in the day's database by the query) and rows
# rewritten in place (members and balances: every member of the day had an activity).
DAY_NEW = {
    "loyalty_activities": "SELECT * FROM loyalty_activities WHERE key LIKE 'd%'",
    "loyalty_entries": "SELECT * FROM loyalty_entries WHERE key LIKE 'd%'",
    # The held history's buckets were all earned before TODAY, the day's on it.
    "loyalty_buckets": f"SELECT * FROM loyalty_buckets WHERE earned_on = '{TODAY}'",
}
DAY_REWRITTEN = {"loyalty_members": ("id",), "loyalty_balances": ("member_id", "currency")}


def steady_write_floor(
    db: Database, before: Database
) -> tuple[float, tuple[float, float], dict[str, float]]:
    """(b)'s write floor: what the day wrote (its activities, entries and buckets, and the
    members' and balances' new values), applied in one transaction to ``before``, the same
    database as it was before the day (:func:`apply_day`). No rules and no reads: no engine
    that leaves these rows in this schema can spend less of the database."""
    dumps = day_dumps(db, DAY_NEW, DAY_REWRITTEN)
    seconds_spent_parts = apply_day(before, dumps, DAY_NEW, DAY_REWRITTEN)
    before.engine.dispose()
    return seconds_spent_parts


def day_dumps(db: Database, new: dict[str, str], rewritten: Iterable[str]) -> dict[str, bytes]:
    """The day's rows as COPY text, by table: the rows of each query of ``new`` (by the
    table they go into), and the whole of each ``rewritten`` table."""
    dumps: dict[str, bytes] = {}
    with db.engine.connect() as connection:
        cursor = connection.connection.cursor()
        queries = {**new, **{table: f"SELECT * FROM {table}" for table in rewritten}}
        for table, query in queries.items():
            with cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
                dumps[table] = b"".join(bytes(block) for block in copy)
    return dumps


def apply_day(
    before: Database,
    dumps: dict[str, bytes],
    new: Iterable[str],
    rewritten: dict[str, tuple[str, ...]],
) -> tuple[float, tuple[float, float], dict[str, float]]:
    """The day's rows applied to ``before`` in one transaction: COPY into each ``new``
    table, and each ``rewritten`` table's rows set by one ``UPDATE ... FROM`` a temporary
    table filled by COPY (matched on the table's key); seconds, CPU, and the seconds of each
    table's part."""
    with before.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        columns = {
            table: list(
                connection.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns"
                        " WHERE table_name = :t ORDER BY ordinal_position"
                    ),
                    {"t": table},
                ).scalars()
            )
            for table in rewritten
        }
        connection.exec_driver_sql("VACUUM ANALYZE")
    parts: dict[str, float] = {}
    clocks = cpu_clocks(before)
    start = time.perf_counter()
    with before.engine.begin() as connection:
        cursor = connection.connection.cursor()
        for table in new:
            began = time.perf_counter()
            with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(dumps[table])
            parts[table] = time.perf_counter() - began
        for table, key in rewritten.items():
            began = time.perf_counter()
            cursor.execute(f"CREATE TEMPORARY TABLE day_{table} (LIKE {table}) ON COMMIT DROP")
            with cursor.copy(f"COPY day_{table} FROM STDIN") as copy:
                copy.write(dumps[table])
            assignments = ", ".join(f'"{c}" = d."{c}"' for c in columns[table] if c not in key)
            matched = " AND ".join(f't."{c}" = d."{c}"' for c in key)
            cursor.execute(f"UPDATE {table} t SET {assignments} FROM day_{table} d WHERE {matched}")
            parts[table] = time.perf_counter() - began
    return time.perf_counter() - start, cpu_spent(before, clocks), parts


def requalify_at_scale(db: Database, count: int, activities: int) -> tuple[float, int, int]:
    """``count`` more members whose states the pure rules produced from a few flights each
    (written in bulk), ``activities`` activities spread over them (SQL, see
    :func:`synthetic_activities`), then one requalification of all of them at once."""
    programme = service.get_programme("flying_blue")
    rng = random.Random(11)
    with console.status(f"Writing {count:,} members for the requalification"):
        added = members(db, count, states=lambda _: lived_state(rng, programme))
    if activities:
        with console.status(f"Writing {activities:,} activities beside them"):
            synthetic_activities(db, added, activities)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    with db.unit_of_work() as session:
        stored = session.scalar(select(func.count()).select_from(ActivityRow))
    start = time.perf_counter()
    with db.unit_of_work() as session:
        counts = service.requalify(session, actor=SYSTEM, as_of=REQUALIFY_ON)
    return time.perf_counter() - start, counts["members"], stored


def synthetic_activities(db: Database, member_ids: list[int], count: int) -> None:
    """``count`` applied flights, with their two ledger entries (XP and miles), spread evenly
    over ``member_ids`` by SQL: the size of the tables, not the rules, is what matters to a
    requalification, which reads member states only."""
    per_member = max(1, count // len(member_ids))
    first, last = min(member_ids), max(member_ids)
    for start in range(first, last + 1, 100_000):
        bounds = {"first": start, "last": min(start + 99_999, last), "n": per_member}
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    """
                    INSERT INTO loyalty_activities (programme, key, member_id, member_number,
                        kind, "on", payload, content_hash, status, earnings, entry_seqs,
                        received_at)
                    SELECT m.programme, 's' || m.id || '-' || g, m.id, m.number, 'flight',
                        DATE '2025-01-01' + ((m.id * 7 + g * 37) % 600)::int,
                        '{"kind": "flight", "amounts": {"fare": 50000}}', md5(m.id || '-' || g),
                        'applied', '[]', json_build_array(2 * g - 1, 2 * g), now()
                    FROM loyalty_members m CROSS JOIN generate_series(1, :n) g
                    WHERE m.id BETWEEN :first AND :last
                    """
                ),
                bounds,
            )
            connection.execute(
                text(
                    """
                    INSERT INTO loyalty_entries (member_id, seq, key, op, args, currency, debit,
                        credit, amount, "on", kind, state, rule_id, activity_id, memo,
                        created_at)
                    SELECT a.member_id, 2 * g - 2 + c, a.key || ':' || c, 'post', '{}',
                        CASE c WHEN 1 THEN 'XP' ELSE 'MILES' END, 'issuance', 'member',
                        CASE c WHEN 1 THEN 8 ELSE 2000 END, a."on", 'earn', 'posted',
                        CASE c WHEN 1 THEN 'flight_xp' ELSE 'miles_per_euro' END, a.id, '',
                        now()
                    FROM loyalty_activities a
                    CROSS JOIN LATERAL (SELECT split_part(a.key, '-', 2)::int AS g) k
                    CROSS JOIN generate_series(1, 2) c
                    WHERE a.member_id BETWEEN :first AND :last AND a.key LIKE 's%'
                    """
                ),
                bounds,
            )


def statement_latencies(
    db: Database, member_ids: list[int], queries: int = 200
) -> dict[str, tuple[float, float]]:
    from fastapi.testclient import TestClient

    from egards.app import create_app

    token = bench_token(db, Permission.LOYALTY_READ)
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


def bench_token(db: Database, permission: Permission) -> str:
    """A supervisor's API token reading customers and ``permission`` on loyalty."""
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
                name="bench",
                scopes=sorted({Permission.CUSTOMERS_READ, Permission.LOYALTY_READ, permission}),
            ),
        )
    return token


if __name__ == "__main__":
    main()
