"""Stored events and errors read in the reader's language (issue 14, languages)."""

from __future__ import annotations

from datetime import UTC, datetime

from egards.customers.models import TimelineEvent
from tests.conftest import login
from tests.integration.test_customers_api import create


def _switch(client, csrf: str, locale: str) -> None:
    client.post("/locale", data={"csrf_token": csrf, "locale": locale, "next": "/customers"})


def test_a_timeline_event_reads_in_the_language_of_each_reader(client, agent):
    customer = create(client, agent)
    csrf = login(client, agent.email)
    _switch(client, csrf, "fr")
    page = client.get(f"/customers/{customer['id']}").text
    assert "Dossier client ouvert" in page and "Customer file opened" not in page
    _switch(client, csrf, "en")
    page = client.get(f"/customers/{customer['id']}").text
    assert "Customer file opened" in page and "Dossier client ouvert" not in page
    # the API keeps the English summary for its clients
    timeline = client.get(
        f"/api/v1/customers/{customer['id']}/timeline", headers=agent.headers
    ).json()
    assert "Customer file opened" in [event["summary"] for event in timeline]


def test_an_event_stored_before_messages_shows_its_stored_text(client, agent, db):
    customer = create(client, agent)
    with db.unit_of_work() as session:
        session.add(
            TimelineEvent(
                customer_id=customer["id"],
                occurred_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
                kind="legacy.note",
                channel="console",
                silo="support",
                summary="Joined Seniority programme as welcome",
                actor_label="before",
            )
        )
    csrf = login(client, agent.email)
    for locale in ("fr", "en"):
        _switch(client, csrf, locale)
        assert (
            "Joined Seniority programme as welcome"
            in client.get(f"/customers/{customer['id']}").text
        )


def test_problem_details_keep_their_code_and_speak_the_request_language(client, agent):
    french = client.get(
        "/api/v1/customers/987654",
        headers={**agent.headers, "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"},
    )
    assert french.status_code == 404 and french.headers["content-language"] == "fr"
    body = french.json()
    assert body["code"] == "not_found" and body["title"] == "Introuvable"
    assert body["detail"] == "client 987654 introuvable"
    assert body["errors"] == [{"field": "customer_id", "reason": "client 987654 introuvable"}]
    english = client.get("/api/v1/customers/987654", headers=agent.headers)
    assert english.headers["content-language"] == "en"
    assert english.json()["detail"] == "customer 987654 not found"
    assert english.json()["code"] == "not_found"


def test_the_console_error_page_speaks_the_console_language(client, agent):
    csrf = login(client, agent.email)
    _switch(client, csrf, "fr")
    page = client.get("/customers/987654")
    assert page.status_code == 404 and "client 987654 introuvable" in page.text
    assert "Page introuvable" in client.get("/no/such/page").text


def test_a_case_rule_refuses_in_the_request_language_with_its_values(client, make_person):
    from egards.accounts.domain import Role
    from tests.integration.cases.conftest import log_call

    supervisor = make_person(Role.SUPERVISOR)
    case = log_call(client, supervisor)["case"]
    url = f"/api/v1/cases/{case['id']}/satisfaction"
    french = client.post(
        url, json={"score": 4}, headers={**supervisor.headers, "Accept-Language": "fr"}
    )
    assert french.status_code == 409 and french.headers["content-language"] == "fr"
    assert french.json()["code"] == "conflict"
    assert french.json()["detail"] == "une demande se note une fois résolue ou close"
    english = client.post(url, json={"score": 4}, headers=supervisor.headers)
    assert english.json()["detail"] == "a case is rated once resolved or closed"
    nobody = client.post(
        f"/api/v1/cases/{case['id']}/assignee",
        json={"assignee_id": 987654},
        headers={**supervisor.headers, "Accept-Language": "fr"},
    )
    assert nobody.status_code == 404
    assert nobody.json()["detail"] == "utilisateur 987654 introuvable"
    assert nobody.json()["errors"] == [
        {"field": "assignee_id", "reason": "utilisateur 987654 introuvable"}
    ]


def test_invalid_fields_are_named_with_their_reason_in_the_request_language(client, agent):
    french = client.post(
        "/api/v1/customers",
        json={"first_name": "A" * 500},
        headers={**agent.headers, "Accept-Language": "fr"},
    )
    assert french.status_code == 422 and french.headers["content-language"] == "fr"
    body = french.json()
    assert body["code"] == "invalid_input" and body["title"] == "Saisie invalide"
    reasons = {error["field"]: error["reason"] for error in body["errors"]}
    assert reasons["last_name"] == "obligatoire"
    assert reasons["first_name"].endswith("caractères au plus")
    english = client.post("/api/v1/customers", json={"first_name": "A"}, headers=agent.headers)
    reasons = {error["field"]: error["reason"] for error in english.json()["errors"]}
    assert reasons["last_name"] == "Field required"
