"""Worker jobs of the voice of the customer: the one reminder of an unanswered survey, and
the relationship NPS wave when it is due (every ``EGARDS_VOICE_NPS_CADENCE_DAYS``)."""

from __future__ import annotations

from egards.voice import service
from egards.worker import Job, JobContext


def _reminders(context: JobContext) -> str:
    with context.db.unit_of_work() as session:
        sent = service.send_reminders(session, now=context.now)
    return f"{sent} survey reminders"


def _nps(context: JobContext) -> str:
    with context.db.unit_of_work() as session:
        asked = service.send_nps_wave(session, now=context.now)
    return f"{asked} customers asked for their NPS" if asked else "no NPS wave due"


JOBS = [
    Job(name="voice-survey-reminders", run=_reminders, every=3600.0),
    Job(name="voice-nps-wave", run=_nps, every=6 * 3600.0),
]
