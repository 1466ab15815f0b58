"""The nightly scoring, run by the worker once the last run is a day old."""

from __future__ import annotations

from datetime import timedelta

from egards.accounts.domain import SYSTEM
from egards.analytics import service
from egards.errors import DomainError
from egards.i18n import render_message
from egards.worker import Job, JobContext


def _nightly_score(context: JobContext) -> str:
    """At most one attempt a day: a run that failed (too little data, say) is not retried at
    every pass; its cause stays on the run, and the next night tries again."""
    with context.db.unit_of_work() as session:
        last = service.latest_run(session, succeeded=False)
        if last is not None and last.created_at > context.now - timedelta(hours=20):
            if last.status == "failed":
                cause = render_message("en", last.error_message)
                return f"not scored: run {last.id} failed ({cause}); next attempt tomorrow"
            if last.status != "succeeded":
                return f"run {last.id} is {last.status}"
            return f"scores from run {last.id} are fresh"
    try:
        outcome = service.score(context.db, actor=SYSTEM, as_of=context.now.date())
    except DomainError as error:  # recorded on the run; the previous scores stay
        return f"not scored: {error.message}"
    return f"{outcome.counts['customers_scored']:,} customers scored ({outcome.model_version})"


# A full scoring of a large population takes minutes: `worker --once` waits up to an hour.
JOBS = [Job(name="nightly-score", run=_nightly_score, every=3600.0, order=500, budget=3600.0)]
