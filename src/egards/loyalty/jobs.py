"""Nightly loyalty work for the worker: close ended qualification periods, lapse points."""

from __future__ import annotations

from egards.accounts.domain import SYSTEM
from egards.bulk import chunks
from egards.loyalty import service
from egards.worker import Job, JobContext

# Members per transaction of the expiry: each holds SQLite's write lock (or these members'
# row locks) for a fraction of a second, so the console's requests pass in between.
EXPIRY_BATCH = 100


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


# Both are idempotent for a day (expiry keys carry the date), so an hourly pass is harmless;
# with nothing due it reads two indexed queries' worth.
JOBS = [Job(name="loyalty-period-ends", run=_period_ends, every=3600.0, order=400)]
