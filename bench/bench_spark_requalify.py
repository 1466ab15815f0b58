"""Requalification on Spark beside the single-machine job, on two identical PostgreSQL scratch
databases (dropped after the run).

    python bench/bench_spark_requalify.py --members 100000

Writes ``--members`` Flying Blue members whose states the pure rules produced (as
bench_loyalty.py does, same seed in both databases), then times ``egards batch run requalify``
on the local engine in one database and on Spark ``--master`` in the other, and checks that
both end with the same member states. Driver CPU is this process's; the JVM's and the Python
workers' are not in it.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from bench_loyalty import REQUALIFY_ON, fresh_database, lived_state, members
from rich.console import Console
from rich.table import Table
from sqlalchemy import Text, cast, select

from egards.accounts.domain import SYSTEM
from egards.batch import service
from egards.batch import spark as spark_engine
from egards.loyalty import service as loyalty
from egards.loyalty.models import Member


def _timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _states(db) -> list[tuple]:
    with db.unit_of_work() as session:
        return list(
            session.execute(select(Member.id, cast(Member.tier_state, Text)).order_by(Member.id))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="Requalification on Spark beside the local job.")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    console = Console()
    programme = loyalty.get_programme("flying_blue")
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-spark-rq-") as scratch:
        dbs = []
        for suffix in ("_local", "_spark"):
            db = fresh_database("postgresql", Path(scratch), suffix)
            rng = random.Random(21)
            members(db, args.members, states=lambda _id, rng=rng: lived_state(rng, programme))
            dbs.append(db)
        local, wall, cpu = _timed(
            lambda: service.run(dbs[0], actor=SYSTEM, job="requalify", as_of=REQUALIFY_ON)
        )
        rows.append(("local: batch run requalify", wall, cpu))
        session, wall, cpu = _timed(lambda: spark_engine.session(args.master))
        rows.append((f"Spark {args.master}: session start", wall, cpu))
        on_spark, wall, cpu = _timed(
            lambda: service.run(
                dbs[1],
                actor=SYSTEM,
                job="requalify",
                engine="spark",
                master=args.master,
                as_of=REQUALIFY_ON,
                spark=session,
            )
        )
        rows.append((f"Spark {args.master}: batch run requalify", wall, cpu))
        session.stop()
    assert local.counts == on_spark.counts, (local.counts, on_spark.counts)
    assert _states(dbs[0]) == _states(dbs[1]), "the engines disagree"
    table = Table("step", "wall s", "driver CPU s", title=f"Requalify {args.members:,} members")
    for name, wall, cpu in rows:
        table.add_row(name, f"{wall:.1f}", f"{cpu:.1f}")
    console.print(table)
    console.print(f"counts: {local.counts}; the same member states on both engines")


if __name__ == "__main__":
    main()
