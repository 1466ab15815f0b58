"""Worker jobs of service recovery: supervisors are reminded of decisions past their promise."""

from __future__ import annotations

from egards.recovery import service
from egards.worker import Job, JobContext


def _overdue(context: JobContext) -> str:
    return service.remind_overdue(context.db, sender=context.settings.mail_from, now=context.now)


JOBS = [Job(name="recovery-overdue-approvals", run=_overdue, every=900.0)]
