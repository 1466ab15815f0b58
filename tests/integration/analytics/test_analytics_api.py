"""The API, the 360 panel, the analytics page, exports and imports, on both databases."""

from __future__ import annotations

import csv
import io

from egards.accounts.domain import SYSTEM, Role
from egards.analytics import service
from egards.analytics.imports import import_transactions
from tests.conftest import login
from tests.integration.analytics.conftest import AS_OF, add_customers


def test_a_supervisor_starts_a_run_through_the_api_and_reads_scores(
    client, make_person, population
):
    supervisor = make_person(Role.SUPERVISOR)
    response = client.post(
        "/api/v1/analytics/runs",
        json={"as_of": AS_OF.isoformat(), "source": "imported"},
        headers=supervisor.headers,
    )
    assert response.status_code == 202, response.text
    run = client.get(response.headers["location"], headers=supervisor.headers).json()
    assert run["status"] == "succeeded", run
    assert run["counts"]["customers_scored"] == len(population)

    score = client.get(
        f"/api/v1/analytics/customers/{population[0]}/score?lang=fr", headers=supervisor.headers
    ).json()
    assert {"clv_cents", "probability_alive", "segment", "churn_risk", "reasons"} <= set(score)
    segments = client.get("/api/v1/analytics/segments", headers=supervisor.headers).json()
    assert sum(s["customers"] for s in segments) == len(population)


def test_agents_cannot_start_runs_and_unscored_customers_are_a_clear_404(
    client, make_person, agent
):
    response = client.post("/api/v1/analytics/runs", json={}, headers=agent.headers)
    assert response.status_code == 403
    (customer,) = add_customers(client.app.state.db, 1, prefix="NOSCORE")
    missing = client.get(f"/api/v1/analytics/customers/{customer}/score", headers=agent.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "not_scored"


def test_a_failed_api_run_is_recorded_with_its_cause(client, make_person):
    admin = make_person(Role.ADMIN)
    response = client.post(
        "/api/v1/analytics/runs", json={"source": "imported"}, headers=admin.headers
    )
    run = client.get(response.headers["location"], headers=admin.headers).json()
    assert run["status"] == "failed" and run["error_code"] == "no_transactions"
    assert run["error"].startswith("no transactions to score: ")
    # The API answers in the request's language; the code stays.
    french = client.get(
        response.headers["location"], headers={**admin.headers, "Accept-Language": "fr"}
    ).json()
    assert french["error_code"] == "no_transactions"
    assert french["error"].startswith("aucune transaction à scorer : ")
    listed = client.get(
        "/api/v1/analytics/runs", headers={**admin.headers, "Accept-Language": "fr"}
    )
    assert listed.json()[0]["error"] == french["error"]
    # The console reads the cause in its reader's language.
    token = login(client, admin.email)
    client.post("/locale", data={"locale": "fr", "csrf_token": token, "next": "/analytics"})
    page = client.get(f"/analytics/runs/{run['id']}").text
    assert page.split('id="run-error">')[1].startswith("aucune transaction à scorer : ")
    overview = client.get("/analytics").text.split('id="runs"')[1]
    assert "aucune transaction à scorer : " in overview and "no transactions" not in overview


def test_the_csv_export_has_one_row_per_customer(client, make_person, population):
    service.score(client.app.state.db, actor=SYSTEM, as_of=AS_OF, source="imported")
    analyst = make_person(Role.ANALYST)
    response = client.get("/api/v1/analytics/scores.csv", headers=analyst.headers)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(population)
    assert len({r["customer_id"] for r in rows}) == len(population)
    parquet = client.get("/api/v1/analytics/scores.parquet", headers=analyst.headers)
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"


def test_the_360_panel_and_the_analytics_page_render(client, make_person, population):
    service.score(client.app.state.db, actor=SYSTEM, as_of=AS_OF, source="imported")
    supervisor = make_person(Role.SUPERVISOR)
    login(client, supervisor.email)
    page = client.get(f"/customers/{population[0]}")
    assert page.status_code == 200
    assert 'id="value"' in page.text
    assert "Churn risk" in page.text or "attrition" in page.text
    analytics = client.get("/analytics")
    assert analytics.status_code == 200
    for section in ("tier-value", "segments", "clv-distribution", "silent-loyal", "churn-model"):
        assert f'id="{section}"' in analytics.text
    assert "AUC" in analytics.text


def test_an_import_keeps_good_rows_and_reports_bad_ones_by_line(db, tmp_path):
    add_customers(db, 3, prefix="IMP")
    source = tmp_path / "sales.csv"
    source.write_text(
        "customer_external_id,date,amount\n"
        "IMP000000,2025-03-01,12.50\n"
        "IMP000001,2025-03-02,-4.00\n"
        "NOBODY,2025-03-02,4.00\n"
        "IMP000002,2999-01-01,4.00\n"
        "IMP000002,not a date,4.00\n"
        "IMP000002,2025-03-03,abc\n"
        "IMP000002,2025-03-03,7\n"
    )
    rejects = tmp_path / "rejects.csv"
    result = import_transactions(db, source, actor=SYSTEM, rejects_path=rejects)
    assert (result.imported, result.rejected) == (2, 5)
    assert [(r.line, r.field) for r in result.rejects] == [
        (3, "amount"),
        (4, "customer_external_id"),
        (5, "date"),
        (6, "date"),
        (7, "amount"),
    ]
    assert "negative amount" in result.rejects[0].reason
    assert "unknown customer NOBODY" in result.rejects[1].reason
    assert rejects.read_text().splitlines()[0] == "line,field,reason"
    again = import_transactions(db, source, actor=SYSTEM)
    assert (again.imported, again.replaced) == (2, 2)
    with db.unit_of_work() as session:
        assert service.count_transactions(session) == 2


def test_segments_read_as_labels_in_the_api_and_the_csv_export(client, make_person, population):
    service.score(client.app.state.db, actor=SYSTEM, as_of=AS_OF, source="imported")
    analyst = make_person(Role.ANALYST)
    english = client.get("/api/v1/analytics/segments?lang=en", headers=analyst.headers).json()
    french = client.get("/api/v1/analytics/segments?lang=fr", headers=analyst.headers).json()
    by_code = {s["segment"]: s["label"] for s in english}
    assert "tourist" in by_code and by_code["tourist"] == "Tourists"
    assert {s["segment"]: s["label"] for s in french}["tourist"] == "Touristes"
    # Without lang, the request's language.
    asked = client.get(
        "/api/v1/analytics/segments", headers={**analyst.headers, "Accept-Language": "fr-FR"}
    )
    assert asked.json() == french
    assert all("_" not in s["label"] for s in english + french)
    response = client.get("/api/v1/analytics/scores.csv?lang=en", headers=analyst.headers)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["segment_label"] for r in rows} == {by_code[r["segment"]] for r in rows}
