"""The voice of the customer through the HTTP API, on SQLite and PostgreSQL: every inbound
message analysed on arrival, a written churn threat raising the churn risk at once with its
words, corrections kept for training, and the CSAT survey after a resolved case under its
rules (consent, one per period, one answer, links that expire, forged links refused)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from egards.accounts.domain import Role
from egards.analytics.models import CustomerScore, ScoreRun
from egards.formats import format_day
from egards.outbox.models import OutboxMessage
from egards.voice.models import Invitation
from tests.integration.builders import customer_payload

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings, db, clock):
    from egards.app import create_app

    settings.mail_from = "service@egards.test"
    application = create_app(settings, db)
    application.state.clock = clock
    return application


@pytest.fixture
def supervisor(make_person):
    return make_person(Role.SUPERVISOR)


def new_customer(client, person, *, consent: bool = True, language: str = "fr") -> dict:
    response = client.post(
        "/api/v1/customers",
        json=customer_payload(preferred_language=language),
        headers=person.headers,
    )
    assert response.status_code == 201, response.text
    customer = response.json()
    if consent:
        response = client.post(
            f"/api/v1/customers/{customer['id']}/consents",
            json={"purpose": "surveys", "channel": "email", "granted": True, "source": "web"},
            headers=person.headers,
        )
        assert response.status_code in (200, 201), response.text
    return customer


def open_case(client, person, customer_id: int | None, message: str, **extra) -> dict:
    payload = {
        "channel": "email",
        "subject": extra.pop("subject", "Ma réclamation"),
        "message": message,
        **({"customer_id": customer_id} if customer_id else {}),
        **extra,
    }
    response = client.post("/api/v1/cases", json=payload, headers=person.headers)
    assert response.status_code == 201, response.text
    return response.json()["case"]


def resolve(client, person, case_id: int) -> None:
    response = client.post(
        f"/api/v1/cases/{case_id}/replies",
        json={"body": "C'est réglé, bonne journée.", "then_status": "resolved"},
        headers=person.headers,
    )
    assert response.status_code == 201, response.text


def survey_mail(db, case_id: int) -> OutboxMessage | None:
    with db.unit_of_work() as session:
        invitation = session.scalar(select(Invitation).where(Invitation.case_id == case_id))
        if invitation is None:
            return None
        found = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.ref_type == "voice_invitation",
                OutboxMessage.ref_id == str(invitation.id),
            )
            .order_by(OutboxMessage.id)  # the latest last (a heap returns rows in no order)
        ).all()
        session.expunge_all()
        return found[-1] if found else None


def token_of(mail: OutboxMessage) -> str:
    found = re.search(r"/survey/([A-Za-z0-9_\-]+)\?rating=5", mail.payload["body"])
    assert found, mail.payload
    return found.group(1)


def score(db, customer_id: int, risk: float = 0.02) -> None:
    with db.unit_of_work() as session:
        run = ScoreRun(status="succeeded", as_of=NOW.date(), source="all", requested_by="tests")
        session.add(run)
        session.flush()
        session.add(
            CustomerScore(
                customer_id=customer_id,
                run_id=run.id,
                scored_on=NOW.date(),
                model_version="test",
                purchases=12,
                spend_cents=500_000,
                mean_spend_cents=40_000,
                first_purchase_on=date(2015, 1, 1),
                last_purchase_on=date(2026, 11, 1),
                days_since_last=30,
                expected_purchases_12m=8.0,
                probability_alive=0.95,
                expected_spend_cents=300_000,
                clv_cents=900_000,
                value_decile=10,
                rfm=555,
                segment="champions",
                churn_risk=risk,
                churn_reasons="",
            )
        )


def test_every_inbound_message_is_analysed_on_arrival(client, agent):
    customer = new_customer(client, agent)
    case = open_case(
        client, agent, customer["id"], "Ma valise n'est pas arrivée à Nice, trois jours sans rien."
    )
    response = client.get(f"/api/v1/voice/analyses?case_id={case['id']}", headers=agent.headers)
    assert response.status_code == 200, response.text
    [analysis] = response.json()
    assert analysis["language"] == "fr"
    assert analysis["sentiment"] == "negative"
    assert analysis["topic"] == "baggage"
    assert analysis["churn_threat"] is False


def test_a_message_in_another_language_is_labelled_other(client, agent):
    response = client.post(
        "/api/v1/voice/analyse",
        json={"text": "Mein Flug wurde gestrichen und ich habe keine Erstattung bekommen."},
        headers=agent.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["language"] == "other"


def test_a_written_churn_threat_raises_the_churn_risk_at_once_with_its_words(
    client, agent, supervisor, db
):
    customer = new_customer(client, agent)
    score(db, customer["id"], risk=0.01)
    case = open_case(
        client,
        agent,
        customer["id"],
        "Après vingt ans, je ne serai plus un client Air France si rien ne change.",
        priority="normal",
    )
    response = client.get(
        f"/api/v1/analytics/customers/{customer['id']}/score", headers=supervisor.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["churn_risk"] >= 0.8
    assert any("je ne serai plus un client Air France" in r for r in body["reasons"])
    assert any(r.startswith("wrote on 3 December") for r in body["reasons"])
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=agent.headers).json()
    assert detail["priority"] == "high"  # a top-decile customer threatening to leave


def test_an_agent_corrects_a_label_and_training_uses_it(client, agent, supervisor, db):
    from egards.accounts.domain import SYSTEM
    from egards.voice import service

    customer = new_customer(client, agent)
    case = open_case(
        client, agent, customer["id"], "Bonjour, où en est ma demande de remboursement ?"
    )
    [analysis] = client.get(
        f"/api/v1/voice/analyses?case_id={case['id']}", headers=agent.headers
    ).json()
    response = client.post(
        f"/api/v1/voice/analyses/{analysis['id']}/correction",
        json={"topic": "billing", "sentiment": "negative"},
        headers=agent.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["corrected_topic"] == "billing"
    with db.unit_of_work() as session:
        examples = service.corrections(session)
    assert [(e.topic, e.sentiment) for e in examples] == [("billing", "negative")]
    refused = client.post(
        f"/api/v1/voice/analyses/{analysis['id']}/correction",
        json={"topic": "weather"},
        headers=agent.headers,
    )
    assert refused.status_code == 422
    unknown = client.post(
        "/api/v1/voice/analyses/987654/correction",
        json={"topic": "billing"},
        headers={**agent.headers, "Accept-Language": "fr"},
    )
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "analyse 987654 introuvable"
    assert unknown.json()["errors"] == [
        {"field": "analysis_id", "reason": "analyse 987654 introuvable"}
    ]
    with db.unit_of_work() as session:
        assert service.train_model(session, actor=SYSTEM)["corrections"] == 1


def test_a_resolved_case_sends_one_survey_answered_once_by_its_link(client, agent, supervisor, db):
    customer = new_customer(client, agent, language="fr")
    case = open_case(client, agent, customer["id"], "Ma facture est fausse ce mois-ci.")
    resolve(client, agent, case["id"])
    mail = survey_mail(db, case["id"])
    assert mail is not None and "Votre avis" in mail.payload["subject"]
    token = token_of(mail)
    page = client.get(f"/survey/{token}?rating=4")
    assert page.status_code == 200 and 'id="rating-4"' in page.text
    answer = client.post(
        f"/api/v1/voice/surveys/{token}/answer",
        json={"rating": 4, "comment": "Rapide et efficace, merci", "answers": {"recommend": 9}},
    )
    assert answer.status_code == 200, answer.text
    again = client.post(f"/api/v1/voice/surveys/{token}/answer", json={"rating": 1})
    assert again.status_code == 409 and again.json()["code"] == "survey_closed"
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=agent.headers).json()
    assert detail["satisfaction"] == 4
    report = client.get("/api/v1/voice/csat", headers=supervisor.headers).json()
    assert report["overall"] == {
        "sent": 1,
        "answered": 1,
        "csat": 100.0,
        "response_rate": 100.0,
        "nps": 100,
        "mean": 4.0,
    }


def test_a_french_reminder_says_rappel_and_its_link_s_last_day_in_words(client, agent, db):
    from egards.voice import service

    customer = new_customer(client, agent, language="fr")
    case = open_case(client, agent, customer["id"], "Ma facture est fausse ce mois-ci.")
    resolve(client, agent, case["id"])
    with db.unit_of_work() as session:
        sent = service.send_reminders(session, now=NOW + timedelta(days=4))
        invitation = session.scalar(select(Invitation).where(Invitation.case_id == case["id"]))
        assert invitation is not None
        expires = invitation.expires_at
    assert sent == 1
    mail = survey_mail(db, case["id"])
    assert mail is not None and mail.payload["subject"].startswith("Rappel : Votre avis")
    assert f"jusqu'au {format_day(expires, 'fr')}." in mail.payload["body"]
    assert mail.payload["body"].startswith("Bonjour,\n\nVotre demande C-")
    assert "5 – Très satisfait: " in mail.payload["body"]


def test_no_survey_without_consent_nor_twice_in_a_period(client, agent, db, clock):
    refuses = new_customer(client, agent, consent=False)
    case = open_case(client, agent, refuses["id"], "Problème de livraison.")
    resolve(client, agent, case["id"])
    assert survey_mail(db, case["id"]) is None
    agrees = new_customer(client, agent)
    first = open_case(client, agent, agrees["id"], "Problème de facture.")
    resolve(client, agent, first["id"])
    clock.now += timedelta(days=5)
    second = open_case(client, agent, agrees["id"], "Encore un problème de facture.")
    resolve(client, agent, second["id"])
    assert survey_mail(db, first["id"]) is not None
    assert survey_mail(db, second["id"]) is None


def test_forged_and_expired_links_are_refused(client, agent, db, clock):
    forged = client.post(
        "/api/v1/voice/surveys/AAAAAAAAAAAAAAAAAAAAAAAA/answer", json={"rating": 5}
    )
    assert forged.status_code == 404 and forged.json()["code"] == "survey_link_invalid"
    customer = new_customer(client, agent)
    case = open_case(client, agent, customer["id"], "Souci de réseau.")
    resolve(client, agent, case["id"])
    token = token_of(survey_mail(db, case["id"]))
    clock.now += timedelta(days=30)
    expired = client.post(f"/api/v1/voice/surveys/{token}/answer", json={"rating": 5})
    assert expired.status_code == 409 and expired.json()["code"] == "survey_expired"
    assert client.get(f"/survey/{token}").status_code == 410


def test_a_low_score_opens_a_follow_up_case_with_a_promise(client, agent, db):
    customer = new_customer(client, agent, language="en")
    case = open_case(client, agent, customer["id"], "My bill is wrong.", subject="Bill")
    resolve(client, agent, case["id"])
    token = token_of(survey_mail(db, case["id"]))
    answer = client.post(
        f"/api/v1/voice/surveys/{token}/answer",
        json={"rating": 1, "comment": "Nobody listened to me."},
    )
    assert answer.status_code == 200, answer.text
    follow_up = answer.json()["follow_up_case_id"]
    detail = client.get(f"/api/v1/cases/{follow_up}", headers=agent.headers).json()
    assert detail["subject"].startswith("Close the loop: satisfaction 1/5")
    assert detail["priority"] == "high"
    assert detail["sla"]["first_response_due_at"] is not None  # the promise to the customer


def test_a_french_customers_follow_up_case_is_written_in_french(client, agent, db):
    customer = new_customer(client, agent, language="fr")
    case = open_case(client, agent, customer["id"], "Ma facture est fausse.", subject="Facture")
    resolve(client, agent, case["id"])
    token = token_of(survey_mail(db, case["id"]))
    answer = client.post(f"/api/v1/voice/surveys/{token}/answer", json={"rating": 2})
    follow_up = answer.json()["follow_up_case_id"]
    detail = client.get(f"/api/v1/cases/{follow_up}", headers=agent.headers).json()
    assert detail["subject"].startswith("Boucler la boucle : satisfaction 2/5 sur C-")


def test_an_agent_can_no_longer_post_a_rating_for_the_customer(client, agent, supervisor):
    customer = new_customer(client, agent)
    case = open_case(client, agent, customer["id"], "Question de prix.")
    resolve(client, agent, case["id"])
    refused = client.post(
        f"/api/v1/cases/{case['id']}/satisfaction", json={"score": 5}, headers=agent.headers
    )
    assert refused.status_code == 403
    imported = client.post(
        f"/api/v1/cases/{case['id']}/satisfaction", json={"score": 3}, headers=supervisor.headers
    )
    assert imported.status_code == 200, imported.text


def test_the_console_shows_analyses_threats_and_surveys_and_takes_corrections(
    client, agent, supervisor, db
):
    from tests.conftest import login

    customer = new_customer(client, agent)
    case = open_case(
        client, agent, customer["id"], "Troisième coupure ce mois-ci, je change d'opérateur."
    )
    resolve(client, agent, case["id"])
    token = token_of(survey_mail(db, case["id"]))
    client.post(f"/api/v1/voice/surveys/{token}/answer", json={"rating": 2})
    csrf = login(client, supervisor.email)
    case_page = client.get(f"/cases/{case['id']}")
    assert case_page.status_code == 200
    assert 'id="voice-case"' in case_page.text and "churn-threat" in case_page.text
    assert 'id="case-csat"' in case_page.text and "2/5" in case_page.text
    customer_page = client.get(f"/customers/{customer['id']}")
    assert 'id="voice-customer"' in customer_page.text and "je change d" in customer_page.text
    [analysis] = client.get(
        f"/api/v1/voice/analyses?case_id={case['id']}", headers=agent.headers
    ).json()
    corrected = client.post(
        f"/voice/analyses/{analysis['id']}/correct",
        data={
            "csrf_token": csrf,
            "sentiment": "negative",
            "topic": "outage",
            "churn_threat": "no",
            "back": f"/cases/{case['id']}",
        },
        follow_redirects=False,
    )
    assert corrected.status_code == 303, corrected.text
    after = client.get(f"/api/v1/voice/analyses?case_id={case['id']}", headers=agent.headers)
    assert after.json()[0]["corrected_churn"] is False
    report = client.get("/voice/surveys")
    assert report.status_code == 200 and 'id="csat-overall"' in report.text


def test_root_causes_count_messages_threats_and_csat_by_topic_with_a_drill_down(
    client, agent, supervisor, db
):
    from tests.conftest import login

    customer = new_customer(client, agent, language="en")
    billing = open_case(client, agent, customer["id"], "You charged my card twice this month.")
    open_case(client, agent, None, "My suitcase never arrived in Boston, four days now.")
    resolve(client, agent, billing["id"])
    token = token_of(survey_mail(db, billing["id"]))
    client.post(f"/api/v1/voice/surveys/{token}/answer", json={"rating": 5})
    assert client.get("/api/v1/voice/root-causes", headers=agent.headers).status_code == 403
    report = client.get("/api/v1/voice/root-causes", headers=supervisor.headers).json()
    by_topic = {t["topic"]: t for t in report["topics"]}
    assert by_topic["billing"]["messages"] == 1 and by_topic["billing"]["csat"] == 100.0
    assert by_topic["baggage"]["messages"] == 1 and by_topic["baggage"]["negative"] == 1
    assert report["months"] == ["2026-12"]
    login(client, supervisor.email)
    page = client.get("/voice/root-causes?topic=baggage")
    assert page.status_code == 200 and "suitcase never arrived" in page.text
    # The charts are drawn on the page, each root cause with its count.
    charts = page.text.split('id="root-cause-charts"', 1)[1].split("</section>", 1)[0]
    assert charts.count("<svg") == 2 and re.search(r"<title>Bagages?: 1</title>", charts)
    csv_text = client.get("/voice/root-causes.csv").text
    assert csv_text.splitlines()[0].startswith("topic,messages,negative_share")
    assert any(line.startswith("billing,1,") for line in csv_text.splitlines())


def test_a_written_threat_holds_through_nightly_scoring_unless_an_agent_corrects_it(
    client, agent, db
):
    from egards.voice import service

    customer = new_customer(client, agent)
    case = open_case(client, agent, customer["id"], "Je vais résilier et partir chez Free.")
    with db.unit_of_work() as session:
        held = service.stated_churn_threats(session, as_of=NOW.date())
    [(customer_id, floor, reason)] = held
    assert customer_id == customer["id"] and floor == 0.8
    assert reason.startswith("stated:2026-12-03:")
    [analysis] = client.get(
        f"/api/v1/voice/analyses?case_id={case['id']}", headers=agent.headers
    ).json()
    client.post(
        f"/api/v1/voice/analyses/{analysis['id']}/correction",
        json={"churn_threat": False},
        headers=agent.headers,
    )
    with db.unit_of_work() as session:
        assert service.stated_churn_threats(session, as_of=NOW.date()) == []
        assert service.stated_churn_threats(session, as_of=NOW.date() + timedelta(days=120)) == []
