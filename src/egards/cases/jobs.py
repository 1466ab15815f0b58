"""Worker jobs of cases: the SLA sweep with escalations, and IMAP polling."""

from __future__ import annotations

from egards.cases import mail, service
from egards.worker import Job, JobContext

# Cases per transaction of the sweep: a case's escalation steps write a few rows each
# (about 40 ms a case), so a batch holds SQLite's write lock well under a second.
SWEEP_BATCH = 20


def _sweep(context: JobContext) -> str:
    config = service.config_from_settings(context.settings)
    return str(service.sweep(context.db, config=config, now=context.now, batch=SWEEP_BATCH))


def _imap(context: JobContext) -> str:
    return mail.poll_imap(
        context.db,
        service.config_from_settings(context.settings),
        mail.ImapAccount.from_settings(context.settings),
        now=context.now,
    )


JOBS = [
    Job(name="sla_sweep", run=_sweep, every=30.0),
    Job(name="imap", run=_imap, every=60.0, enabled=lambda settings: bool(settings.imap_host)),
]
