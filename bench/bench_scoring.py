"""End-to-end scoring on PostgreSQL: N transactions of M customers to scores written back.

    python bench/bench_scoring.py --customers 1000000 --transactions 10000000

Uses a database of its own (bench/_scratch.py: named after the configured one and the process,
dropped after the run), loads
synthetic customers and purchases with COPY, then times `egards analytics score` (the service
it calls) with a fresh fit, and again reusing the fit. Reference in the same run: a bare
COPY TO STDOUT of the same transactions, the floor for reading them.
"""

from __future__ import annotations

import argparse
import io
import time
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from _scratch import scratch_database
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from egards.accounts.domain import SYSTEM
from egards.analytics import service
from egards.analytics.settings import AnalyticsSettings
from egards.db import Database, make_engine
from egards.migrate import upgrade

AS_OF = date(2026, 6, 30)


def fresh_database() -> Database:
    engine = make_engine(scratch_database("analytics"))
    upgrade(engine)
    return Database(engine)


def _copy(db: Database, table: str, data: pa.Table) -> None:
    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
    raw = db.engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        columns = ", ".join(f'"{c}"' for c in data.column_names)
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
            view = buffer.getbuffer()
            for start in range(0, len(view), 1 << 22):
                copy.write(view[start : start + (1 << 22)])
        raw.commit()
    finally:
        raw.close()


def load(db: Database, customers: int, transactions: int, seed: int = 1) -> float:
    """Customers, then purchases drawn from a BG/NBD-like process: heterogeneous rates,
    drop-out, spend per customer."""
    started = time.perf_counter()
    ids = np.arange(1, customers + 1)
    now = "2026-06-30 00:00:00+00"
    names = pa.array([f"N{i}" for i in ids])
    _copy(
        db,
        "customers",
        pa.table(
            {
                "id": ids,
                "external_id": pa.array([f"B{i:08d}" for i in ids]),
                "first_name": names,
                "last_name": names,
                "search_last_first": names,
                "search_first_last": names,
                "preferred_language": pa.array(["fr"] * customers),
                "status": pa.array(["active"] * customers),
                "created_at": pa.array([now] * customers),
                "updated_at": pa.array([now] * customers),
            }
        ),
    )
    with db.engine.begin() as connection:
        connection.execute(text(f"SELECT setval('customers_id_seq', {customers})"))
    rng = np.random.default_rng(seed)
    end = (AS_OF - date(1970, 1, 1)).days
    weight = rng.gamma(0.6, 1.0, customers)
    weight /= weight.sum()
    counts = np.maximum(1, rng.multinomial(transactions - customers, weight) + 1)
    owner = np.repeat(ids, counts)
    first = end - rng.integers(30, 1100, customers)
    lifetime = np.minimum(end - first, rng.exponential(500, customers).astype(int) + 1)
    offset = (rng.random(owner.size) * lifetime[owner - 1]).astype(np.int64)
    days = first[owner - 1] + offset
    spend = rng.gamma(3.0, 1.0, customers) * 1500
    amount = (rng.gamma(4.0, 0.25, owner.size) * spend[owner - 1]).astype(np.int64) + 100
    for start in range(0, owner.size, 2_000_000):
        part = slice(start, start + 2_000_000)
        _copy(
            db,
            "analytics_transactions",
            pa.table(
                {
                    "customer_id": owner[part],
                    "on": pa.array(days[part].astype(np.int32)).cast(pa.date32()),
                    "amount_cents": amount[part],
                    "label": pa.array(["bench"] * owner[part].size),
                }
            ),
        )
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def bare_copy(db: Database) -> float:
    started = time.perf_counter()
    raw = db.engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        sql = service.imported_transactions_sql("postgresql").replace(":as_of", f"DATE '{AS_OF}'")
        size = 0
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
            for data in copy:
                size += len(data)
        raw.rollback()
    finally:
        raw.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    args = parser.parse_args()
    console = Console()
    db = fresh_database()
    console.print(f"Loading {args.customers:,} customers and ~{args.transactions:,} purchases…")
    load_seconds = load(db, args.customers, args.transactions)
    settings = AnalyticsSettings()
    reference = bare_copy(db)
    started = time.perf_counter()
    fitted = service.score(
        db,
        actor=SYSTEM,
        as_of=AS_OF,
        source="imported",
        refit=True,
        settings=settings,
        console=console,
    )
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reused = service.score(
        db,
        actor=SYSTEM,
        as_of=AS_OF,
        source="imported",
        refit=False,
        settings=settings,
        console=console,
    )
    reuse_seconds = time.perf_counter() - started

    table = Table(
        title=f"Scoring {fitted.counts['transactions']:,} transactions of "
        f"{fitted.counts['customers_scored']:,} customers (PostgreSQL, 2 cores)"
    )
    table.add_column("what")
    table.add_column("seconds", justify="right")
    table.add_row("load (COPY, not part of scoring)", f"{load_seconds:.1f}")
    table.add_row("reference: bare COPY TO STDOUT of the transactions", f"{reference:.1f}")
    for step, seconds in fitted.report["timings"].items():
        table.add_row(f"  in run: {step}", f"{seconds:.1f}")
    in_memory = sum(fitted.report["timings"].values())
    table.add_row("  in run: database reads and writes", f"{fit_seconds - in_memory:.1f}")
    table.add_row("[bold]end to end, models fitted[/]", f"[bold]{fit_seconds:.1f}[/]")
    table.add_row("[bold]end to end, fit reused[/]", f"[bold]{reuse_seconds:.1f}[/]")
    churn = fitted.report["churn"]
    table.add_row("churn AUC (out of time)", f"{churn.get('auc', float('nan')):.3f}")
    table.add_row("target", "120.0")
    console.print(table)
    print(reused.run_id)


if __name__ == "__main__":
    main()
