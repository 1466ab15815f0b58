"""Scoring on Spark beside the single-machine path, in the same run, on PostgreSQL.

    python bench/bench_spark.py --customers 1000000 --transactions 10000000
    python bench/bench_spark.py --customers 100000 --transactions 1000000   # quick

Loads synthetic customers and purchases as bench_scoring.py does (a scratch database, dropped
after the run), exports them to Parquet once, then times `egards batch run score` with a fresh
fit on each engine: local (this process), Spark local[2] and Spark local[1] (the scaling from
one core to two). The figure that matters on two cores is Spark's overhead over the local path
(target: within 3x), not a speed-up. CPU is given three ways: this process (the driver), the
processes it started (Spark's JVM and its Python workers, read from /proc while they live) and
the scratch database's PostgreSQL backends. Requalification is in bench_spark_requalify.py.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import ClassVar

import _cpu
from bench_scoring import AS_OF, fresh_database, load
from rich.console import Console
from rich.table import Table

from egards.accounts.domain import SYSTEM
from egards.batch import service
from egards.batch import spark as spark_engine


def _timed(work, db):
    """The result, wall seconds, and CPU seconds of this process, its descendants and the
    database's backends (each process's CPU since the start, or since it appeared)."""
    before_children, before_server = _cpu.clocks(_cpu.descendants()), _cpu.clocks(_cpu.backends(db))
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = _cpu.seconds_since(before_children, _cpu.descendants())
    server = _cpu.seconds_since(before_server, _cpu.backends(db))
    return result, wall, (cpu, children, server)


class _Recorded(spark_engine.SparkCustomers):
    """The customers of each Spark run, kept to say what their steps sent to the driver."""

    made: ClassVar[list[spark_engine.SparkCustomers]] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.made.append(self)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--masters", default="local[2],local[1]")
    args = parser.parse_args()
    spark_engine.SparkCustomers = _Recorded  # what the batch service makes for each run
    console = Console()
    start_load = os.getloadavg()[0]
    db = fresh_database()
    console.print(f"Loading {args.customers:,} customers and ~{args.transactions:,} purchases…")
    load(db, args.customers, args.transactions)
    rows: list[tuple[str, float, tuple[float, float, float]]] = []

    def measured(what: str, wall: float, cpu: tuple[float, float, float]) -> None:
        rows.append((what, wall, cpu))  # and said at once: a run that fails later keeps it
        console.print(f"{what}: {wall:.1f} s wall, CPU driver/JVM+workers/PostgreSQL {cpu}")

    with tempfile.TemporaryDirectory(prefix="bench-spark-") as scratch:
        folder = Path(scratch)

        def export():
            return service.export_parquet(db, directory=folder, as_of=AS_OF, source="imported")

        _, wall, cpu = _timed(export, db)
        measured("Parquet export (once, shared)", wall, cpu)

        def run(engine: str, session=None):
            return service.run(
                db,
                actor=SYSTEM,
                job="score",
                engine=engine,
                as_of=AS_OF,
                source="imported",
                refit=True,
                parquet=folder,
                spark=session,
            )

        local, wall, cpu = _timed(lambda: run("local"), db)
        measured("[bold]local: egards score path[/]", wall, cpu)
        for master in args.masters.split(","):
            session, wall, cpu = _timed(lambda m=master: spark_engine.session(m), db)
            master = session.sparkContext.master  # the one the session really runs on
            measured(f"Spark {master}: session start", wall, cpu)
            outcome, wall, cpu = _timed(lambda s=session: run("spark", s), db)
            assert outcome.counts == local.counts, (outcome.counts, local.counts)
            measured(f"[bold]Spark {master}: batch run score[/]", wall, cpu)
            console.print(
                f"rows received by the driver: {_Recorded.made[-1].received}, against "
                f"{outcome.counts['purchase_days']:,} customer-days"
            )
            session.stop()
    table = Table(
        title=f"Scoring {local.counts['transactions']:,} transactions of "
        f"{local.counts['customers_scored']:,} customers "
        f"(PostgreSQL, load average {start_load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end)"
    )
    table.add_column("what")
    table.add_column("wall s", justify="right")
    table.add_column("driver CPU s", justify="right")
    table.add_column("JVM + workers CPU s", justify="right")
    table.add_column("PostgreSQL CPU s", justify="right")
    table.add_column("all CPU s", justify="right")
    for what, wall, (driver, children, server) in rows:
        table.add_row(
            what,
            f"{wall:.1f}",
            f"{driver:.1f}",
            f"{children:.1f}",
            f"{server:.1f}",
            f"{driver + children + server:.1f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
