"""The nightly jobs the worker runs besides the cases' sweeps and the outbox."""

from __future__ import annotations

from egards.worker import registered_jobs, run_once


def test_every_feature_registers_its_jobs(settings):
    names = {job.name for job in registered_jobs(settings)}
    assert {"loyalty-period-ends", "nightly-score", "outbox"} <= names


def test_nightly_jobs_run_and_report_on_an_empty_population(db, settings):
    results = run_once(db, settings, only={"loyalty-period-ends", "nightly-score"})
    assert results["loyalty-period-ends"].startswith("0 periods closed")
    assert results["nightly-score"].startswith("not scored")
