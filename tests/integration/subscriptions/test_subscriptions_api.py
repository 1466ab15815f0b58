"""Subscriptions and cancellations through the API and the public page, on SQLite and
PostgreSQL: contracts, the three-step path without an account, the acknowledgement (e-mail
with its PDF) sent to the contract's own address, second requests, unknown references, every
channel opening the same kind of request, outcomes, win-back and the GDPR hooks."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from egards.accounts.domain import Role
from egards.customers.models import TimelineEvent
from egards.i18n import render_message
from egards.outbox.models import OutboxMessage
from egards.subscriptions import service
from tests.conftest import csrf_from
from tests.integration.builders import customer_payload
from tests.integration.subscriptions.conftest import NOW, TODAY


@pytest.fixture
def customer(client, agent):
    response = client.post(
        "/api/v1/customers",
        json=customer_payload(
            first_name="Jean-Félix",
            last_name="Biosse",
            emails=["jf.biosse@example.fr"],
            preferred_language="fr",
        ),
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def subscription_payload(customer_id: int, **overrides):
    payload = {
        "customer_id": customer_id,
        "reference": "FX-100200",
        "offer": "Freebox Pop",
        "line_numbers": ["01 44 55 66 77"],
        "start_date": "2025-06-01",
        "commitment_end": "2026-06-01",
        "notice_days": 10,
        "price_cents": 3999,
        "equipment": "Freebox Pop server and player",
        "sold_channel": "shop",
        "sold_silo": "shop",
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def contract(client, agent, customer):
    response = client.post(
        "/api/v1/subscriptions", json=subscription_payload(customer["id"]), headers=agent.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def _outbox(db, key_prefix: str) -> list[OutboxMessage]:
    with db.unit_of_work() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.key.startswith(key_prefix))
        ).all()
        session.expunge_all()
        return list(rows)


def _three_steps(client, **fields):
    """The public path: the form, the recap, the confirmation (two submits)."""
    page = client.get("/cancel")
    assert page.status_code == 200 and "Cancel your contract" in page.text
    token = csrf_from(page.text)
    form = {
        "csrf_token": token,
        "name": "Jean-Félix Biosse",
        "reference": "fx 100200",
        "email": "jf.biosse@example.fr",
        "language": "en",
        **fields,
    }
    recap = client.post("/cancel/review", data=form)
    assert recap.status_code == 200, recap.text
    assert "Confirm my cancellation request" in recap.text
    done = client.post("/cancel/confirm", data={**form, "csrf_token": csrf_from(recap.text)})
    return recap, done


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_contract_is_created_listed_and_on_the_timeline(client, agent, contract, customer):
    assert contract["reference"] == "FX100200" and contract["status"] == "active"
    listed = client.get(
        f"/api/v1/subscriptions?customer_id={customer['id']}", headers=agent.headers
    ).json()
    assert [s["id"] for s in listed] == [contract["id"]]
    history = client.get(
        f"/api/v1/subscriptions/{contract['id']}/history", headers=agent.headers
    ).json()
    assert [h["to_status"] for h in history] == ["active"]
    timeline = client.get(
        f"/api/v1/customers/{customer['id']}/timeline", headers=agent.headers
    ).json()
    kinds = [e["kind"] for e in (timeline["items"] if isinstance(timeline, dict) else timeline)]
    assert "subscription.signed" in kinds


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_bad_contract_is_refused_naming_the_field(client, agent, customer):
    response = client.post(
        "/api/v1/subscriptions",
        json=subscription_payload(customer["id"], price_cents=-5),
        headers=agent.headers,
    )
    assert response.status_code == 422
    assert any(e["field"].endswith("price_cents") for e in response.json()["errors"])
    duplicate = subscription_payload(customer["id"])
    assert (
        client.post("/api/v1/subscriptions", json=duplicate, headers=agent.headers).status_code
        == 201
    )
    again = client.post("/api/v1/subscriptions", json=duplicate, headers=agent.headers)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "reference"
    assert again.json()["detail"] == "reference FX100200 already exists"
    french = client.post(
        "/api/v1/subscriptions", json=duplicate, headers={**agent.headers, "Accept-Language": "fr"}
    )
    assert french.json()["detail"] == "la référence FX100200 existe déjà"
    backwards = subscription_payload(customer["id"], reference="FX-2", commitment_end="2025-01-01")
    refused = client.post("/api/v1/subscriptions", json=backwards, headers=agent.headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].endswith("commitment_end")


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_public_cancellation_without_account_acknowledges_at_once_with_pdf(
    client, db, agent, contract
):
    recap, done = _three_steps(client, desired_end=TODAY.isoformat(), reason="price")
    # The recap states the end date moved to the earliest the notice allows, and no fee
    # (the commitment ended in June).
    assert "13 December 2026" in recap.text and "No early-termination fee" in recap.text
    assert done.status_code == 200, done.text
    assert "RES-" in done.text and "13 December 2026" in done.text
    [message] = _outbox(db, "subscriptions:ack:")
    # In the language of the request, to the contract's own address, with the PDF.
    assert message.recipient == "jf.biosse@example.fr"
    assert "13 December 2026" in message.payload["body"]
    assert "Equipment to return" in message.payload["body"]
    [attachment] = message.payload["attachments"]
    assert base64.b64decode(attachment["data"]).startswith(b"%PDF")
    rows = client.get("/api/v1/cancellations", headers=agent.headers).json()
    assert rows[0]["status"] == "registered" and rows[0]["reason"] == "price"
    assert rows[0]["end_date"] == "2026-12-13" and rows[0]["case_id"]
    assert rows[0]["offer"]["kind"] in ("discount", "thanks")
    # The acknowledgement is kept as proof, and the contract's notice runs.
    pdf = client.get(
        f"/api/v1/cancellations/{rows[0]['id']}/acknowledgement.pdf", headers=agent.headers
    )
    assert pdf.content == base64.b64decode(attachment["data"])
    sub = client.get(f"/api/v1/subscriptions/{contract['id']}", headers=agent.headers).json()
    assert sub["status"] == "notice_given" and sub["ends_on"] == "2026-12-13"
    case = client.get(f"/api/v1/cases/{rows[0]['case_id']}", headers=agent.headers).json()
    assert case["team"] == "cancellations" and case["category"] == "cancellation"
    assert case["sla"]["sla_policy"] == "cancellation"


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_unknown_reference_reveals_nothing_and_sends_nothing(client, db, agent, contract):
    recap, done = _three_steps(client, reference="FX-999999")
    assert done.status_code == 200
    assert "If these details match a contract" in done.text
    assert "13 December" not in recap.text + done.text
    # Someone else's reference with the right name but a stranger's e-mail: the same answer.
    _, other = _three_steps(client, email="stranger@example.com")
    assert "If these details match a contract" in other.text
    assert "Freebox" not in other.text and "December 2026" not in other.text
    # The holder is told at their own address, never the stranger.
    messages = _outbox(db, "subscriptions:ack:")
    assert [m.recipient for m in messages] == ["jf.biosse@example.fr"]
    statuses = sorted(
        r["status"] for r in client.get("/api/v1/cancellations", headers=agent.headers).json()
    )
    assert statuses == ["registered", "unmatched"]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_second_request_leaves_the_first_standing_and_says_so(client, db, agent, contract):
    _three_steps(client)
    _three_steps(client, desired_end=(TODAY + timedelta(days=60)).isoformat())
    rows = client.get("/api/v1/cancellations", headers=agent.headers).json()
    assert [r["status"] for r in rows] == ["duplicate", "registered"]
    assert rows[0]["end_date"] == rows[1]["end_date"] == "2026-12-13"
    second = next(m for m in _outbox(db, "subscriptions:ack:") if str(rows[0]["id"]) == m.ref_id)
    assert rows[1]["number"] in second.payload["body"] and "stands" in second.payload["body"]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_public_form_refuses_a_bad_field_by_name_and_writes_nothing(client, agent, contract):
    page = client.get("/cancel")
    response = client.post(
        "/cancel/review",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Jean-Félix Biosse",
            "reference": "FX100200",
            "email": "not-an-address",
        },
    )
    assert response.status_code == 422 and "email" in response.text
    confirm = client.post(
        "/cancel/confirm",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Jean-Félix Biosse",
            "reference": "FX100200",
            "email": "jf.biosse@example.fr",
            "legitimate_reason": "job_loss",
        },
    )
    assert confirm.status_code == 422 and "proof" in confirm.text
    assert client.get("/api/v1/cancellations", headers=agent.headers).json() == []


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_public_form_needs_its_csrf_token(client, contract):
    response = client.post(
        "/cancel/confirm", data={"name": "Jean-Félix Biosse", "reference": "FX100200"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("channel", ["phone", "shop", "letter", "email"])
def test_every_channel_opens_the_same_kind_of_request(client, db, agent, contract, channel):
    response = client.post(
        "/api/v1/cancellations",
        json={
            "name": "M. Biosse",
            "reference": "FX100200",
            "channel": channel,
            "reason": "outage",
            "reason_text": "Trois semaines sans connexion",
        },
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    row = response.json()
    assert row["channel"] == channel and row["status"] == "registered"
    assert row["end_date"] == "2026-12-13" and row["reason"] == "outage"
    assert row["offer"]["kind"] in ("credit_and_fix", "thanks")
    [message] = _outbox(db, "subscriptions:ack:")
    assert message.recipient == "jf.biosse@example.fr" and message.payload["attachments"]
    case = client.get(f"/api/v1/cases/{row['case_id']}", headers=agent.headers).json()
    assert case["team"] == "cancellations" and case["channel"] in (
        channel,
        "web_form",
    )


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_partner_cannot_take_or_see_cancellations(client, make_person, make_organisation, contract):
    partner = make_person(Role.PARTNER, organisation_id=make_organisation())
    response = client.post(
        "/api/v1/cancellations",
        json={"name": "Biosse", "reference": "FX100200", "channel": "phone"},
        headers=partner.headers,
    )
    assert response.status_code == 403
    assert client.get("/api/v1/cancellations", headers=partner.headers).status_code == 403
    hidden = client.get(f"/api/v1/subscriptions/{contract['id']}", headers=partner.headers)
    assert hidden.status_code == 404
    paused = client.post(
        f"/api/v1/subscriptions/{contract['id']}/suspension",
        json={"resumes_on": "2027-01-15"},
        headers=partner.headers,
    )
    assert paused.status_code in (403, 404)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_customer_who_stays_keeps_the_contract(client, agent, contract):
    row = client.post(
        "/api/v1/cancellations",
        json={"name": "Biosse", "reference": "FX100200", "channel": "phone", "reason": "price"},
        headers=agent.headers,
    ).json()
    stayed = client.post(
        f"/api/v1/cancellations/{row['id']}/outcome",
        json={"outcome": "stayed_without"},
        headers=agent.headers,
    )
    assert stayed.status_code == 200, stayed.text
    assert stayed.json()["status"] == "withdrawn"
    sub = client.get(f"/api/v1/subscriptions/{contract['id']}", headers=agent.headers).json()
    assert sub["status"] == "active" and sub["ends_on"] is None
    again = client.post(
        f"/api/v1/cancellations/{row['id']}/outcome",
        json={"outcome": "cancelled"},
        headers=agent.headers,
    )
    assert again.status_code == 409


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_contract_ends_after_notice_and_a_win_back_follows(client, db, app, agent, customer):
    client.post(
        "/api/v1/subscriptions",
        json=subscription_payload(customer["id"], price_cents=9999),
        headers=agent.headers,
    )
    row = client.post(
        "/api/v1/cancellations",
        json={"name": "Biosse", "reference": "FX100200", "channel": "shop", "reason": "price"},
        headers=agent.headers,
    ).json()
    assert row["offer"]["kind"] == "discount"
    done = client.post(
        f"/api/v1/cancellations/{row['id']}/outcome",
        json={"outcome": "cancelled"},
        headers=agent.headers,
    ).json()
    assert done["winback_due_on"] == "2027-02-11" and done["winback_channel"] == "call"
    with db.unit_of_work() as session:
        ended = datetime(2026, 12, 13, 9, tzinfo=UTC)
        assert service.end_due(session, today=ended.date(), now=ended) == 1
        later = datetime(2027, 2, 11, 9, tzinfo=UTC)
        assert (
            service.contact_winbacks(
                session, settings=app.state.settings, today=later.date(), now=later
            )
            == 1
        )
    sub = client.get(f"/api/v1/subscriptions?customer_id={customer['id']}", headers=agent.headers)
    assert sub.json()[0]["status"] == "ended"
    back = client.post(
        "/api/v1/subscriptions",
        json=subscription_payload(
            customer["id"], reference="FX-300400", start_date="2027-03-01", commitment_end=None
        ),
        headers=agent.headers,
    )
    assert back.status_code == 201, back.text
    report = client.get("/api/v1/cancellations-report", headers=agent.headers)
    assert report.status_code == 403  # agents do not read the reports
    [row] = client.get("/api/v1/cancellations", headers=agent.headers).json()
    assert row["won_back_at"] is not None


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_erased_customer_requests_are_anonymised(client, db, admin, agent, contract, customer):
    _three_steps(client)
    erased = client.post(
        f"/api/v1/customers/{customer['id']}/erase",
        json={"reason": "GDPR request"},
        headers=admin.headers,
    )
    assert erased.status_code == 200, erased.text
    [row] = client.get("/api/v1/cancellations", headers=admin.headers).json()
    assert row["reference_given"] != "fx 100200"
    # A request for an erased customer's contract matches nothing and reveals nothing.
    _, done = _three_steps(client)
    assert "If these details match a contract" in done.text


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_retention_offer_appears_beside_the_path_only_for_a_signed_portal_link(
    client, app, db, customer
):
    with db.unit_of_work() as session:
        service.create_subscription(
            session,
            actor=service.WORKER,
            data=service.SubscriptionCreate(
                **subscription_payload(customer["id"], price_cents=7999)
            ),
            now=NOW,
        )
    token = service.portal_token(app.state.settings, "FX-100200")
    shown = client.get(f"/cancel?ref=FX-100200&t={token}&lang=en")
    assert 'id="retention-offer"' in shown.text and "An offer for you" in shown.text
    # The same form, with the same fields: the offer is never a step.
    assert 'action="/cancel/review"' in shown.text
    forged = client.get(f"/cancel?ref=FX-100200&t={'0' * 32}")
    assert 'id="retention-offer"' not in forged.text
    assert 'id="retention-offer"' not in client.get("/cancel?ref=FX-100200").text


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_portal_panel_lists_contracts_with_a_signed_cancel_link(db, customer, contract):
    from egards.subscriptions import portal

    with db.unit_of_work() as session:
        panel = portal.contracts(session, customer["id"], "fr")
        assert panel.title == "Mes contrats"
        [row] = panel.context["rows"]
        assert row.reference == "FX100200"
        assert len(panel.context["tokens"][row.id]) == 32
        assert portal.contracts(session, 10**12, "fr") is None


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_contact_page_links_to_the_cancellation_page(client):
    page = client.get("/contact")
    assert 'href="/cancel"' in page.text and "Cancel your contract" in page.text


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_staying_with_the_offer_grants_it_from_the_recovery_catalogue(client, agent, customer):
    client.post(
        "/api/v1/subscriptions",
        json=subscription_payload(customer["id"], price_cents=7999),
        headers=agent.headers,
    )
    row = client.post(
        "/api/v1/cancellations",
        json={"name": "Biosse", "reference": "FX100200", "channel": "phone", "reason": "price"},
        headers=agent.headers,
    ).json()
    assert row["offer"]["kind"] == "discount" and row["offer"]["gesture_kind"] == "credit"
    stayed = client.post(
        f"/api/v1/cancellations/{row['id']}/outcome",
        json={"outcome": "stayed_with_offer"},
        headers=agent.headers,
    )
    assert stayed.status_code == 200, stayed.text
    grants = client.get(
        f"/api/v1/recovery/grants?customer_id={customer['id']}", headers=agent.headers
    ).json()
    [grant] = grants["items"] if isinstance(grants, dict) else grants
    assert grant["kind"] == "credit" and grant["case_id"] == row["case_id"]
    assert grant["amount"] == row["offer"]["amount_cents"]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_contract_already_ended_is_not_cancelled_again(client, db, agent, contract):
    first = client.post(
        "/api/v1/cancellations",
        json={"name": "Biosse", "reference": "FX100200", "channel": "phone"},
        headers=agent.headers,
    ).json()
    with db.unit_of_work() as session:
        service.end_due(
            session, today=date(2026, 12, 31), now=datetime(2026, 12, 31, 9, tzinfo=UTC)
        )
    again = client.post(
        "/api/v1/cancellations",
        json={"name": "Biosse", "reference": "FX100200", "channel": "email"},
        headers=agent.headers,
    ).json()
    assert again["status"] == "already_ended" and again["end_date"] == first["end_date"]
    ended = next(m for m in _outbox(db, "subscriptions:ack:") if m.ref_id == str(again["id"]))
    assert "a déjà pris fin le 13 décembre 2026" in ended.payload["body"]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_change_of_plan_is_on_the_timeline_and_bad_lines_are_refused(
    client, db, agent, contract, customer
):
    changed = client.patch(
        f"/api/v1/subscriptions/{contract['id']}",
        json={"plan": "Fibre 8 Gb", "price_cents": 4999},
        headers=agent.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["price_cents"] == 4999
    timeline = client.get(
        f"/api/v1/customers/{customer['id']}/timeline", headers=agent.headers
    ).json()
    events = timeline["items"] if isinstance(timeline, dict) else timeline
    [entry] = [e for e in events if e["kind"] == "subscription.changed"]
    assert entry["summary"] == f"Contract {contract['reference']} changed: plan, price"
    with db.unit_of_work() as session:
        stored = session.get(TimelineEvent, entry["id"])
        assert stored is not None
        # Stored as data, read in the reader's language (#14).
        french = render_message("fr", stored.message)
    assert french == f"Contrat {contract['reference']} modifié : forfait, prix"
    refused = client.patch(
        f"/api/v1/subscriptions/{contract['id']}",
        json={"line_numbers": ["call me"]},
        headers=agent.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].endswith("line_numbers")


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_retention_offer_never_blocks_the_path(client, app, agent, customer):
    client.post(
        "/api/v1/subscriptions",
        json=subscription_payload(customer["id"], price_cents=7999),
        headers=agent.headers,
    )
    token = service.portal_token(app.state.settings, "FX100200")
    page = client.get(f"/cancel?ref=FX100200&t={token}&lang=fr")
    assert 'id="retention-offer"' in page.text
    form = {
        "csrf_token": csrf_from(page.text),
        "name": "Biosse",
        "reference": "FX100200",
        "email": "jf.biosse@example.fr",
        "ref_token": token,
    }
    recap = client.post("/cancel/review", data=form)
    # Nothing about the offer is asked: the recap's only button confirms the cancellation.
    assert recap.text.count('type="submit"') == 2  # confirm, and "correct my request"
    assert "Confirmer ma demande de résiliation" in recap.text
    done = client.post("/cancel/confirm", data={**form, "csrf_token": csrf_from(recap.text)})
    assert done.status_code == 200 and 'id="ack-text"' in done.text
    [row] = client.get("/api/v1/cancellations", headers=agent.headers).json()
    assert row["status"] == "registered" and row["channel"] == "portal"


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_win_back_goes_by_email_only_with_consent_and_once(client, db, app, agent, customer):
    consent = client.post(
        f"/api/v1/customers/{customer['id']}/consents",
        json={"purpose": "marketing", "channel": "email", "granted": True, "source": "shop"},
        headers=agent.headers,
    )
    assert consent.status_code in (200, 201), consent.text
    client.post(
        "/api/v1/subscriptions",
        json=subscription_payload(customer["id"], price_cents=9999),
        headers=agent.headers,
    )
    row = client.post(
        "/api/v1/cancellations",
        json={"name": "Biosse", "reference": "FX100200", "channel": "phone", "reason": "outage"},
        headers=agent.headers,
    ).json()
    done = client.post(
        f"/api/v1/cancellations/{row['id']}/outcome",
        json={"outcome": "cancelled"},
        headers=agent.headers,
    ).json()
    assert done["winback_channel"] == "email"
    later = datetime(2027, 3, 1, 9, tzinfo=UTC)
    for _ in range(2):
        with db.unit_of_work() as session:
            service.contact_winbacks(
                session, settings=app.state.settings, today=later.date(), now=later
            )
    [message] = _outbox(db, "subscriptions:winback:")
    assert message.recipient == "jf.biosse@example.fr"
    assert message.payload["subject"] == "Vous nous manquez"
    assert "Votre contrat a pris fin le " in message.payload["body"]
    assert "Répondez simplement « STOP »." in message.payload["body"]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_customer_who_no_longer_needs_the_service_is_not_chased(client, agent, contract):
    row = client.post(
        "/api/v1/cancellations",
        json={
            "name": "Biosse",
            "reference": "FX100200",
            "channel": "shop",
            "reason": "no_longer_needed",
        },
        headers=agent.headers,
    ).json()
    assert row["offer"]["kind"] == "thanks"
    done = client.post(
        f"/api/v1/cancellations/{row['id']}/outcome",
        json={"outcome": "cancelled"},
        headers=agent.headers,
    ).json()
    assert done["winback_due_on"] is None and done["winback_channel"] is None


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_request_from_the_future_is_refused_naming_the_field(client, agent, contract):
    response = client.post(
        "/api/v1/cancellations",
        json={
            "name": "Biosse",
            "reference": "FX100200",
            "channel": "letter",
            "received_at": (NOW + timedelta(days=3)).isoformat(),
        },
        headers=agent.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "received_at"
    assert client.get("/api/v1/cancellations", headers=agent.headers).json() == []


def _score(db, customer_id: int, *, clv_cents: int, churn_risk: float) -> None:
    from egards.analytics.models import CustomerScore, ScoreRun

    with db.unit_of_work() as session:
        run = ScoreRun(status="succeeded", as_of=TODAY, source="all", requested_by="tests")
        session.add(run)
        session.flush()
        session.add(
            CustomerScore(
                customer_id=customer_id,
                run_id=run.id,
                scored_on=TODAY,
                model_version="test",
                purchases=3,
                spend_cents=9_000,
                mean_spend_cents=3_000,
                first_purchase_on=date(2024, 1, 1),
                last_purchase_on=date(2026, 6, 1),
                days_since_last=185,
                expected_purchases_12m=1.0,
                probability_alive=0.4,
                expected_spend_cents=3_000,
                clv_cents=clv_cents,
                value_decile=2,
                rfm=211,
                segment="at_risk",
                churn_risk=churn_risk,
                churn_reasons="",
            )
        )


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_save_rate_is_compared_with_similar_requests_given_nothing(client, db, agent, admin):
    """Three low-value customers leaving over price: the one at risk is offered a discount
    and stays; of the two thanked (no risk), one stays: 100 % against 50 %."""
    outcomes = {}
    for n, (name, outcome) in enumerate(
        (("Risque", "stayed_with_offer"), ("Merci", "cancelled"), ("Reste", "stayed_without"))
    ):
        person = client.post(
            "/api/v1/customers",
            json=customer_payload(last_name=name, emails=[f"save{n}@example.fr"]),
            headers=agent.headers,
        ).json()
        if n == 0:
            _score(db, person["id"], clv_cents=5_000, churn_risk=0.5)
        reference = f"SV-{n}"
        client.post(
            "/api/v1/subscriptions",
            json=subscription_payload(person["id"], reference=reference, price_cents=999),
            headers=agent.headers,
        )
        row = client.post(
            "/api/v1/cancellations",
            json={"name": name, "reference": reference, "channel": "phone", "reason": "price"},
            headers=agent.headers,
        ).json()
        outcomes[row["id"]] = (row["offer"]["kind"], outcome)
    assert sorted(kind for kind, _ in outcomes.values()) == ["discount", "thanks", "thanks"]
    for request_id, (_, outcome) in outcomes.items():
        done = client.post(
            f"/api/v1/cancellations/{request_id}/outcome",
            json={"outcome": outcome},
            headers=agent.headers,
        )
        assert done.status_code == 200, done.text
    figures = client.get("/api/v1/cancellations-report", headers=admin.headers).json()
    discount, total = figures["save_rate_against_no_offer"]
    assert discount == {
        "kind": "discount",
        "decided": 1,
        "matched": 1,
        "saved": 1.0,
        "control": 0.5,
    }
    assert total["kind"] == "all" and total["control"] == 0.5


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_suspended_contract_moves_its_commitment_and_resumes_at_its_end_date(
    client, db, agent, customer
):
    contract = client.post(
        "/api/v1/subscriptions",
        json=subscription_payload(customer["id"], commitment_end="2027-06-01"),
        headers=agent.headers,
    ).json()
    url = f"/api/v1/subscriptions/{contract['id']}/suspension"
    too_long = client.post(url, json={"resumes_on": "2027-12-01"}, headers=agent.headers)
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"].endswith("resumes_on")
    paused = client.post(
        url, json={"resumes_on": "2027-01-02", "note": "travelling"}, headers=agent.headers
    )
    assert paused.status_code == 200, paused.text
    body = paused.json()
    assert body["status"] == "suspended" and body["resumes_on"] == "2027-01-02"
    assert body["commitment_end"] == (date(2027, 6, 1) + timedelta(days=30)).isoformat()
    again = client.post(url, json={"resumes_on": "2027-01-10"}, headers=agent.headers)
    assert again.status_code == 409
    timeline = client.get(
        f"/api/v1/customers/{customer['id']}/timeline", headers=agent.headers
    ).json()
    events = timeline["items"] if isinstance(timeline, dict) else timeline
    assert any(e["kind"] == "subscription.suspended" for e in events)
    with db.unit_of_work() as session:
        day = datetime(2027, 1, 1, 9, tzinfo=UTC)
        assert service.resume_due(session, today=day.date(), now=day) == 0
        day = datetime(2027, 1, 2, 9, tzinfo=UTC)
        assert service.resume_due(session, today=day.date(), now=day) == 1
    back = client.get(f"/api/v1/subscriptions/{contract['id']}", headers=agent.headers).json()
    assert back["status"] == "active" and back["resumes_on"] is None
    history = client.get(
        f"/api/v1/subscriptions/{contract['id']}/history", headers=agent.headers
    ).json()
    assert [h["to_status"] for h in history][-2:] == ["suspended", "active"]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_suspended_contract_can_still_be_cancelled(client, agent, contract):
    client.post(
        f"/api/v1/subscriptions/{contract['id']}/suspension",
        json={"resumes_on": "2027-02-01"},
        headers=agent.headers,
    )
    row = client.post(
        "/api/v1/cancellations",
        json={"name": "Biosse", "reference": "FX100200", "channel": "phone"},
        headers=agent.headers,
    ).json()
    assert row["status"] == "registered" and row["end_date"] == "2026-12-13"
    sub = client.get(f"/api/v1/subscriptions/{contract['id']}", headers=agent.headers).json()
    assert sub["status"] == "notice_given"
