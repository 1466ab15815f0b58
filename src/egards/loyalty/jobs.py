"""Loyalty work for the worker: close ended qualification periods, lapse points (nightly),
merge the recent activities, entries and buckets into the history (weekly by default)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from egards.accounts.domain import SYSTEM
from egards.bulk import chunks
from egards.db import Database
from egards.loyalty import service
from egards.loyalty.settings import get_loyalty_settings
from egards.worker import Job, JobContext

# Members per transaction of the expiry: each holds SQLite's write lock (or these members'
# row locks) for a fraction of a second, so the console's requests pass in between.
EXPIRY_BATCH = 100
# Members per transaction of a merge: their rows move in about a second, their operations
# wait that long.
MERGE_BATCH = 10_000


def _period_ends(context: JobContext) -> str:
    today = context.now.date()
    with context.db.unit_of_work() as session:
        requalified = service.requalify(session, actor=SYSTEM, as_of=today)
    with context.db.unit_of_work() as session:
        candidates = service.expiry_candidates(session, as_of=today)
    expired = 0
    for batch in chunks(candidates, EXPIRY_BATCH):
        with context.db.unit_of_work() as session:
            counts = service.expire_points(session, actor=SYSTEM, as_of=today, member_ids=batch)
        expired += counts["expired_points"]
    return (
        f"{requalified['members']} periods closed ({requalified['changed']} tier changes), "
        f"{expired} points expired"
    )


def merge_recent_rows(
    db: Database, progress: Callable[[int, int], None] = lambda done, members: None
) -> int:
    """Every recent row moved into the history, ``MERGE_BATCH`` members per unit of work
    (``progress`` told after each how many members are done, of how many); the number of
    rows moved."""
    with db.unit_of_work() as session:
        members = service.recent_members(session)
    moved = done = 0
    for batch in chunks(members, MERGE_BATCH):
        with db.unit_of_work() as session:
            moved += service.merge_recent(session, actor=SYSTEM, member_ids=batch)
        done += len(batch)
        progress(done, len(members))
    if members:
        # The recent rows' space free for the next days', and the history's new pages marked
        # all-visible, so that looking a key up there reads its index only; both tables'
        # statistics new. Only what changed is visited.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"VACUUM ANALYZE {', '.join(service.LEDGER_PARTITIONS)}")
    return moved


def _merge(context: JobContext) -> str:
    with context.db.unit_of_work() as session:
        oldest = service.oldest_recent(session)
    due = context.now - timedelta(days=get_loyalty_settings().merge_days)
    if oldest is None or oldest > due:
        return "no recent rows due for merging"
    return f"{merge_recent_rows(context.db):,} recent rows merged into the history"


# Both are idempotent for a day (expiry keys carry the date), so an hourly pass is harmless;
# with nothing due it reads two indexed queries' worth. The merge reads the oldest recent
# entry (a pass over a table of the days since the last merge).
JOBS = [
    Job(name="loyalty-period-ends", run=_period_ends, every=3600.0, order=400),
    Job(name="loyalty-merge-recent-rows", run=_merge, every=3600.0, order=410),
]
