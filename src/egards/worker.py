"""`egards worker`: background jobs (SLA sweeps and escalations, outgoing mail, IMAP polling).

Each feature lists its jobs in ``<feature>/jobs.py`` as ``JOBS``. A job opens its own units
of work, short ones (batches), so that it never holds SQLite's write lock or a row lock long
enough to stall the console. The worker runs each job on its own thread and schedule: a slow,
hung or failing job delays only itself; a failing one is logged and retried later, backing off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from egards.config import Settings
from egards.db import Database, utcnow
from egards.features import hooks

log = logging.getLogger("egards.worker")


class Mailer(Protocol):
    """Sends one e-mail or raises; nothing else (the outbox's SMTP, null and memory mailers)."""

    def send(self, message: EmailMessage) -> None: ...


def mailer_from_settings(settings: Settings) -> Mailer:
    """The configured mailer, made by the feature that sends mail (the outbox's
    ``service.mailer_from_settings``), found through the seams."""
    for _feature, make in hooks("service", "mailer_from_settings"):
        return make(settings)
    raise RuntimeError("no feature provides service.mailer_from_settings")


@dataclass(frozen=True)
class JobContext:
    db: Database
    settings: Settings
    mailer: Mailer
    now: datetime


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[JobContext], str]
    every: float = 30.0
    """Seconds between two runs when the worker loops."""
    enabled: Callable[[Settings], bool] = field(default=lambda settings: True)
    order: int = 100
    """Lower runs first in a pass: sweeps before the outbox, so what they queue leaves."""
    budget: float = 600.0
    """Seconds ``run_once`` waits for the job before reporting it failed and going on."""


ERROR = "error: "
# Longest pause of a job that keeps failing (its interval doubles after each failure).
MAX_BACKOFF = 3600.0


def registered_jobs(settings: Settings) -> list[Job]:
    from egards.features import modules

    jobs: list[Job] = []
    for _, module in modules("jobs"):
        jobs.extend(job for job in module.JOBS if job.enabled(settings))
    return sorted(jobs, key=lambda job: job.order)


def failed(results: dict[str, str]) -> list[str]:
    """The jobs of a ``run_once`` report that failed."""
    return [name for name, result in results.items() if result.startswith(ERROR)]


def _run(job: Job, context: JobContext, *, quiet: bool = False) -> str:
    try:
        return job.run(context)
    except Exception as exc:
        if quiet:  # the traceback was logged at the first failure of this streak
            log.error("job %s failed again: %s: %s", job.name, type(exc).__name__, exc)
        else:
            log.exception("job %s failed", job.name)
        return f"{ERROR}{type(exc).__name__}: {exc}"


def run_once(
    db: Database,
    settings: Settings,
    *,
    mailer: Mailer | None = None,
    now: datetime | None = None,
    only: set[str] | None = None,
    jobs: list[Job] | None = None,
) -> dict[str, str]:
    """Run every job once, in order (``now`` fixed by tests); returns each job's report or
    error. A job still running after its budget is reported as failed and left behind on its
    thread, so that the next jobs run."""
    context = JobContext(
        db=db,
        settings=settings,
        mailer=mailer or mailer_from_settings(settings),
        now=now or utcnow(),
    )
    results: dict[str, str] = {}
    for job in jobs or registered_jobs(settings):
        if only and job.name not in only:
            continue
        outcome: list[str] = []
        thread = threading.Thread(
            target=lambda job=job, outcome=outcome: outcome.append(_run(job, context)),
            name=f"egards-job-{job.name}",
            daemon=True,
        )
        thread.start()
        thread.join(job.budget)
        if outcome:
            results[job.name] = outcome[0]
        else:
            log.error("job %s still running after %g s; going on", job.name, job.budget)
            results[job.name] = f"{ERROR}still running after {job.budget:g} s"
    return results


def run_forever(
    db: Database,
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    mailer: Mailer | None = None,
    report: Callable[[str, str], None] | None = None,
    jobs: list[Job] | None = None,
) -> None:
    """Run each job on its own thread, every ``job.every`` seconds (at most the configured
    worker interval), until ``stop`` is set."""
    stop = stop or threading.Event()
    mailer = mailer or mailer_from_settings(settings)

    def keep_running(job: Job) -> None:
        every = min(job.every, settings.worker_interval)
        failures = 0
        while not stop.is_set():
            context = JobContext(db=db, settings=settings, mailer=mailer, now=utcnow())
            result = _run(job, context, quiet=failures > 0)
            failures = failures + 1 if result.startswith(ERROR) else 0
            if report:
                report(job.name, result)
            stop.wait(min(every * 2 ** min(failures, 12), max(every, MAX_BACKOFF)))

    threads = [
        threading.Thread(
            target=keep_running, args=(job,), name=f"egards-job-{job.name}", daemon=True
        )
        for job in jobs or registered_jobs(settings)
    ]
    for thread in threads:
        thread.start()
    while not stop.wait(1.0):
        pass
    for thread in threads:
        thread.join(timeout=5.0)
