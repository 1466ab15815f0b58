"""Where the bulk path's CPU goes per activity, phase by phase (issue 15).

    PYTHONPATH=src:bench python bench/profile_loyalty.py --scenario steady --members 20000
        [--entries 200] [--batch 10000] [--cprofile out.prof]

Sets the scenario up as ``bench_loyalty.py`` does (steady: members holding ``--entries``
entries, then a day of one or two flights each; fresh: ``--activities`` flights over 600
days), then records the measured part with each phase of ``record_histories`` wrapped in a
timer of its thread's CPU (the writer runs in a thread of its own) and the PostgreSQL
backends' CPU read from /proc. ``--cprofile``: the measured part under cProfile as well (the
calling thread only; slower, so its figures are read as shares, not as µs).
"""

from __future__ import annotations

import argparse
import cProfile
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import _cpu
import bench_loyalty as bench
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from egards.db import Database, make_engine
from egards.loyalty import domain, fast
from egards.loyalty.models import Member
from egards.loyalty.service import history_bulk

_spent: dict[str, float] = defaultdict(float)
_wall: dict[str, float] = defaultdict(float)
_calls: dict[str, int] = defaultdict(int)
_server: dict[str, float] = defaultdict(float)  # the session's backend's CPU, by phase


def _backend(args: tuple) -> int | None:
    """The backend pid of the session a phase works on (its first argument), if any."""
    session = args[0] if args else None
    if not isinstance(session, Session):
        return None
    return session.connection().connection.driver_connection.info.backend_pid


def _labelled(label: str, args: tuple) -> str:
    for value in args[1:3]:  # a table, a prepared COPY naming its table, or a prepared UPDATE
        name = getattr(value, "name", None) or getattr(value, "table", None)
        if name is None and isinstance(getattr(value, "statement", None), str):
            name = value.statement.split()[1]
        if isinstance(name, str):
            return f"{label} {name}"
    return label


def _timed(owner, name: str, label: str, by_table: bool = False) -> None:
    inner = getattr(owner, name)

    def wrapper(*args, **kwargs):
        shown = _labelled(label, args) if by_table else label
        pid = _backend(args)
        ticks = _cpu.ticks(pid) if pid else 0
        start, clock = time.thread_time(), time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            _spent[shown] += time.thread_time() - start
            _wall[shown] += time.perf_counter() - clock
            _calls[shown] += 1
            if pid:
                _server[shown] += (_cpu.ticks(pid) - ticks) / _cpu.HERTZ

    setattr(owner, name, wrapper)


def _instrument() -> None:
    hb = history_bulk
    _timed(hb, "_lock_many", "lock and read members (one query)")
    _timed(domain, "validate_activity", "validate activities")
    _timed(hb, "_read", "read stored state (balances, caps, refunds' originals)")
    _timed(hb, "_refuse_stored_keys", "  keys looked for in the history")
    _timed(hb, "_taken", "  entries without an activity, by key")
    _timed(hb, "_stored_originals", "  refunds' originals")
    _timed(hb, "_applied_histories", "compute chunk (all below)")
    _timed(fast, "count_plain", "  earning + tier loop (fast.count_plain)")
    _timed(hb, "_history_row", "  activity row: payload + content hash")
    _timed(hb._Context, "add_plain_lines", "  activity/entry/bucket COPY text (fast path)")
    _timed(hb, "_check_references", "references checked per chunk")
    _timed(hb, "prepare_copy", "COPY text of activities/balances/… rows")
    _timed(hb, "copy_of_lines", "COPY text joined and encoded")
    _timed(hb, "write_prepared_copy", "writer thread: COPY", by_table=True)
    _timed(hb, "bulk_update", "writer thread: UPDATE", by_table=True)
    _timed(hb, "write_prepared_update", "writer thread: UPDATE", by_table=True)
    _timed(hb, "_rewrite", "writer thread: deleted stored rows")
    _timed(hb, "_write_chunk", "writer thread: whole chunk")
    _timed(hb, "_record_histories", "record_histories, whole")


def _admin():
    server = bench.PG_URL.rsplit("/", 1)[0]
    return make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT"), server


def _exists(name: str) -> bool:
    admin, _ = _admin()
    with admin.connect() as connection:
        found = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
    admin.dispose()
    return found is not None


def _keep(db: Database, name: str) -> None:
    """A copy of the set-up database under ``name``, kept after the run."""
    db.engine.dispose()
    admin, _ = _admin()
    with admin.connect() as connection:
        connection.execute(
            text(f'CREATE DATABASE "{name}" TEMPLATE "{db.engine.url.database}" STRATEGY FILE_COPY')
        )
    admin.dispose()


def _copied(name: str) -> Database:
    """A copy of the template ``name`` under the bench database's name, dropped at exit."""
    server, run = bench.PG_URL.rsplit("/", 1)
    return Database(bench._created(server, run, template=name))


def _updates(db: Database) -> dict[str, tuple[int, int]]:
    """Rows updated and of those, heap-only (no index written), by hot table: whether the
    members' and balances' rewrites stay on their page (fillfactor) and skip their indexes.
    The statistics reach the view a moment after the writing transaction ends."""
    time.sleep(1.5)
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        return {
            name: (updated, hot)
            for name, updated, hot in connection.exec_driver_sql(
                "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
                " WHERE relname IN ('loyalty_members', 'loyalty_balances')"
            )
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=["fresh", "steady"], default="steady")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--cprofile", type=Path)
    parser.add_argument(
        "--template",
        help="steady: a database keeping the members and their held entries (made on the "
        "first run, copied by later ones: the setup takes minutes)",
    )
    args = parser.parse_args()
    if args.template and _exists(args.template):
        db = _copied(args.template)
        with db.unit_of_work() as session:
            member_ids = list(session.scalars(select(Member.id).order_by(Member.id)))
    else:
        db = bench.fresh_database("postgresql", Path(tempfile.mkdtemp()))
        member_ids = bench.members(db, args.members)
        if args.scenario == "steady":
            bench.hold_histories(db, member_ids, args.entries, args.batch)
        if args.template:
            _keep(db, args.template)
    if args.scenario == "steady":
        rng = random.Random(11)
        day = {
            m: [
                domain.Activity(
                    key=f"d{m}-{n}",
                    kind="flight",
                    on=bench.TODAY,
                    amounts={"fare": rng.randint(100, 3000) * 100, "taxes": 2000},
                    attributes={"cabin": "economy", "distance_miles": 1500, "domestic": False},
                )
                for n in range(rng.choice([1, 2]))
            ]
            for m in member_ids
        }
    else:
        rng = random.Random(5)
        per = args.activities // args.members
        day = {m: bench.activities_for(rng, m, per) for m in member_ids}
    if not args.cprofile:  # the timers would distort cProfile's figures
        _instrument()
    profiler = cProfile.Profile(time.thread_time) if args.cprofile else None
    updates = _updates(db)
    clocks = _cpu.cpu_clocks(db)
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    done = bench.record(db, member_ids, day.__getitem__, args.batch)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.cprofile)
    wall = time.perf_counter() - start
    python, server = _cpu.cpu_spent(db, clocks)
    print(f"{args.scenario}: {done:,} activities of {args.members:,} members in {wall:.1f} s wall")
    print(
        f"{'phase':60} {'Python CPU':>11} {'PG CPU':>8} {'wall':>8} {'calls':>7}"
        "  (µs per activity; PG: the session's backend, 10 ms ticks)"
    )
    for label, seconds in _spent.items():
        backend = f"{_server[label] * 1e6 / done:8.1f}" if label in _server else " " * 8
        print(
            f"{label:60} {seconds * 1e6 / done:11.1f} {backend} {_wall[label] * 1e6 / done:8.1f}"
            f" {_calls[label]:7,}"
        )
    print(f"{'Python CPU, whole process (process_time)':60} {python * 1e6 / done:12.1f}")
    print(f"{'PostgreSQL backends CPU':60} {server * 1e6 / done:12.1f}")
    for name, (updated, hot) in _updates(db).items():
        before, hot_before = updates.get(name, (0, 0))
        print(f"{name}: {updated - before:,} rows updated, {hot - hot_before:,} of them HOT")


if __name__ == "__main__":
    main()
