"""Scratch benchmark (issue 15 (b)): the steady state's write floor in leaner schemas.

    EGARDS_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_floor PYTHONPATH=src \
      python bench/floor_steady.py [--members 20000] [--entries 200] [--runs 2]

The real rows once: bench_loyalty's set-up (members holding ``--entries`` entries through the
bulk path), a copy of the database taken before the day, then the day (one or two flights per
member) through the bulk path. For each schema variant, the same transformation is applied to
a copy of the database before the day and to a copy of the database after it (SQL: drop an
index, move balances or buckets onto the member's row, split the member's rewritten columns
off, drop the activities); the "before" copy is compacted (VACUUM FULL of the rewritten
table, VACUUM ANALYZE) and is the variant's template; the day's new rows and the rewritten
rows' new values are dumped (COPY TO) from the "after" copy. Each run applies the day to a
fresh copy of the variant's template, as ``steady_write_floor`` does (COPY of new rows; one
``UPDATE ... FROM`` a COPY'd temporary table per rewritten table), timing each table's part
and the PostgreSQL CPU. Variants alternate in each round; the bare COPY of the day's entries
and ``steady_write_floor`` itself (the harness check) run in every round.
"""

from __future__ import annotations

import argparse
import atexit
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench_loyalty import (
    DAY_NEW,
    PG_URL,
    _drop,
    apply_day,
    bare_copy,
    console,
    day_dumps,
    day_entries,
    fresh_database,
    hold_histories,
    members,
    record,
    steady_day,
    steady_write_floor,
)
from rich.table import Table
from sqlalchemy import text

from egards.db import Database, make_engine

SERVER = PG_URL.rsplit("/", 1)[0]
# The member's columns the day rewrites (variant "split": a narrow row of its own).
STATE = (
    "tier",
    "tier_since",
    "period_end",
    "counter",
    "tier_state",
    "last_activity_on",
    "entries_count",
    "updated_at",
)


@dataclass(frozen=True)
class Variant:
    name: str
    entry_key_index: bool = True
    activities: str = "full"  # "full", "pk_and_key" (no secondary index), "none"
    split: bool = False  # the rewritten member columns in a narrow table of their own
    balances_on_member: bool = False
    buckets_on_member: bool = False
    compact: bool = True  # VACUUM FULL of the rewritten table before the day

    @property
    def hot(self) -> str:
        return "loyalty_member_state" if self.split else "loyalty_members"

    @property
    def hot_key(self) -> tuple[str, ...]:
        return ("member_id",) if self.split else ("id",)


VARIANTS = [
    Variant("1 today's schema"),
    Variant("1n today's schema, members not compacted", compact=False),
    Variant("2 entries: no unique (member, key)", entry_key_index=False),
    Variant("3 balances on the member row", balances_on_member=True),
    Variant("4 buckets on the member row (int[])", buckets_on_member=True),
    Variant("5a activities: PK + unique key only", activities="pk_and_key"),
    Variant("5b no activities table", activities="none"),
    Variant("6 member state split off (narrow row)", split=True),
]


def admin_execute(*statements: str) -> None:
    admin = make_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
    admin.dispose()


def clone(source: str, name: str) -> Database:
    """A copy of database ``source`` (file copy: no WAL of its pages), dropped at exit."""
    admin_execute(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY FILE_COPY',
    )
    atexit.register(_drop, SERVER, name)
    return Database(make_engine(f"{SERVER}/{name}"))


def name_of(db: Database) -> str:
    return db.engine.url.database or ""


def slug(currency: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", currency.lower())


def transform(db: Database, variant: Variant) -> None:
    """Turn today's schema (and its rows) into ``variant``'s, in place."""
    with db.engine.begin() as c:
        run = c.exec_driver_sql
        if not variant.entry_key_index:
            # Before migration 0034 a constraint on every entry; since, a partial index.
            run(
                "ALTER TABLE loyalty_entries"
                " DROP CONSTRAINT IF EXISTS uq_loyalty_entries_member_id_key"
            )
            run("DROP INDEX IF EXISTS uq_loyalty_entries_member_id_key_without_activity")
        if variant.activities == "pk_and_key":
            run("DROP INDEX ix_loyalty_activities_member, ix_loyalty_activities_parked")
        elif variant.activities == "none":
            run("DROP TABLE loyalty_activities CASCADE")
        if variant.split:
            columns = ", ".join(f'"{c}"' for c in STATE)
            run(
                "CREATE TABLE loyalty_member_state WITH (fillfactor = 50) AS"
                f" SELECT id AS member_id, {columns} FROM loyalty_members"
            )
            run("ALTER TABLE loyalty_member_state ADD PRIMARY KEY (member_id)")
            run(
                "ALTER TABLE loyalty_members "
                + ", ".join(f'DROP COLUMN "{c}" CASCADE' for c in STATE)
            )
        hot, key = variant.hot, variant.hot_key[0]
        if variant.balances_on_member:
            currencies = run("SELECT DISTINCT currency FROM loyalty_balances").scalars().all()
            for currency in currencies:
                s = slug(currency)
                run(
                    f"ALTER TABLE {hot} ADD COLUMN {s}_balance integer,"
                    f" ADD COLUMN {s}_available integer, ADD COLUMN {s}_pending integer"
                )
                run(
                    f"UPDATE {hot} t SET {s}_balance = b.balance, {s}_available = b.available,"
                    f" {s}_pending = b.pending_credits FROM loyalty_balances b"
                    f" WHERE b.member_id = t.{key} AND b.currency = '{currency}'"
                )
            run("DROP TABLE loyalty_balances CASCADE")
        if variant.buckets_on_member:
            # Each open bucket as four integers: seq, earned on and expires on (days since
            # 2000-01-01, -1 for never), amount; one array per currency.
            currencies = run("SELECT DISTINCT currency FROM loyalty_buckets").scalars().all()
            for currency in currencies:
                s = slug(currency)
                run(f"ALTER TABLE {hot} ADD COLUMN buckets_{s} integer[]")
                run(
                    f"UPDATE {hot} t SET buckets_{s} = a.packed FROM (SELECT member_id,"
                    " array_agg(x ORDER BY seq, i) AS packed FROM loyalty_buckets,"
                    " LATERAL unnest(ARRAY[seq, earned_on - DATE '2000-01-01',"
                    " coalesce(expires_on - DATE '2000-01-01', -1), amount])"
                    f" WITH ORDINALITY AS u(x, i) WHERE currency = '{currency}'"
                    f" GROUP BY member_id) a WHERE a.member_id = t.{key}"
                )
            run("DROP TABLE loyalty_buckets CASCADE")


def rewritten(variant: Variant) -> dict[str, tuple[str, ...]]:
    tables = {variant.hot: variant.hot_key}
    if not variant.balances_on_member:
        tables["loyalty_balances"] = ("member_id", "currency")
    return tables


def new_rows(variant: Variant) -> dict[str, str]:
    rows = dict(DAY_NEW)
    if variant.activities == "none":
        del rows["loyalty_activities"]
    if variant.buckets_on_member:
        del rows["loyalty_buckets"]
    return rows


@dataclass
class Prepared:
    variant: Variant
    template: str
    dumps: dict[str, bytes]
    sizes: dict[str, str]


def prepare(variant: Variant, index: int, before: str, after: str) -> Prepared:
    base = f"{name_of_base()}_v{index}"
    day = clone(after, f"{base}_day")
    transform(day, variant)
    dumps = day_dumps(day, new_rows(variant), rewritten(variant))
    day.engine.dispose()
    _drop(SERVER, f"{base}_day")
    template = clone(before, f"{base}_before")
    transform(template, variant)
    with template.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        if variant.compact:
            c.exec_driver_sql(f"VACUUM FULL {variant.hot}")
        c.exec_driver_sql("VACUUM ANALYZE")
        sizes = {
            variant.hot: c.exec_driver_sql(
                f"SELECT pg_size_pretty(pg_table_size('{variant.hot}'))"
                f" || ', ' || (SELECT avg(pg_column_size(t.*))::int FROM {variant.hot} t)"
                " || ' B a row'"
            ).scalar_one()
        }
    template.engine.dispose()
    return Prepared(variant, f"{base}_before", dumps, sizes)


def name_of_base() -> str:
    return PG_URL.rsplit("/", 1)[1]


def apply_variant_day(prepared: Prepared) -> tuple[float, tuple[float, float], dict[str, float]]:
    """The day applied to a fresh copy of the variant's template (:func:`apply_day`)."""
    name = f"{prepared.template}_r"
    db = clone(prepared.template, name)
    variant = prepared.variant
    measured = apply_day(db, prepared.dumps, new_rows(variant), rewritten(variant))
    db.engine.dispose()
    _drop(SERVER, name)
    return measured


def uptime() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated variant numbers (1, 5b, c)")
    args = parser.parse_args()
    variants = list(VARIANTS)
    variants.append(
        Variant(
            "c combination: 2 + 3 + 5b + 6",
            entry_key_index=False,
            activities="none",
            split=True,
            balances_on_member=True,
        )
    )
    variants.append(
        Variant(
            "c4 combination: 2 + 3 + 4 + 5b + 6",
            entry_key_index=False,
            activities="none",
            split=True,
            balances_on_member=True,
            buckets_on_member=True,
        )
    )
    variants.append(
        Variant(
            "ca combination: 2 + 3 + 5a + 6",
            entry_key_index=False,
            activities="pk_and_key",
            split=True,
            balances_on_member=True,
        )
    )
    if args.only:
        wanted = set(args.only.split(","))
        variants = [v for v in variants if v.name.split()[0] in wanted]
    console.print(f"load {uptime()} at set-up")
    db = fresh_database("postgresql", Path())
    with console.status("set-up"):
        member_ids = members(db, args.members)
        hold_histories(db, member_ids, args.entries, args.batch)
    after = name_of(db)
    db.engine.dispose()
    before = f"{after}_before"
    clone(after, before).engine.dispose()
    day = steady_day(member_ids, "d", 11)  # the day of bench_loyalty's steady state
    done = record(db, member_ids, day.__getitem__, args.batch)
    entry_rows = day_entries(db)
    with db.engine.connect() as c:
        facts = {
            "day's entries": c.execute(
                text("SELECT count(*) FROM loyalty_entries WHERE key LIKE 'd%'")
            ),
            "day's buckets": c.execute(
                text(
                    "SELECT count(*) FROM loyalty_buckets b JOIN loyalty_entries e ON"
                    " e.member_id = b.member_id AND e.seq = b.seq WHERE e.key LIKE 'd%'"
                )
            ),
            "open buckets a member (avg)": c.execute(
                text(
                    "SELECT round(count(*)::numeric / count(DISTINCT member_id), 1)"
                    " FROM loyalty_buckets"
                )
            ),
            "tier_state bytes (avg)": c.execute(
                text("SELECT avg(pg_column_size(tier_state))::int FROM loyalty_members")
            ),
            "member row bytes (avg)": c.execute(
                text("SELECT avg(pg_column_size(m.*))::int FROM loyalty_members m")
            ),
            "activity row bytes (avg)": c.execute(
                text("SELECT avg(pg_column_size(a.*))::int FROM loyalty_activities a")
            ),
        }
        facts = {k: v.scalar_one() for k, v in facts.items()}
    db.engine.dispose()
    console.print(f"{done:,} activities in the day; {facts}")
    prepared = []
    for index, variant in enumerate(variants):
        with console.status(f"preparing {variant.name}"):
            prepared.append(prepare(variant, index, before, after))
    results: dict[str, list[tuple[float, tuple[float, float], dict[str, float], str]]] = {}
    references: list[float] = []
    checks: list[tuple[float, tuple[float, float], dict[str, float], str]] = []
    for run in range(args.runs):
        load = uptime()
        references.append(bare_copy(Database(make_engine(f"{SERVER}/{after}")), entry_rows))
        check_before = clone(before, f"{before}_check")
        check = steady_write_floor(Database(make_engine(f"{SERVER}/{after}")), check_before)
        _drop(SERVER, f"{before}_check")
        checks.append((*check, load))
        order = prepared if run % 2 == 0 else prepared[::-1]
        for item in order:
            load = uptime()
            seconds, spent, parts = apply_variant_day(item)
            results.setdefault(item.variant.name, []).append((seconds, spent, parts, load))
            console.print(
                f"run {run + 1} {item.variant.name}: {seconds:.2f} s, PG "
                f"{spent[1] * 1e6 / done:.1f} µs/activity, load {load}"
            )
    reference = statistics.median(references)
    table = Table(
        title=f"(b) write floor by schema: {args.members:,} members holding {args.entries} "
        f"entries, a day of {done:,} activities; bare COPY of the day's {len(entry_rows):,} "
        f"entries {', '.join(f'{r:.3f}' for r in references)} s (median {reference:.3f} s)"
    )
    for column in ("variant", "run", "s", "activities/s", "× bare COPY", "PG µs/act", "parts (s)"):
        table.add_column(column)
    table.add_column("load")
    rows = {"steady_write_floor (check)": checks}
    rows.update({item.variant.name: results[item.variant.name] for item in prepared})
    for name, runs in rows.items():
        for n, (seconds, spent, parts, load) in enumerate(runs):
            table.add_row(
                name if n == 0 else "",
                str(n + 1),
                f"{seconds:.2f}",
                f"{done / seconds:,.0f}",
                f"{seconds / reference:.1f}",
                f"{spent[1] * 1e6 / done:.1f}",
                ", ".join(f"{k.removeprefix('loyalty_')} {v:.2f}" for k, v in parts.items()),
                load,
            )
    console.print(table)
    for item in prepared:
        console.print(f"{item.variant.name}: rewritten table {item.sizes}")


if __name__ == "__main__":
    main()
