"""Worker jobs of subscriptions: contracts whose notice ran out end; suspended contracts resume
at their end date; win-back contacts that are
due go out (an e-mail with consent, else a call task in the cancellations queue)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from egards.subscriptions import service
from egards.worker import Job, JobContext

PARIS = ZoneInfo("Europe/Paris")


def _end_due(context: JobContext) -> str:
    with context.db.unit_of_work() as session:
        ended = service.end_due(
            session, today=context.now.astimezone(PARIS).date(), now=context.now
        )
    return f"{ended} contract(s) ended"


def _resume_due(context: JobContext) -> str:
    with context.db.unit_of_work() as session:
        resumed = service.resume_due(
            session, today=context.now.astimezone(PARIS).date(), now=context.now
        )
    return f"{resumed} contract(s) resumed"


def _winbacks(context: JobContext) -> str:
    with context.db.unit_of_work() as session:
        done = service.contact_winbacks(
            session,
            settings=context.settings,
            today=context.now.astimezone(PARIS).date(),
            now=context.now,
        )
    return f"{done} win-back contact(s)"


JOBS = [
    Job(name="subscriptions-end-due", run=_end_due, every=3600.0, order=40),
    Job(name="subscriptions-resume-due", run=_resume_due, every=3600.0, order=42),
    Job(name="subscriptions-winback", run=_winbacks, every=3600.0, order=45),
]
