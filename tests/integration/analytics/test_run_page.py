"""A page per scoring run, and a customer's figures from past runs on the 360, on SQLite and
PostgreSQL."""

from __future__ import annotations

import re

from egards.accounts.domain import SYSTEM, Role
from egards.analytics import service
from egards.formats import format_number
from tests.conftest import login
from tests.integration.analytics.conftest import (
    AS_OF,
    add_customers,
    purchase_history,
    write_transactions,
)


def test_each_run_has_a_page_with_its_model_parameters_and_charts(client, make_person, population):
    run = service.score(client.app.state.db, actor=SYSTEM, as_of=AS_OF, source="imported")
    bg = run.report["value_models"]["bg_nbd"]
    supervisor = make_person(Role.SUPERVISOR)
    token = login(client, supervisor.email)
    client.post("/locale", data={"locale": "fr", "csrf_token": token, "next": "/analytics"})

    overview = client.get("/analytics").text
    runs = overview.split('id="runs"')[1]
    assert f'<a href="/analytics/runs/{run.run_id}">{run.run_id}</a>' in runs

    response = client.get(f"/analytics/runs/{run.run_id}")
    assert response.status_code == 200
    page = response.text
    assert f"Calcul des scores {run.run_id}" in page
    summary = page.split('id="run-summary"')[1].split("</section>")[0]
    # When, on how many customers and transactions, in French with Babel's marks.
    assert re.search(r"<dd>\d{1,2} \w+\.? \d{4}</dd>", summary)
    assert f"<dd>{len(population)}</dd>" in summary
    assert f"<dd>{run.model_version}</dd>" in summary
    # The purchase model's parameters with their standard errors, in the French format.
    parameters = page.split('id="purchase-model-parameters"')[1].split("</table>")[0]
    for name, value in bg["params"].items():
        row = parameters.split(f"<tr><td>{name}</td>")[1].split("</tr>")[0]
        assert f"<td>{format_number(round(value, 4), 'fr')}</td>" in row
        assert "—" not in row  # a standard error for every parameter
    # The spend model too, and the period-transactions chart drawn by the page's helper.
    assert 'id="spend-model-parameters"' in page
    chart = page.split('id="period-transactions"')[1].split("</section>")[0]
    assert "<svg" in chart and "Clients par nombre d’achats répétés" in chart
    assert 'id="run-settings"' in page and "<td>Horizon de la CLV en mois</td><td>12</td>" in page

    client.post("/locale", data={"locale": "en", "csrf_token": token, "next": "/analytics"})
    english = client.get(f"/analytics/runs/{run.run_id}").text
    assert f"Scoring run {run.run_id}" in english and ">actual</text>" in english


def test_a_run_that_reused_a_fit_points_to_the_run_that_fitted_it(client, make_person, population):
    db = client.app.state.db
    first = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    second = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    supervisor = make_person(Role.SUPERVISOR)
    login(client, supervisor.email)
    page = client.get(f"/analytics/runs/{second.run_id}").text
    reused = page.split('id="reused-fit"')[1].split("</section>")[0]
    assert f'<a href="/analytics/runs/{first.run_id}">' in reused
    assert 'id="purchase-model-parameters"' not in page
    assert 'id="reused-fit"' not in client.get(f"/analytics/runs/{first.run_id}").text


def test_agents_and_partners_cannot_open_a_run_and_a_missing_run_is_404(
    client, make_person, make_organisation, population
):
    run = service.score(client.app.state.db, actor=SYSTEM, as_of=AS_OF, source="imported")
    supervisor = make_person(Role.SUPERVISOR)
    login(client, supervisor.email)
    assert client.get(f"/analytics/runs/{run.run_id + 1000}").status_code == 404
    for person in (
        make_person(Role.AGENT),
        make_person(Role.PARTNER, organisation_id=make_organisation()),
    ):
        login(client, person.email)
        assert client.get(f"/analytics/runs/{run.run_id}").status_code == 403


def test_the_360_shows_probability_alive_from_past_runs(client, make_person, population):
    db = client.app.state.db
    first = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    second = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported", refit=True)
    with db.unit_of_work() as session:
        trend = service.customer_score(session, actor=SYSTEM, customer_id=population[0])["trend"]
    assert [t["run_id"] for t in trend] == [first.run_id, second.run_id]
    supervisor = make_person(Role.SUPERVISOR)
    token = login(client, supervisor.email)
    client.post("/locale", data={"locale": "en", "csrf_token": token, "next": "/analytics"})
    history = client.get(f"/customers/{population[0]}").text.split('id="value-history"')[1]
    rows = history.split("</table>")[0].split("<tr>")[2:]
    # Newest first, each run's P(alive) as a percentage, linked to the run's page.
    assert [re.search(r"/analytics/runs/(\d+)", row).group(1) for row in rows] == [  # type: ignore[union-attr]
        str(second.run_id),
        str(first.run_id),
    ]
    for row, t in zip(rows, reversed(trend), strict=True):
        assert f"<td>{round(t['probability_alive'] * 100)}%</td>" in row


def test_a_small_runs_skipped_spend_model_reads_in_french(client, db, make_person):
    """Twelve customers: too few repeat buyers for Gamma-Gamma, and the page says so in the
    reader's language, with the numbers of the run."""
    ids = add_customers(db, 12, prefix="SM")
    write_transactions(db, *purchase_history(ids))
    run = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    repeat = int(run.report["value_models"]["gamma_gamma"]["skipped"]["n"])
    token = login(client, make_person(Role.SUPERVISOR).email)
    client.post("/locale", data={"locale": "fr", "csrf_token": token, "next": "/analytics"})
    page = client.get(f"/analytics/runs/{run.run_id}").text
    skipped = page.split('id="spend-model-skipped">')[1].split("</p>")[0]
    assert skipped == (
        f"{repeat} clients ont racheté, il en faut 30 ; la dépense moyenne par achat est"
        " utilisée pour tout le monde"
    )
