"""Nightly loyalty work for the worker: close ended qualification periods, lapse points."""

from __future__ import annotations

from egards.accounts.domain import SYSTEM
from egards.loyalty import service
from egards.worker import Job, JobContext


def _period_ends(context: JobContext) -> str:
    today = context.now.date()
    with context.db.unit_of_work() as session:
        requalified = service.requalify(session, actor=SYSTEM, as_of=today)
    with context.db.unit_of_work() as session:
        expired = service.expire_points(session, actor=SYSTEM, as_of=today)
    return (
        f"{requalified['members']} periods closed ({requalified['changed']} tier changes), "
        f"{expired['expired_points']} points expired"
    )


# Both are idempotent for a day (expiry keys carry the date), so an hourly pass is harmless.
JOBS = [Job(name="loyalty-period-ends", run=_period_ends, every=3600.0, order=400)]
