"""The nightly jobs the worker runs besides the cases' sweeps and the outbox."""

from __future__ import annotations

import logging
import socket
import threading
import time

from egards.worker import Job, failed, registered_jobs, run_forever, run_once
from tests.integration.test_cli import run


def test_every_feature_registers_its_jobs(settings):
    names = {job.name for job in registered_jobs(settings)}
    assert {"loyalty-period-ends", "nightly-score", "outbox"} <= names


def test_nightly_jobs_run_and_report_on_an_empty_population(db, settings):
    results = run_once(db, settings, only={"loyalty-period-ends", "nightly-score"})
    assert results["loyalty-period-ends"].startswith("0 periods closed")
    assert results["nightly-score"].startswith("not scored")


def test_a_hung_job_is_reported_failed_after_its_budget_and_the_next_jobs_still_run(db, settings):
    release = threading.Event()
    hung = Job(name="hung", run=lambda context: str(release.wait(30)), order=1, budget=0.3)
    after = Job(name="after", run=lambda context: "done", order=2)
    try:
        results = run_once(db, settings, jobs=[hung, after])
    finally:
        release.set()
    assert results == {"hung": "error: still running after 0.3 s", "after": "done"}
    assert failed(results) == ["hung"]


def test_the_looping_worker_keeps_running_every_job_while_one_hangs(db, settings):
    settings.worker_interval = 0.05
    release, stop, ran_thrice = threading.Event(), threading.Event(), threading.Event()
    reports: list[tuple[str, str]] = []

    def quick(context):
        if sum(name == "quick" for name, _ in reports) >= 2:
            ran_thrice.set()
        return "done"

    jobs = [
        Job(name="hung", run=lambda context: str(release.wait(30))),
        Job(name="quick", run=quick),
    ]
    worker = threading.Thread(
        target=run_forever,
        args=(db, settings),
        kwargs={"stop": stop, "jobs": jobs, "report": lambda *r: reports.append(r)},
    )
    worker.start()
    try:
        assert ran_thrice.wait(10)
    finally:
        release.set()
        stop.set()
        worker.join(10)
    assert not worker.is_alive()
    assert reports[:3] == [("quick", "done")] * 3


def test_a_failing_job_backs_off_and_logs_its_traceback_once(db, settings, caplog):
    settings.worker_interval = 0.05
    stop = threading.Event()
    runs: list[str] = []

    def refused(context):
        raise ConnectionRefusedError("IMAP server refused the login")

    worker = threading.Thread(
        target=run_forever,
        args=(db, settings),
        kwargs={
            "stop": stop,
            "jobs": [Job(name="imap", run=refused)],
            "report": lambda name, result: runs.append(result),
        },
    )
    with caplog.at_level(logging.ERROR, logger="egards.worker"):
        worker.start()
        time.sleep(1.0)
        stop.set()
        worker.join(10)
    # Every 0.05 s without a back-off (about 20 runs); 0.1, 0.2, 0.4, 0.8 s with it.
    assert 2 <= len(runs) <= 5, runs
    assert all(result.startswith("error: ConnectionRefusedError") for result in runs)
    assert sum(record.exc_info is not None for record in caplog.records) == 1


def test_worker_once_exits_non_zero_and_names_the_failed_job(tmp_path):
    assert run(["init"], tmp_path).exit_code == 0
    with socket.socket() as probe:  # a port nobody listens on: the IMAP poll is refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    result = run(
        ["worker", "--once"],
        tmp_path,
        env={"EGARDS_IMAP_HOST": "127.0.0.1", "EGARDS_IMAP_PORT": str(closed)},
    )
    assert result.exit_code == 1, result.output
    assert "failed: imap" in result.output
    assert "sla_sweep: " in result.output  # the other jobs ran and reported
