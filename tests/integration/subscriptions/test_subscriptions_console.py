"""Cancellations in the console: an agent registers a scanned letter and an e-mail that reads
like a cancellation, sees the reason, the value and the proportionate offer, records the
outcome; the customer 360 shows the contracts; supervisors read the reports in both languages."""

from __future__ import annotations

import re

import pytest

from egards.accounts.domain import Role
from egards.subscriptions import service
from tests.conftest import login
from tests.integration.builders import customer_payload
from tests.integration.subscriptions.conftest import NOW

PDF = b"%PDF-1.4\n% a scanned letter\n"


@pytest.fixture
def scene(client, agent):
    customer = client.post(
        "/api/v1/customers",
        json=customer_payload(first_name="Jean-Félix", last_name="Biosse-Duplan"),
        headers=agent.headers,
    ).json()
    contract = client.post(
        "/api/v1/subscriptions",
        json={
            "customer_id": customer["id"],
            "reference": "FX-SEED-003",
            "offer": "Fibre Max",
            "line_numbers": ["01 43 55 20 03"],
            "start_date": "2024-01-01",
            "notice_days": 10,
            "price_cents": 5999,
            "equipment": "Box fibre",
            "sold_channel": "shop",
        },
        headers=agent.headers,
    ).json()
    return customer, contract


def test_a_scanned_letter_becomes_the_same_request_with_its_offer(client, agent, scene):
    customer, _ = scene
    token = login(client, agent.email)  # the agent reads the console in French
    form = client.get(f"/cancellations/new?customer_id={customer['id']}")
    assert form.status_code == 200 and 'name="scan"' in form.text
    response = client.post(
        "/cancellations/new",
        data={
            "csrf_token": token,
            "channel": "letter",
            "name": "J.-F. Biosse-Duplan",
            "reference": "FX-SEED-003",
            "line_number": "0143552003",
            "reason": "outage",
            "reason_text": "Coupures tous les soirs",
        },
        files={"scan": ("lettre.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert "enregistrée" in page.text and "Coupures tous les soirs" in page.text
    assert 'id="proposed-offer"' in page.text and "intervention programmée" in page.text
    [row] = client.get("/api/v1/cancellations", headers=agent.headers).json()
    case = client.get(f"/api/v1/cases/{row['case_id']}", headers=agent.headers).json()
    assert case["channel"] == "letter" and case["team"] == "cancellations"
    thread = client.get(f"/api/v1/cases/{row['case_id']}/messages", headers=agent.headers)
    assert "lettre.pdf" in thread.text
    outcome = client.post(
        f"/cancellations/{row['id']}/outcome",
        data={"csrf_token": token, "outcome": "cancelled"},
        follow_redirects=True,
    )
    assert 'id="outcome-badge"' in outcome.text
    view = client.get(f"/customers/{customer['id']}")
    assert (
        'id="customer-subscriptions"' in view.text and "FX-SEED-003".replace("-", "") in view.text
    )


def test_an_email_that_reads_like_a_cancellation_is_registered_from_its_case(client, agent, scene):
    customer, _ = scene
    case = client.post(
        "/api/v1/cases",
        json={
            "channel": "email",
            "customer_id": customer["id"],
            "subject": "Je veux résilier mon abonnement",
            "message": "Merci de résilier mon abonnement, je n'ai plus mon numéro de contrat.",
        },
        headers=agent.headers,
    ).json()["case"]
    token = login(client, agent.email)
    page = client.get(f"/cases/{case['id']}")
    assert 'id="register-cancellation"' in page.text
    response = client.post(
        "/cancellations/new",
        data={
            "csrf_token": token,
            "case_id": str(case["id"]),
            "channel": "email",
            "name": "Biosse-Duplan",
            "reference": "FX-SEED-003",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    [row] = client.get("/api/v1/cancellations", headers=agent.headers).json()
    assert row["case_id"] == case["id"] and row["channel"] == "email"
    # No second case: the request is noted on the case it came in on.
    cases = client.get("/api/v1/cases", headers=agent.headers).json()
    items = cases["items"] if isinstance(cases, dict) else cases
    assert len(items) == 1
    after = client.get(f"/cases/{case['id']}")
    assert row["number"] in after.text


@pytest.mark.parametrize("channel", ["email", "letter"])
def test_a_written_request_naming_the_contract_is_registered_on_arrival(
    client, db, agent, scene, channel
):
    customer, contract = scene
    case = client.post(
        "/api/v1/cases",
        json={
            "channel": channel,
            "customer_id": customer["id"],
            "subject": "Résiliation",
            "message": "Je déménage : merci de résilier la ligne 01 43 55 20 03 au plus tôt.",
        },
        headers=agent.headers,
    ).json()["case"]
    [row] = client.get("/api/v1/cancellations", headers=agent.headers).json()
    assert row["case_id"] == case["id"] and row["channel"] == channel
    assert row["status"] == "registered" and row["reason"] == "moving"
    assert row["end_date"] and row["acknowledged_at"]
    sub = client.get(f"/api/v1/subscriptions/{contract['id']}", headers=agent.headers).json()
    assert sub["status"] == "notice_given"
    # A second message on the same case does not open a second request.
    with db.unit_of_work() as session:
        service.inbound_message_received(
            session,
            actor=service.WORKER,
            case_id=case["id"],
            message_id=0,
            customer_id=customer["id"],
            text="Je confirme : résilier la ligne 01 43 55 20 03.",
            received_at=NOW,
            now=NOW,
        )
    assert len(client.get("/api/v1/cancellations", headers=agent.headers).json()) == 1


def test_a_message_refusing_to_cancel_or_naming_no_contract_is_left_to_an_agent(
    client, agent, scene
):
    customer, _ = scene
    for message in (
        "Je ne veux pas résilier la ligne 01 43 55 20 03, je veux juste un rappel.",
        "Merci de résilier le contrat FX-OTHER-999.",
    ):
        client.post(
            "/api/v1/cases",
            json={
                "channel": "email",
                "customer_id": customer["id"],
                "subject": "Ligne",
                "message": message,
            },
            headers=agent.headers,
        )
    assert client.get("/api/v1/cancellations", headers=agent.headers).json() == []


def test_a_refused_console_form_names_the_field(client, agent, scene):
    token = login(client, agent.email)
    response = client.post(
        "/cancellations/new",
        data={"csrf_token": token, "channel": "phone", "name": "X", "reference": "FX-SEED-003"},
    )
    assert response.status_code == 422 and "name" in response.text
    assert client.get("/api/v1/cancellations", headers=agent.headers).json() == []


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_reports_show_reasons_saves_and_time_to_acknowledge(
    client, make_person, agent, scene, locale
):
    for channel, reason in (("phone", "price"), ("shop", "price")):
        client.post(
            "/api/v1/cancellations",
            json={
                "name": "Biosse",
                "reference": "FX-SEED-003",
                "channel": channel,
                "reason": reason,
            },
            headers=agent.headers,
        )
    supervisor = make_person(Role.SUPERVISOR)
    token = login(client, supervisor.email)
    client.post(
        "/locale", data={"csrf_token": token, "locale": locale, "next": "/cancellation-reports"}
    )
    page = client.get("/cancellation-reports")
    assert page.status_code == 200
    assert ("Prix" if locale == "fr" else "Price") in page.text
    assert re.search(r'id="ack-median">\d', page.text)
    figures = client.get("/api/v1/cancellations-report", headers=supervisor.headers).json()
    assert figures["total"] == 2 and figures["by_channel"] == [["phone", 1], ["shop", 1]]
    statuses = [r[0] for r in figures["by_reason"]]
    assert statuses == ["price"]
