"""Worker jobs of the voice of the customer: the one reminder of an unanswered survey."""

from __future__ import annotations

from egards.voice import service
from egards.worker import Job, JobContext


def _reminders(context: JobContext) -> str:
    with context.db.unit_of_work() as session:
        sent = service.send_reminders(session, now=context.now)
    return f"{sent} survey reminders"


JOBS = [Job(name="voice-survey-reminders", run=_reminders, every=3600.0)]
