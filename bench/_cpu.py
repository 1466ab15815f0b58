"""CPU time of the processes a benchmark sets to work, read from /proc (everything runs on
this host): on a machine whose cores are shared, CPU says what wall time cannot."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from egards.db import Database

HERTZ = os.sysconf("SC_CLK_TCK")


def ticks(pid: int) -> int:
    """User and system CPU of a process, in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def backends(db: Database) -> list[int]:
    """The PostgreSQL backends of the bench database (none on SQLite)."""
    if db.dialect != "postgresql":
        return []
    with db.engine.connect() as connection:
        return list(
            connection.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            ).scalars()
        )


def descendants() -> list[int]:
    """This process's descendants (Spark's JVM, its Python workers), by their parent ids."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [os.getpid()]
    while queue:
        children = parents.get(queue.pop(), [])
        found += children
        queue += children
    return found


def clocks(pids: Iterable[int]) -> dict[int, int]:
    return {pid: ticks(pid) for pid in pids}


def seconds_since(before: dict[int, int], pids: Iterable[int]) -> float:
    """CPU seconds of ``pids`` since ``before`` (a process that appeared since counted whole)."""
    return sum(ticks(pid) - before.get(pid, 0) for pid in pids) / HERTZ


def cpu_clocks(db: Database) -> tuple[float, dict[int, int]]:
    """This process's CPU time and each backend's ticks, for :func:`cpu_spent`."""
    return time.process_time(), clocks(backends(db))


def cpu_spent(db: Database, since: tuple[float, dict[int, int]]) -> tuple[float, float]:
    """Seconds of CPU since ``since``: this process (its threads included), then the
    database's backends."""
    python, before = since
    return time.process_time() - python, seconds_since(before, backends(db))
