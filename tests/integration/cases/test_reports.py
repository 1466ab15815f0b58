"""The reports page's figures, computed by the service: counts, hour bins, compliance."""

from __future__ import annotations

from datetime import timedelta

from egards.accounts.domain import Actor, Role
from egards.cases import service
from tests.integration.cases.conftest import log_call

SUPERVISOR = Actor(label="supervisor", role=Role.SUPERVISOR)


def figures(db, clock):
    with db.unit_of_work() as session:
        return service.report_figures(
            session,
            actor=SUPERVISOR,
            since=clock.now - timedelta(days=1),
            until=clock.now + timedelta(seconds=1),
            now=clock.now,
            backlog_days=1,
        )


def test_first_response_compliance_counts_only_cases_whose_promise_is_decided(
    client, agent, db, clock
):
    answered = log_call(client, agent, subject="Answered at once")["case"]
    client.post(
        f"/api/v1/cases/{answered['id']}/replies", json={"body": "Voilà."}, headers=agent.headers
    ).raise_for_status()
    log_call(client, agent, subject="Left unanswered")
    clock.advance(hours=9)  # past the 8-hour promise of the second case
    log_call(client, agent, subject="Just opened")  # its promise still runs: not counted

    report = figures(db, clock)

    assert (report["total"], report["answered"], report["breached"]) == (3, 1, 1)
    by_team = report["charts"]["by_team"]
    assert (by_team["labels"], by_team["values"], by_team["counts"]) == (
        [answered["team"]],
        [50.0],
        [2],
    )
    # The one answer came within the hour: the first of the hour bins.
    assert report["charts"]["first_response"] == [1, 0, 0, 0, 0, 0, 0, 0]
    assert report["charts"]["bins"][0] == "0–1 h" and report["charts"]["bins"][-1] == "> 96 h"
