"""`egards worker`: background jobs (SLA sweeps and escalations, outgoing mail, IMAP polling).

Each feature lists its jobs in ``<feature>/jobs.py`` as ``JOBS``. A job opens its own units
of work: one failing job is logged and retried at the next pass, and never stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from egards.config import Settings
from egards.db import Database, utcnow

log = logging.getLogger("egards.worker")


@dataclass(frozen=True)
class JobContext:
    db: Database
    settings: Settings
    mailer: object
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


def registered_jobs(settings: Settings) -> list[Job]:
    from egards.features import modules

    jobs: list[Job] = []
    for _, module in modules("jobs"):
        jobs.extend(job for job in module.JOBS if job.enabled(settings))
    return sorted(jobs, key=lambda job: job.order)


def run_once(
    db: Database,
    settings: Settings,
    *,
    mailer: object | None = None,
    now: datetime | None = None,
    only: set[str] | None = None,
) -> dict[str, str]:
    """Run every job once (``now`` fixed by tests); returns each job's report or error."""
    from egards.outbox.service import mailer_from_settings

    context = JobContext(
        db=db,
        settings=settings,
        mailer=mailer or mailer_from_settings(settings),
        now=now or utcnow(),
    )
    results: dict[str, str] = {}
    for job in registered_jobs(settings):
        if only and job.name not in only:
            continue
        try:
            results[job.name] = job.run(context)
        except Exception as exc:
            log.exception("job %s failed", job.name)
            results[job.name] = f"error: {type(exc).__name__}: {exc}"
    return results


def run_forever(
    db: Database,
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    mailer: object | None = None,
    report: Callable[[str, str], None] | None = None,
) -> None:
    """Loop until ``stop`` is set, running each job when its interval has passed."""
    from egards.outbox.service import mailer_from_settings

    stop = stop or threading.Event()
    mailer = mailer or mailer_from_settings(settings)
    jobs = registered_jobs(settings)
    last_run: dict[str, float] = {}
    while not stop.is_set():
        for job in jobs:
            every = min(job.every, settings.worker_interval)
            if time.monotonic() - last_run.get(job.name, -1e9) < every:
                continue
            last_run[job.name] = time.monotonic()
            context = JobContext(db=db, settings=settings, mailer=mailer, now=utcnow())
            try:
                result = job.run(context)
            except Exception as exc:
                log.exception("job %s failed", job.name)
                result = f"error: {type(exc).__name__}: {exc}"
            if report:
                report(job.name, result)
        stop.wait(1.0)
