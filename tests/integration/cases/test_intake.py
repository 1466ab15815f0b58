"""Opening cases from every channel, through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from egards.accounts.domain import Role
from egards.audit.models import AuditRecord
from egards.cases.intake import sign_webhook
from egards.cases.models import Case, RawInbound
from egards.customers.models import TimelineEvent
from tests.integration.cases.conftest import create_customer, log_call, outbox_rows


def count(db, model, *where):
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_phone_call_opens_a_case_with_its_promise_timeline_audit_and_english_ack(
    client, agent, db
):
    customer = create_customer(client, agent, preferred_language="en")
    body = log_call(client, agent, customer_id=customer["id"])
    case = body["case"]
    assert case["number"] == f"C-{case['id']:06d}"
    # Tuesday 10:00 in Paris + 4 business hours (phone policy) = 14:00 Paris = 13:00 UTC.
    assert case["sla"]["sla_policy"] == "phone_and_shop"
    assert case["sla"]["first_response_due_at"] == "2026-11-24T13:00:00Z"
    assert case["sla"]["sla_state"] == "on_track"
    assert "We have received your message" in body["acknowledgement"]
    assert "Tuesday 24 November at 14:00" in body["acknowledgement"]
    [ack] = outbox_rows(db)
    assert ack.recipient == customer["identities"][0]["value"]
    assert ack.payload["subject"].startswith(f"[#{case['number']}]")
    assert ack.payload["headers"]["Auto-Submitted"] == "auto-replied"
    assert count(db, TimelineEvent, TimelineEvent.ref_id == str(case["id"])) >= 2
    assert count(db, AuditRecord, AuditRecord.action == "case.open") == 1


def test_a_french_customer_is_acknowledged_in_french(client, agent):
    customer = create_customer(client, agent, preferred_language="fr")
    body = log_call(client, agent, customer_id=customer["id"], channel="shop")
    assert "Nous avons bien reçu votre message" in body["acknowledgement"]
    assert "mardi 24 novembre à 14 h 00" in body["acknowledgement"]


def test_a_gold_member_is_promised_a_faster_answer(client, agent):
    customer = create_customer(client, agent)
    body = log_call(client, agent, customer_id=customer["id"], loyalty_tier="gold")
    assert body["case"]["sla"]["sla_policy"] == "top_tier"
    assert body["case"]["sla"]["first_response_due_at"] == "2026-11-24T11:00:00Z"


def test_the_web_form_needs_no_credentials_and_links_a_known_sender(client, agent, db):
    customer = create_customer(client, agent, emails=["lea.martin@example.fr"])
    response = client.post(
        "/api/v1/cases/web-form",
        json={
            "name": "Léa Martin",
            "email": "Lea.Martin@example.fr",
            "subject": "Facture en double",
            "message": "Ma facture a été prélevée deux fois.",
            "category": "billing",
        },
    )
    assert response.status_code == 202, response.text
    number = response.json()["number"]
    assert "Nous avons bien reçu" in response.json()["acknowledgement"]
    found = client.get(f"/api/v1/cases?customer_id={customer['id']}", headers=agent.headers)
    [case] = found.json()["items"]
    assert (case["number"], case["team"], case["channel"]) == (number, "billing", "web_form")


def test_a_web_form_with_missing_fields_is_refused_clearly_and_kept_raw(client, db):
    response = client.post(
        "/api/v1/cases/web-form",
        data={"name": "Paul", "subject": "Question"},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] in ("email", "message")
    assert "email" in problem["detail"] and "message" in problem["detail"]
    assert count(db, Case) == 0
    assert count(db, RawInbound, RawInbound.status == "rejected") == 1


def test_the_spam_trap_opens_nothing(client, db):
    response = client.post(
        "/api/v1/cases/web-form",
        json={
            "name": "Bot",
            "email": "bot@example.com",
            "subject": "Buy",
            "message": "cheap",
            "website": "http://spam.example",
        },
    )
    assert response.status_code == 202 and response.json()["number"] is None
    assert count(db, Case) == 0
    assert count(db, RawInbound, RawInbound.status == "spam") == 1


def test_the_web_form_is_rate_limited_per_address(client, settings):
    payload = {"name": "A", "email": "a@example.com", "subject": "S", "message": "M"}
    codes = [
        client.post("/api/v1/cases/web-form", json=payload).status_code
        for _ in range(settings.web_form_per_minute + 1)
    ]
    assert codes[:-1] == [202] * settings.web_form_per_minute
    assert codes[-1] == 429


def _signed(client, payload, *, secret="social-secret", timestamp=None, clock=None):
    body = json.dumps(payload).encode()
    timestamp = timestamp or str(int(clock.now.timestamp()))
    return client.post(
        "/api/v1/cases/social-mentions",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Egards-Timestamp": timestamp,
            "X-Egards-Signature": sign_webhook(secret, timestamp, body),
        },
    )


MENTION = {
    "network": "x",
    "handle": "@zoem",
    "author_name": "Zoé M.",
    "text": "Toujours pas de technicien, trois rendez-vous manqués !",
    "external_id": "1860000000001",
    "language": "fr",
}


def test_a_signed_social_mention_opens_a_case_on_the_social_promise(client, agent, clock):
    customer = create_customer(client, agent, social=[{"network": "x", "handle": "@ZoeM"}])
    response = _signed(client, MENTION, clock=clock)
    assert response.status_code == 201, response.text
    case = response.json()["case"]
    assert case["customer_id"] == customer["id"]
    assert case["sla"]["sla_policy"] == "social"
    assert case["sla"]["first_response_due_at"] == "2026-11-24T13:00:00Z"
    assert response.json()["acknowledgement"]


def test_unsigned_wrongly_signed_stale_or_replayed_webhooks_are_refused(client, clock, db):
    body = json.dumps(MENTION).encode()
    unsigned = client.post("/api/v1/cases/social-mentions", content=body)
    assert unsigned.status_code == 401
    wrong = _signed(client, MENTION, secret="not-the-secret", clock=clock)
    assert wrong.status_code == 401
    stale = _signed(client, MENTION, clock=clock, timestamp=str(int(clock.now.timestamp()) - 900))
    assert stale.status_code == 401 and "replay" in stale.json()["detail"]
    first = _signed(client, MENTION, clock=clock)
    assert first.status_code == 201
    replay = client.post(
        "/api/v1/cases/social-mentions",
        content=first.request.content,
        headers=dict(first.request.headers),
    )
    assert replay.status_code == 403 and "replay" in replay.json()["detail"]
    assert count(db, Case) == 1


def test_a_partner_reports_on_its_customers_and_sees_only_its_cases(
    client, agent, make_person, make_organisation, admin
):
    installer = make_organisation("Fibre Pose")
    other = make_organisation("Other Installer")
    partner = make_person(Role.PARTNER, organisation_id=installer)
    stranger = make_person(Role.PARTNER, organisation_id=other)
    mine = create_customer(client, agent)
    theirs = create_customer(client, agent)
    client.post(
        f"/api/v1/customers/{mine['id']}/organisations",
        json={"organisation_id": installer},
        headers=admin.headers,
    ).raise_for_status()
    report = client.post(
        "/api/v1/cases/partner-reports",
        json={
            "customer_id": mine["id"],
            "subject": "Socket installed",
            "message": "Done, but the building's riser is damaged.",
            "category": "installation",
        },
        headers=partner.headers,
    )
    assert report.status_code == 201, report.text
    case = report.json()["case"]
    assert (case["channel"], case["team"], case["organisation_id"]) == (
        "partner", "installation", installer,
    )  # fmt: skip
    refused = client.post(
        "/api/v1/cases/partner-reports",
        json={"customer_id": theirs["id"], "subject": "x", "message": "y"},
        headers=partner.headers,
    )
    assert refused.status_code == 404
    internal = log_call(client, agent, customer_id=theirs["id"])["case"]
    listed = client.get("/api/v1/cases", headers=partner.headers).json()["items"]
    assert [c["id"] for c in listed] == [case["id"]]
    assert client.get(f"/api/v1/cases/{internal['id']}", headers=partner.headers).status_code == 404
    assert (
        client.post(
            f"/api/v1/cases/{internal['id']}/replies",
            json={"body": "hi"},
            headers=partner.headers,
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/cases/{case['id']}", headers=stranger.headers).status_code == 404
    assert client.get("/api/v1/cases/no-silence", headers=stranger.headers).json()["waiting"] == 0


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_scanned_letter_is_kept_with_its_transcription(client, agent):
    customer = create_customer(client, agent)
    response = client.post(
        "/api/v1/cases/letters",
        data={
            "subject": "Résiliation par courrier recommandé",
            "transcription": "Je vous prie de résilier mon abonnement à compter de ce jour.",
            "customer_id": str(customer["id"]),
            "category": "cancellation",
        },
        files={"scan": ("lettre.pdf", PDF, "application/pdf")},
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    case = response.json()["case"]
    assert (case["channel"], case["team"], case["sla"]["sla_policy"]) == (
        "letter", "cancellations", "cancellation",
    )  # fmt: skip
    [message] = client.get(f"/api/v1/cases/{case['id']}/messages", headers=agent.headers).json()[:1]
    assert message["attachments"][0]["accepted"] is True
    assert message["attachments"][0]["content_type"] == "application/pdf"
    scan = client.get(
        f"/api/v1/cases/{case['id']}/attachments/{message['attachments'][0]['id']}",
        headers=agent.headers,
    )
    assert scan.content == PDF and scan.headers["content-disposition"].startswith("attachment")


def test_an_oversize_or_disguised_scan_is_refused_and_nothing_is_created(
    client, agent, settings, db
):
    settings.max_attachment_bytes = 2048
    big = client.post(
        "/api/v1/cases/letters",
        data={"subject": "Lettre", "transcription": "Texte"},
        files={"scan": ("lettre.pdf", PDF + b"0" * 4096, "application/pdf")},
        headers=agent.headers,
    )
    assert big.status_code == 422
    assert "limit is 2,048 bytes" in big.json()["detail"]
    disguised = client.post(
        "/api/v1/cases/letters",
        data={"subject": "Lettre", "transcription": "Texte"},
        files={"scan": ("lettre.pdf", b"MZ\x90\x00 program", "application/pdf")},
        headers=agent.headers,
    )
    assert disguised.status_code == 422
    assert count(db, Case) == 0


@pytest.mark.parametrize("field", ["subject", "transcription", "sender_name", "category"])
def test_a_letter_with_a_nul_byte_is_refused_naming_the_field_on_both_databases(
    client, make_person, make_organisation, db, field
):
    # The API fuzz's input: PostgreSQL refused the NUL (a nameless 422), SQLite stored it.
    partner = make_person(Role.PARTNER, organisation_id=make_organisation())
    data = {"subject": "Lettre", "transcription": "Texte", field: "a\x00b"}
    response = client.post("/api/v1/cases/letters", data=data, headers=partner.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert "U+0000 at character 2" in response.json()["detail"]
    assert count(db, Case) == 0


def test_a_letter_with_the_longest_subject_is_acknowledged_on_both_databases(
    client, make_person, make_organisation
):
    # A 300-character subject made a 340-character acknowledgement subject: PostgreSQL
    # refused it (varchar(300)) where SQLite stored it.
    partner = make_person(Role.PARTNER, organisation_id=make_organisation())
    data = {"subject": "é" * 300, "transcription": "Texte"}
    response = client.post("/api/v1/cases/letters", data=data, headers=partner.headers)
    assert response.status_code == 201, response.text
    case_id = response.json()["case"]["id"]
    messages = client.get(f"/api/v1/cases/{case_id}/messages", headers=partner.headers).json()
    [ack] = [m for m in messages if m["kind"] == "acknowledgement"]
    assert len(ack["subject"]) == 300 and ack["subject"].endswith("é…")


def test_missing_fields_name_the_field(client, agent):
    response = client.post(
        "/api/v1/cases", json={"channel": "phone", "subject": "x"}, headers=agent.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "message"


def test_an_unknown_sender_gets_suggestions_and_can_be_linked(client, agent):
    customer = create_customer(
        client, agent, first_name="Gaëlle", last_name="Fontaine", emails=["gaelle.f@example.fr"]
    )
    opened = log_call(
        client,
        agent,
        channel="email",
        contact_email="gaelle.f@autre-domaine.example",
        contact_name="Gaëlle Fontaine",
    )["case"]
    assert opened["customer_id"] is None
    suggestions = client.get(
        f"/api/v1/cases/{opened['id']}/customer-suggestions", headers=agent.headers
    ).json()
    assert customer["id"] in [s["id"] for s in suggestions]
    linked = client.post(
        f"/api/v1/cases/{opened['id']}/customer",
        json={"customer_id": customer["id"]},
        headers=agent.headers,
    )
    assert linked.status_code == 200 and linked.json()["customer_id"] == customer["id"]
    timeline = client.get(
        f"/api/v1/customers/{customer['id']}/timeline", headers=agent.headers
    ).json()
    assert any(e["kind"] == "case.linked" for e in timeline)
