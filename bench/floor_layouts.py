"""(b)'s write floor at the issue's scale, by storage layout (issue 15).

The steady-state day (one or two flights a member, two entries and two buckets a flight, the
member's row and balances rewritten) written, with no rules and no reads, into tables shaped
as the loyalty engine's and filled as after ``--entries`` entries a member, in three layouts:

- **today**: entries keyed by (member, seq) with a unique (member, key) index; buckets keyed
  by (member, seq); activities with their unique (programme, key) and (member, day) indexes;
- **ca**: the entries' key index partial (``WHERE activity_id IS NULL``: no row of the day in
  it, migration 0034) and no (member, day) index on the activities;
- **recent**: as ca, but the day's entries and buckets go into small tables of recent rows
  (an LSM-like design: a member's recent rows beside their history, merged into it in member
  order now and then), so that the day touches no page of the member-keyed history.

The reference is the bare COPY of the same entries into a table without key or index. The
tables are built with SQL (``generate_series``), not through the engine, so that 100,000
members holding 200 entries are ready in about two minutes: a prototype of the layouts'
floors, not of the engine. Each layout's day runs in a transaction that is rolled back
(then ``VACUUM``), layouts alternated, reversed in odd rounds.

    EGARDS_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \\
      python bench/floor_layouts.py --members 100000 --entries 200 --runs 2
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Callable

import psycopg
from _cpu import HERTZ, ticks
from _scratch import scratch_database
from rich.console import Console
from rich.table import Table

console = Console(width=220)  # the table is read in a log

ENTRY = """member_id bigint NOT NULL, seq int NOT NULL, key varchar(200) NOT NULL,
 op varchar(30) NOT NULL, args json, currency varchar(20) NOT NULL, debit varchar(20) NOT NULL,
 credit varchar(20) NOT NULL, amount int NOT NULL, "on" date NOT NULL, kind varchar(30) NOT NULL,
 state varchar(10) NOT NULL, rule_id varchar(80), reverses int, resolves int, expires_on date,
 activity_id bigint, memo text NOT NULL, allocations json, created_at timestamp NOT NULL"""
BUCKET = """member_id bigint NOT NULL, seq int NOT NULL, currency varchar(20) NOT NULL,
 earned_on date NOT NULL, expires_on date, amount int NOT NULL"""
ACTIVITY = """id bigint NOT NULL, programme varchar(40) NOT NULL, key varchar(200) NOT NULL,
 member_id bigint, member_number varchar(40) NOT NULL, kind varchar(40) NOT NULL,
 "on" date NOT NULL, payload json NOT NULL, content_hash varchar(64) NOT NULL,
 status varchar(10) NOT NULL, tier varchar(40), earnings json, entry_seqs json,
 received_at timestamp NOT NULL"""
MEMBER = """id bigint PRIMARY KEY, customer_id bigint NOT NULL, programme varchar(40) NOT NULL,
 number varchar(40) NOT NULL, enrolled_on date NOT NULL, tier varchar(40) NOT NULL,
 tier_since date NOT NULL, period_end date, counter int NOT NULL, tier_state json NOT NULL,
 last_activity_on date, entries_count int NOT NULL, created_at timestamp NOT NULL,
 updated_at timestamp NOT NULL"""
BALANCE = """member_id bigint NOT NULL, currency varchar(20) NOT NULL, balance int NOT NULL,
 available int NOT NULL, pending_credits int NOT NULL, PRIMARY KEY (member_id, currency)"""
MEMBER_STATE = """id bigint, tier varchar(40), tier_since date, period_end date, counter int,
 tier_state json, last_activity_on date, entries_count int, updated_at timestamp"""
TIER_STATE = (
    '{"tier": "silver", "counter": 120, "period_end": "2027-03-31", "since": "2025-04-01", '
    '"kept": ["silver"], "xp_this_period": 120, "flags": []}'
)
PAYLOAD = (
    '{"amounts": {"fare": 123400, "taxes": 2000}, '
    '"attributes": {"cabin": "economy", "distance_miles": 1500, "domestic": false}}'
)
LAYOUTS = ("bare", "today", "ca", "recent")


def build(cur: psycopg.Cursor, members: int, held: int) -> None:
    """The tables as after ``held`` entries a member (half as many flights), in today's
    layout; members' and balances' pages half full (migration 0032)."""
    flights = held // 2
    for statement in (
        f"CREATE TABLE entries ({ENTRY})",
        f"""INSERT INTO entries SELECT m, s, 'h' || m || '-' || s || ':miles', 'post', NULL,
            'MILES', 'programme', 'member', 1000 + (m * s) % 5000, date '2024-01-01' + s * 3,
            'earn', 'posted', 'flight_miles', NULL, NULL, date '2026-01-01' + s * 3,
            m * 1000 + s, '', NULL, now()
            FROM generate_series(1, {held}) s, generate_series(1, {members}) m""",
        "ALTER TABLE entries ADD PRIMARY KEY (member_id, seq)",
        "CREATE UNIQUE INDEX entries_key ON entries (member_id, key)",
        f"CREATE TABLE buckets ({BUCKET})",
        f"""INSERT INTO buckets SELECT m, s, CASE WHEN s % 2 = 0 THEN 'XP' ELSE 'MILES' END,
            date '2024-01-01' + s * 3, date '2026-06-01' + s * 3, 1000
            FROM generate_series(1, {held}) s, generate_series(1, {members}) m""",
        "ALTER TABLE buckets ADD PRIMARY KEY (member_id, seq)",
        f"CREATE TABLE activities ({ACTIVITY})",
        f"""INSERT INTO activities SELECT (s - 1) * {members} + m, 'flying_blue',
            'h' || m || '-' || s, m, '', 'flight', date '2024-01-01' + s * 3, '{PAYLOAD}',
            md5(m::text || s::text) || md5(s::text), 'applied', 'silver', NULL, NULL, now()
            FROM generate_series(1, {flights}) s, generate_series(1, {members}) m""",
        "ALTER TABLE activities ADD PRIMARY KEY (id)",
        "CREATE UNIQUE INDEX activities_key ON activities (programme, key)",
        'CREATE INDEX activities_member ON activities (member_id, "on")',
        f"CREATE TABLE members ({MEMBER}) WITH (fillfactor = 50)",
        f"""INSERT INTO members SELECT m, m, 'flying_blue', 'FB' || m, '2020-01-01', 'silver',
            '2025-04-01', '2027-03-31', 120, '{TIER_STATE}', '2026-11-01', {held}, now(), now()
            FROM generate_series(1, {members}) m""",
        f"CREATE TABLE balances ({BALANCE}) WITH (fillfactor = 50)",
        f"""INSERT INTO balances SELECT m, c, 100000, 100000, 0
            FROM generate_series(1, {members}) m, (VALUES ('MILES'), ('XP')) v(c)""",
        "VACUUM ANALYZE",
    ):
        cur.execute(statement)  # type: ignore[arg-type]


def day(members: int, held: int) -> dict[str, bytes]:
    """The day's rows as COPY text: one or two flights a member (a fixed draw), each with a
    Miles and an XP entry and bucket; every member's row and two balances rewritten."""
    out = {name: io.StringIO() for name in ("entries", "buckets", "activities", "members")}
    balances = io.StringIO()
    next_id = held // 2 * members
    for m in range(1, members + 1):
        flights = 1 + (m * 7919) % 2
        for n in range(flights):
            next_id += 1
            out["activities"].write(
                f"{next_id}\tflying_blue\td{m}-{n}\t{m}\t\tflight\t2026-12-05\t{PAYLOAD}\t"
                f"{'ab' * 32}\tapplied\tsilver\t\\N\t\\N\t2026-12-05 00:00:00\n"
            )
            for currency in ("MILES", "XP"):
                seq = held + 1 + 2 * n + (currency == "XP")
                out["entries"].write(
                    f"{m}\t{seq}\td{m}-{n}:{currency.lower()}\tpost\t\\N\t{currency}\t"
                    f"programme\tmember\t1500\t2026-12-05\tearn\tposted\tflight\t\\N\t\\N\t"
                    f"2028-12-05\t{next_id}\t\t\\N\t2026-12-05 00:00:00\n"
                )
                out["buckets"].write(f"{m}\t{seq}\t{currency}\t2026-12-05\t2028-12-05\t1500\n")
        out["members"].write(
            f"{m}\tsilver\t2025-04-01\t2027-03-31\t{120 + 30 * flights}\t{TIER_STATE}\t"
            f"2026-12-05\t{held + 2 * flights}\t2026-12-05 00:00:00\n"
        )
        for currency in ("MILES", "XP"):
            balance = 100000 + 1500 * flights
            balances.write(f"{m}\t{currency}\t{balance}\t{balance}\t0\n")
    return {name: text.getvalue().encode() for name, text in {**out, "balances": balances}.items()}


def copy(cur: psycopg.Cursor, table: str, data: bytes) -> None:
    with cur.copy(f"COPY {table} FROM STDIN") as block:  # type: ignore[arg-type]
        for start in range(0, len(data), 1 << 20):
            block.write(data[start : start + (1 << 20)])


def write_day(
    cur: psycopg.Cursor, pid: int, rows: dict[str, bytes], layout: str
) -> dict[str, tuple[float, float]]:
    """The day written in ``layout``: each part's wall and PostgreSQL CPU seconds."""
    parts: dict[str, tuple[float, float]] = {}

    def timed(part: str, work: Callable[[], None]) -> None:
        before, start = ticks(pid), time.perf_counter()
        work()
        parts[part] = (time.perf_counter() - start, (ticks(pid) - before) / HERTZ)

    if layout == "bare":
        cur.execute(f"CREATE TEMPORARY TABLE bare ({ENTRY})")  # type: ignore[arg-type]
        timed("entries", lambda: copy(cur, "bare", rows["entries"]))
        return parts
    entries, buckets = "entries", "buckets"
    if layout in ("ca", "recent"):
        cur.execute("DROP INDEX entries_key")
        cur.execute(
            "CREATE UNIQUE INDEX entries_key_p ON entries (member_id, key)"
            " WHERE activity_id IS NULL"
        )
        cur.execute("DROP INDEX activities_member")
    if layout == "recent":
        entries, buckets = "recent_entries", "recent_buckets"
        for table, columns in ((entries, ENTRY), (buckets, BUCKET)):
            cur.execute(f"CREATE TABLE {table} ({columns})")  # type: ignore[arg-type]
            cur.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (member_id, seq)")  # type: ignore[arg-type]
        cur.execute(
            "CREATE UNIQUE INDEX recent_entries_key ON recent_entries (member_id, key)"
            " WHERE activity_id IS NULL"
        )
    timed("entries", lambda: copy(cur, entries, rows["entries"]))
    timed("buckets", lambda: copy(cur, buckets, rows["buckets"]))
    timed("activities", lambda: copy(cur, "activities", rows["activities"]))
    cur.execute(f"CREATE TEMPORARY TABLE member_state ({MEMBER_STATE})")  # type: ignore[arg-type]
    cur.execute("CREATE TEMPORARY TABLE new_balances (LIKE balances)")

    def members() -> None:
        copy(cur, "member_state", rows["members"])
        cur.execute(
            "UPDATE members m SET tier = t.tier, tier_since = t.tier_since,"
            " period_end = t.period_end, counter = t.counter, tier_state = t.tier_state,"
            " last_activity_on = t.last_activity_on, entries_count = t.entries_count,"
            " updated_at = t.updated_at FROM member_state t WHERE m.id = t.id"
        )

    def balances() -> None:
        copy(cur, "new_balances", rows["balances"])
        cur.execute(
            "UPDATE balances b SET balance = t.balance, available = t.available,"
            " pending_credits = t.pending_credits FROM new_balances t"
            " WHERE b.member_id = t.member_id AND b.currency = t.currency"
        )

    timed("members", members)
    timed("balances", balances)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=200, help="entries held a member")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    url = scratch_database("layouts")
    with psycopg.connect(url, autocommit=True) as connection:
        cur = connection.cursor()
        pid = connection.info.backend_pid
        with console.status(f"{args.members:,} members holding {args.entries} entries"):
            start = time.perf_counter()
            build(cur, args.members, args.entries)
            built = time.perf_counter() - start
        rows = day(args.members, args.entries)
        flights = rows["activities"].count(b"\n")
        results: dict[str, list[dict[str, tuple[float, float]]]] = {name: [] for name in LAYOUTS}
        for run in range(args.runs):
            for layout in LAYOUTS if run % 2 == 0 else LAYOUTS[::-1]:
                cur.execute("BEGIN")
                results[layout].append(write_day(cur, pid, rows, layout))
                cur.execute("ROLLBACK")
                cur.execute("VACUUM entries, buckets, activities, members, balances")
    load = os.getloadavg()
    bare = sorted(sum(w for w, _ in parts.values()) for parts in results["bare"])
    reference = bare[len(bare) // 2]
    table = Table(
        title=f"(b)'s write floor by layout: {args.members:,} members holding {args.entries} "
        f"entries, a day of {flights:,} flights (built in {built:.0f} s; load "
        f"{load[0]:.1f} at the end)"
    )
    for column in (
        "layout",
        "runs: wall s (flights/s)",
        "× bare COPY",
        "PG CPU µs/flight",
        "parts",
    ):
        table.add_column(column)
    for layout, runs in results.items():
        walls = [sum(w for w, _ in parts.values()) for parts in runs]
        cpus = [sum(c for _, c in parts.values()) for parts in runs]
        table.add_row(
            layout,
            ", ".join(f"{w:.2f} ({flights / w:,.0f}/s)" for w in walls),
            ", ".join(f"{w / reference:.1f}" for w in walls),
            ", ".join(f"{c / flights * 1e6:.1f}" for c in cpus),
            "; ".join(
                " ".join(f"{part} {wall:.2f}" for part, (wall, _) in parts.items())
                for parts in runs
            ),
        )
    console.print(table)
    console.print(f"reference: the bare COPY of the day's entries, median {reference:.2f} s")


if __name__ == "__main__":
    main()
