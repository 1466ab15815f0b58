"""Assignment, the console pages, reports and the public contact page."""

from __future__ import annotations

import csv
import io
import re

from egards.accounts.domain import Role
from tests.conftest import login
from tests.integration.cases.conftest import create_customer, log_call


def profile(client, supervisor, person, **body):
    response = client.put(
        f"/api/v1/cases/agents/{person.user_id}",
        json={"teams": ["support"], **body},
        headers=supervisor.headers,
    )
    assert response.status_code == 204, response.text


def test_least_loaded_assignment_respects_language(client, make_person, supervisor, agent):
    french, english = make_person(Role.AGENT), make_person(Role.AGENT)
    profile(client, supervisor, french, languages=["fr"])
    profile(client, supervisor, english, languages=["en"])
    fr_customer = create_customer(client, agent, preferred_language="fr")
    en_customer = create_customer(client, agent, preferred_language="en")
    first = log_call(client, agent, customer_id=fr_customer["id"])["case"]
    second = log_call(client, agent, customer_id=en_customer["id"])["case"]
    assert first["assignee_id"] == french.user_id
    assert second["assignee_id"] == english.user_id


def test_least_loaded_assignment_balances_the_team(client, make_person, supervisor, agent):
    one, two = make_person(Role.AGENT), make_person(Role.AGENT)
    profile(client, supervisor, one)
    profile(client, supervisor, two)
    customer = create_customer(client, agent)
    assignees = [
        log_call(client, agent, customer_id=customer["id"])["case"]["assignee_id"] for _ in range(4)
    ]
    assert sorted(assignees) == sorted([one.user_id, two.user_id] * 2)
    mine = client.get("/api/v1/cases?view=mine", headers=one.headers).json()["items"]
    assert len(mine) == 2


def test_round_robin_assignment_takes_turns(client, make_person, supervisor, agent, settings):
    settings.case_assignment = "round_robin"
    one, two = make_person(Role.AGENT), make_person(Role.AGENT)
    profile(client, supervisor, one, skills=["billing"])
    profile(client, supervisor, two)
    customer = create_customer(client, agent)
    billing = [
        log_call(client, agent, customer_id=customer["id"], category="billing", team="support")[
            "case"
        ]["assignee_id"]
        for _ in range(3)
    ]
    assert billing[0] != billing[1] and billing[0] == billing[2]
    delay = log_call(client, agent, customer_id=customer["id"], category="delay")["case"]
    assert delay["assignee_id"] == two.user_id  # only `two` takes any category


def test_only_a_supervisor_moves_a_case_between_people(client, make_person, agent, supervisor):
    other = make_person(Role.AGENT)
    customer = create_customer(client, agent)
    case = log_call(client, agent, customer_id=customer["id"])["case"]
    taken = client.post(
        f"/api/v1/cases/{case['id']}/assignee",
        json={"assignee_id": agent.user_id},
        headers=agent.headers,
    )
    assert taken.status_code == 200
    grabbed = client.post(
        f"/api/v1/cases/{case['id']}/assignee",
        json={"assignee_id": other.user_id},
        headers=other.headers,
    )
    assert grabbed.status_code == 403
    moved = client.post(
        f"/api/v1/cases/{case['id']}/assignee",
        json={"assignee_id": other.user_id},
        headers=supervisor.headers,
    )
    assert moved.status_code == 200 and moved.json()["assignee_id"] == other.user_id


def test_the_console_shows_inbox_case_no_silence_reports_and_the_360_panel(client, agent):
    customer = create_customer(client, agent)
    case = log_call(client, agent, customer_id=customer["id"], subject="Box en panne")["case"]
    token = login(client, agent.email)
    inbox = client.get("/cases")
    assert inbox.status_code == 200 and "Box en panne" in inbox.text and "sla-timer" in inbox.text
    assert 'hx-trigger="every 30s"' in inbox.text
    page = client.get(f"/cases/{case['id']}")
    assert page.status_code == 200 and case["number"] in page.text
    # Both macro sets, greeting the customer in each language about this case.
    number = case["number"]
    assert f"Bonjour Hélène,\n\nJe prends en charge votre demande {number}" in page.text
    assert f"Hello Hélène,\n\nI am taking care of your request {number}" in page.text
    note = client.post(
        f"/cases/{case['id']}/note", data={"body": "Vu avec le technicien", "csrf_token": token}
    )
    assert note.status_code == 200 and "Vu avec le technicien" in note.text
    answered = client.post(
        f"/cases/{case['id']}/reply", data={"body": "C'est réparé.", "csrf_token": token}
    )
    assert answered.status_code == 200 and "réparé" in answered.text
    silence = client.get("/no-silence")
    assert silence.status_code == 200 and 'id="waiting-count">0<' in silence.text
    reports = client.get("/case-reports")
    assert reports.status_code == 200 and "chart.umd.min.js" in reports.text
    export = client.get("/case-reports/export.csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["number"] for r in rows] == [case["number"]]
    assert rows[0]["first_response_breached"] == "no"
    file = client.get(f"/customers/{customer['id']}")
    assert 'id="customer-cases"' in file.text and case["number"] in file.text


def test_a_case_subject_is_marked_with_the_case_language_on_its_page_and_the_360(client, agent):
    customer = create_customer(client, agent, preferred_language="en")
    case = log_call(client, agent, customer_id=customer["id"], subject="Router keeps rebooting")
    case = case["case"]
    login(client, agent.email)
    page = client.get(f"/cases/{case['id']}").text
    assert '<span id="case-subject" lang="en">Router keeps rebooting</span>' in page
    # and in the thread, the customer's own message (not the console's words around it)
    assert '<strong lang="en">Router keeps rebooting</strong>' in page
    assert '<div class="body" lang="en">' in page
    panel = client.get(f"/customers/{customer['id']}").text.split('id="customer-cases"')[1]
    assert '<td lang="en">Router keeps rebooting</td>' in panel


def test_the_console_speaks_french(client, agent):
    customer = create_customer(client, agent)
    case = log_call(client, agent, customer_id=customer["id"])["case"]
    token = login(client, agent.email)
    client.post("/locale", data={"locale": "fr", "csrf_token": token, "next": "/cases"})
    page = client.get(f"/cases/{case['id']}")
    assert "Répondre au client" in page.text and "Engagement de délai de réponse" in page.text
    assert "Aucun silence" in client.get("/no-silence").text


def test_the_public_contact_page_opens_a_case_and_refuses_missing_fields(client, db):
    page = client.get("/contact")
    assert page.status_code == 200 and 'name="website"' in page.text
    missing = client.post("/contact", data={"name": "Jeanne", "email": "jeanne@example.fr"})
    assert missing.status_code == 422 and "message" in missing.text
    assert 'value="Jeanne"' in missing.text  # what she typed is kept
    sent = client.post(
        "/contact",
        data={
            "name": "Jeanne",
            "email": "jeanne@example.fr",
            "subject": "Résiliation",
            "message": "Je souhaite résilier.",
            "category": "cancellation",
            "language": "fr",
        },
    )
    assert sent.status_code == 200 and 'id="contact-sent"' in sent.text
    # Any case number: on PostgreSQL, ids are not rolled back with the other tests' cases.
    assert re.search(r"C-\d{6}", sent.text) and "Nous avons bien reçu" in sent.text


def test_an_agent_logs_a_call_from_the_console(client, agent):
    customer = create_customer(client, agent)
    csrf = login(client, agent.email)
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf,
            "channel": "phone",
            "customer_id": str(customer["id"]),
            "subject": "Carte perdue",
            "message": "Le client a perdu sa carte au salon.",
        },
    )
    assert response.status_code == 200 and re.search(r"/cases/\d+$", str(response.url))
    assert "Carte perdue" in response.text


def test_a_refused_call_comes_back_filled_in_and_opens_nothing(client, agent):
    csrf = login(client, agent.email)
    client.post("/locale", data={"csrf_token": csrf, "locale": "fr", "next": "/cases"})
    before = len(client.get("/api/v1/cases?limit=200", headers=agent.headers).json()["items"])
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf,
            "channel": "shop",
            "contact_name": "Inès Passante",
            "contact_email": "not-an-address",
            "subject": "Un remboursement",
            "message": "Elle attend son remboursement depuis trois semaines.",
        },
    )
    assert response.status_code == 422 and 'id="form-error"' in response.text
    assert "<strong>E-mail</strong>" in response.text
    assert 'value="Inès Passante"' in response.text
    assert "trois semaines.</textarea>" in response.text
    assert '<option value="shop" selected>' in response.text
    after = client.get("/api/v1/cases?limit=200", headers=agent.headers).json()["items"]
    assert len(after) == before
