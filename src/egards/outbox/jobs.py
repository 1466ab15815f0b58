"""The worker job of the outbox: deliver what is due."""

from __future__ import annotations

from egards.outbox import service
from egards.worker import Job, JobContext


def _deliver(context: JobContext) -> str:
    return str(service.deliver_due(context.db, mailer=context.mailer, now=context.now))


JOBS = [Job(name="outbox", run=_deliver, every=10.0, order=900)]
