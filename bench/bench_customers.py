"""Customer file benchmarks: bulk import against a bare load, and search latency.

    python bench/bench_customers.py [--customers 1000000] [--db sqlite|postgresql|both] [--batches]
                                    [--quoted]

Import: N customers with two identities each (e-mail, phone) through `egards import
customers`, against the bare bulk load of the same rows into plain tables in the same run
(PostgreSQL COPY; SQLite executemany in one transaction); into the empty file, PostgreSQL
takes the initial load (indexes rebuilt after), `--batches` measures the batch-by-batch path,
`--quoted` a file with every value in quotes.
Search: median and p95 latency of the API search by phone, e-mail and name prefix, through the
HTTP stack, on the loaded data.
"""

from __future__ import annotations

import argparse
import atexit
import csv
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import _cpu
from rich.console import Console
from rich.table import Table

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Permission, Role
from egards.accounts.schemas import TokenCreate, UserCreate
from egards.config import Settings
from egards.customers.imports import import_customers
from egards.db import Database, make_engine
from egards.demo.generate import FIRST_EN, FIRST_FR, LAST_EN, LAST_FR
from egards.migrate import upgrade

console = Console()
# A database of its own, named after the configured one and this process (never a fixed name:
# several benchmarks or helpers may run at once), created for the run and dropped after it.
_BASE_URL = os.environ.get("EGARDS_BENCH_DATABASE_URL") or os.environ.get(
    "EGARDS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/egards"
)
PG_URL = f"{_BASE_URL}_bench_customers_{os.getpid()}"
COLUMNS = ["external_id", "first_name", "last_name", "email", "phone", "preferred_language", "city"]


PREFIXES = ("12", "20", "21", "22", "30", "60", "70", "80", "99", "11")


def phone(i: int) -> str:
    """A valid, distinct French mobile number for each i below ten million."""
    digits = f"{PREFIXES[i // 1_000_000]}{i % 1_000_000:06d}"
    return f"06 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"


def write_source(path: Path, n: int, *, quoted: bool = False) -> None:
    rng = random.Random(42)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL)
        writer.writerow(COLUMNS)
        for i in range(n):
            english = rng.random() < 0.2
            first = rng.choice(FIRST_EN if english else FIRST_FR)
            last = rng.choice(LAST_EN if english else LAST_FR)
            writer.writerow(
                [
                    f"B-{i:08d}",
                    first,
                    last,
                    f"c{i}@example.fr",
                    phone(i),
                    "en" if english else "fr",
                    "Lyon",
                ]
            )


def _pg_name() -> str:
    return PG_URL.rsplit("/", 1)[1]


def _admin(statement: str) -> None:
    admin = make_engine(f"{PG_URL.rsplit('/', 1)[0]}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(statement)
    admin.dispose()


def fresh_database(kind: str, workdir: Path) -> Database:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
    else:
        _admin(f'DROP DATABASE IF EXISTS "{_pg_name()}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{_pg_name()}"')
        atexit.register(_admin, f'DROP DATABASE IF EXISTS "{_pg_name()}" WITH (FORCE)')
        engine = make_engine(PG_URL)
    upgrade(engine)
    return Database(engine)


def cpu_spent(db: Database, since: tuple[float, dict[int, int]]) -> float:
    """Seconds of CPU since ``since``, this process and the database's backends together: on
    a machine whose cores are shared, the CPU ratio says what the wall time cannot."""
    return sum(_cpu.cpu_spent(db, since))


def bare_load(db: Database, source: Path) -> tuple[float, float]:
    """The reference: the same rows, unvalidated, into plain tables in one go; its wall and
    CPU seconds (this process and the backends), both from after the file was read, so that
    the CPU is that of the same work as the wall time."""
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    clocks = _cpu.cpu_clocks(db)
    start = time.perf_counter()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS bare_customers")
        connection.exec_driver_sql("DROP TABLE IF EXISTS bare_identities")
        connection.exec_driver_sql(
            "CREATE TABLE bare_customers (external_id text, first_name text, last_name text,"
            " preferred_language text, city text)"
        )
        connection.exec_driver_sql(
            "CREATE TABLE bare_identities (external_id text, kind text, value text)"
        )
        customers = [(r[0], r[1], r[2], r[5], r[6]) for r in rows]
        identities = [(r[0], "email", r[3]) for r in rows] + [(r[0], "phone", r[4]) for r in rows]
        if db.dialect == "postgresql":
            cursor = connection.connection.driver_connection.cursor()
            with cursor.copy("COPY bare_customers FROM STDIN") as copy:
                for row in customers:
                    copy.write_row(row)
            with cursor.copy("COPY bare_identities FROM STDIN") as copy:
                for row in identities:
                    copy.write_row(row)
        else:
            raw = connection.connection.driver_connection
            raw.executemany("INSERT INTO bare_customers VALUES (?,?,?,?,?)", customers)
            raw.executemany("INSERT INTO bare_identities VALUES (?,?,?)", identities)
    return time.perf_counter() - start, cpu_spent(db, clocks)


def search_latencies(
    db: Database, n: int, queries: int = 200
) -> dict[str, tuple[float, float, float]]:
    """Per kind of query: median and p95 wall time, and p95 CPU time of this process (the
    HTTP stack, the service, the ORM; the database's part is under a millisecond: EXPLAIN
    ANALYZE in docs/benchmarks.md), in milliseconds."""
    from fastapi.testclient import TestClient

    from egards.app import create_app

    with db.unit_of_work() as session:
        user = accounts.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email=f"bench{time.time_ns()}@example.com",
                display_name="Bench",
                role=Role.AGENT,
                password="benchmark-password",
            ),
        )
        _, token = accounts.create_token(
            session,
            actor=accounts.actor_for(user),
            data=TokenCreate(name="bench", scopes=[Permission.CUSTOMERS_READ]),
        )
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), secret_key="b" * 40)
    client = TestClient(create_app(settings, db))
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(1)
    kinds = {
        "phone": lambda: phone(rng.randrange(n)).replace(" ", ""),
        "e-mail": lambda: f"c{rng.randrange(n)}@example.fr",
        "name prefix": lambda: rng.choice(LAST_FR)[:3].lower(),
    }
    results = {}
    for kind, make in kinds.items():
        timings = []
        cpu = []
        for _ in range(queries):
            query = make()
            start, clock = time.perf_counter(), time.process_time()
            response = client.get("/api/v1/customers", params={"q": query}, headers=headers)
            timings.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - clock) * 1000)
            assert response.status_code == 200 and response.json()["items"], (
                kind,
                query,
                response.text,
            )
        timings.sort()
        cpu.sort()
        p95 = int(len(timings) * 0.95) - 1
        results[kind] = (statistics.median(timings), timings[p95], cpu[p95])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--batches",
        action="store_true",
        help="import batch by batch even into the empty file (no initial load on PostgreSQL)",
    )
    parser.add_argument(
        "--quoted",
        action="store_true",
        help="every value of the file in quotes (as some exports write them)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="egards-bench-"))
    source = workdir / "customers.csv"
    write_source(source, args.customers, quoted=args.quoted)
    imports = Table(title=f"Import of {args.customers:,} customers with two identities each")
    for column in (
        "database",
        "bare load (s)",
        "egards import (s)",
        "rows/s",
        "ratio (wall)",
        "ratio (CPU)",
        "import CPU: Python / PostgreSQL (s)",
        "target ≤ 10×",
    ):
        imports.add_column(column)
    searches = Table(title=f"API search latency with {args.customers:,} customers (ms)")
    for column in (
        "database",
        "query",
        "median",
        "p95",
        "p95 CPU",
        "target p95 < 50 ms (PostgreSQL)",
    ):
        searches.add_column(column)
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        db = fresh_database(kind, workdir)
        reference, reference_cpu = bare_load(db, source)
        clocks = _cpu.cpu_clocks(db)
        start = time.perf_counter()
        result = import_customers(
            db, source, batch_size=5000, console=console, initial_load=not args.batches
        )
        ours = time.perf_counter() - start
        python_cpu, database_cpu = _cpu.cpu_spent(db, clocks)
        ours_cpu = python_cpu + database_cpu
        assert result.created == args.customers and result.rejected == 0, result.rejects[:5]
        ratio = ours / reference
        cpu_ratio = ours_cpu / reference_cpu
        imports.add_row(
            kind + (" (initial load)" if result.initial_load else ""),
            f"{reference:.1f}",
            f"{ours:.1f}",
            f"{args.customers / ours:,.0f}",
            f"{ratio:.1f}×",
            f"{cpu_ratio:.1f}× ({ours_cpu:.1f} s / {reference_cpu:.1f} s)",
            f"{python_cpu:.1f} / {database_cpu:.1f}",
            "yes" if ratio <= 10 else f"no (CPU: {'yes' if cpu_ratio <= 10 else 'no'})",
        )
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        for query, (median, p95, p95_cpu) in search_latencies(db, args.customers).items():
            searches.add_row(
                kind,
                query,
                f"{median:.1f}",
                f"{p95:.1f}",
                f"{p95_cpu:.1f}",
                ("yes" if p95 < 50 else "no") if kind == "postgresql" else "",
            )
        db.engine.dispose()
    console.print(imports)
    console.print(searches)


if __name__ == "__main__":
    main()
