"""Service recovery through the HTTP API, on SQLite and PostgreSQL: gestures within budget
and above it, approvals, status exceptions, vouchers, events, letters, exceptions to the rules,
recommendations and the return report."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from egards.accounts.domain import Role
from egards.formats import format_day
from egards.i18n import render_message
from egards.loyalty.models import TierChange
from egards.outbox.models import OutboxMessage
from egards.outbox.service import build_email
from tests.integration.builders import customer_payload

TODAY = date.today()
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def supervisor(make_person):
    return make_person(Role.SUPERVISOR)


@pytest.fixture
def customer(client, agent):
    response = client.post(
        "/api/v1/customers",
        json=customer_payload(emails=["jean.moreau@example.org"], preferred_language="fr"),
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def member(client, agent, customer):
    response = client.post(
        "/api/v1/loyalty/members",
        json={
            "customer_id": customer["id"],
            "programme": "flying_blue",
            "on": (TODAY - timedelta(days=2000)).isoformat(),
        },
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def case(client, agent, customer):
    response = client.post(
        "/api/v1/cases",
        json={
            "channel": "phone",
            "customer_id": customer["id"],
            "subject": "Vol annulé, correspondance perdue",
            "message": "Mon vol a été annulé et personne ne m'a rappelé.",
            "category": "delay",
        },
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["case"]


def grant(client, person, **fields):
    return client.post("/api/v1/recovery/grants", json=fields, headers=person.headers)


def miles(customer, case, **extra):
    return {
        "customer_id": customer["id"],
        "case_id": case["id"],
        "gesture_code": "miles-2000",
        "reason_code": "broken_promise",
        "reason_text": "Nobody called back after the cancellation",
        **extra,
    }


def balance(client, person, member_id, currency="MILES"):
    data = client.get(f"/api/v1/loyalty/members/{member_id}", headers=person.headers).json()
    return next((b["available"] for b in data["balances"] if b["currency"] == currency), 0)


def test_gesture_within_budget_is_granted_at_once_everywhere(
    client, db, agent, customer, member, case
):
    # The notice comes from the application's own address, whatever the environment says.
    state = client.app.state
    state.settings = state.settings.model_copy(update={"mail_from": "relations@maison.example"})
    before = balance(client, agent, member["id"])
    response = grant(client, agent, **miles(customer, case, key="g-1"))
    assert response.status_code == 201, response.text
    gesture = response.json()
    assert gesture["status"] == "granted"
    assert gesture["cost_cents"] == 1400  # 2,000 miles at €7 per 1,000
    assert gesture["approval"] is None
    assert balance(client, agent, member["id"]) == before + 2000

    mine = client.get("/api/v1/recovery/budgets/mine", headers=agent.headers).json()
    assert mine["agent"]["spent_cents"] == 1400
    assert mine["team"]["spent_cents"] == 1400

    timeline = client.get(
        f"/api/v1/customers/{customer['id']}/timeline", headers=agent.headers
    ).json()
    items = timeline["items"] if isinstance(timeline, dict) else timeline
    assert any(item["kind"] == "recovery.grant" for item in items)
    thread = client.get(f"/api/v1/cases/{case['id']}/messages", headers=agent.headers).json()
    assert any("Gesture granted" in m["body_text"] for m in thread)

    with db.unit_of_work() as session:
        notice = session.scalar(
            select(OutboxMessage).where(OutboxMessage.key == f"recovery-grant-{gesture['id']}")
        )
        assert notice.recipient == "jean.moreau@example.org"
        assert notice.payload["from"] == "relations@maison.example"
        body = notice.payload["body"]
        assert "2\u202f000 Miles" in body and "Bonjour" in body  # French figures, unit by name


def test_same_key_grants_once_and_a_different_request_under_it_is_refused(
    client, agent, customer, member, case
):
    first = grant(client, agent, **miles(customer, case, key="same"))
    again = grant(client, agent, **miles(customer, case, key="same"))
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert balance(client, agent, member["id"]) == 2000

    other = grant(client, agent, **miles(customer, case, key="same", amount=3000))
    assert other.status_code == 409
    assert other.json()["errors"][0]["field"] == "key"
    assert balance(client, agent, member["id"]) == 2000


def test_above_budget_waits_for_a_supervisor_who_decides_once(
    client, agent, supervisor, customer, member, case
):
    mine = client.get("/api/v1/recovery/budgets/mine", headers=agent.headers).json()
    limit = client.put(
        "/api/v1/recovery/budgets",
        json={
            "scope": "agent",
            "owner": str(agent.user_id),
            "month": mine["month"],
            "limit_cents": 1000,
        },
        headers=supervisor.headers,
    )
    assert limit.status_code == 200, limit.text

    response = grant(client, agent, **miles(customer, case, key="big"))
    request = response.json()
    assert request["status"] == "pending"
    assert request["approval"]["reasons"] == ["over_agent_budget"]
    assert balance(client, agent, member["id"]) == 0  # nothing granted yet

    assert (
        client.post(
            f"/api/v1/recovery/approvals/{request['approval']['id']}/decision",
            json={"approve": True, "reason": "ok"},
            headers=agent.headers,
        ).status_code
        == 403
    )  # agents do not approve

    queue = client.get("/api/v1/recovery/approvals", headers=supervisor.headers).json()
    assert [g["id"] for g in queue] == [request["id"]]
    decided = client.post(
        f"/api/v1/recovery/approvals/{request['approval']['id']}/decision",
        json={"approve": True, "reason": "Loyal for years"},
        headers=supervisor.headers,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "granted"
    assert decided.json()["approval"]["decided_by"]
    assert balance(client, agent, member["id"]) == 2000

    twice = client.post(
        f"/api/v1/recovery/approvals/{request['approval']['id']}/decision",
        json={"approve": False, "reason": "changed my mind"},
        headers=supervisor.headers,
    )
    assert twice.status_code == 409
    assert balance(client, agent, member["id"]) == 2000

    spent = client.get(
        f"/api/v1/recovery/budgets?month={mine['month']}", headers=supervisor.headers
    ).json()
    agent_row = next(a for a in spent["agents"] if a["owner"] == str(agent.user_id))
    assert agent_row["spent_cents"] == 1400  # approved above the limit, and counted


def test_refused_request_grants_nothing(client, agent, supervisor, customer, member, case):
    request = grant(
        client,
        agent,
        **{**miles(customer, case), "gesture_code": "status-exception", "tier_action": "keep"},
    ).json()
    assert request["status"] == "pending"
    assert request["approval"]["reasons"] == ["status_exception"]
    refused = client.post(
        f"/api/v1/recovery/approvals/{request['approval']['id']}/decision",
        json={"approve": False, "reason": "Not justified"},
        headers=supervisor.headers,
    ).json()
    assert refused["status"] == "rejected"


def test_status_exception_keeps_the_tier_for_a_new_period(
    client, agent, supervisor, customer, member, case, db
):
    before = client.get(f"/api/v1/loyalty/members/{member['id']}", headers=agent.headers).json()
    request = grant(
        client,
        agent,
        **{**miles(customer, case), "gesture_code": "status-exception", "tier_action": "keep"},
    ).json()
    client.post(
        f"/api/v1/recovery/approvals/{request['approval']['id']}/decision",
        json={"approve": True, "reason": "Our cancellation"},
        headers=supervisor.headers,
    )
    after = client.get(f"/api/v1/loyalty/members/{member['id']}", headers=agent.headers).json()
    assert after["tier"] == before["tier"]
    assert date.fromisoformat(after["period_end"]) > date.fromisoformat(before["period_end"])
    assert date.fromisoformat(after["period_end"]) >= TODAY + timedelta(days=364)
    with db.unit_of_work() as session:  # the stored reason, read in both languages
        change = session.scalars(
            select(TierChange).where(
                TierChange.member_id == member["id"], TierChange.source == "exception"
            )
        ).one()
    end = date.fromisoformat(after["period_end"])
    why = "Nobody called back after the cancellation"
    assert render_message("en", change.message) == (
        f"Explorer held until {format_day(end, 'en')} by exception: {why}"
    )
    assert render_message("fr", change.message) == (
        f"Explorer maintenu jusqu'au {format_day(end, 'fr')} par dérogation : {why}"
    )


def test_voucher_is_used_once(client, agent, customer, case):
    voucher = grant(client, agent, **{**miles(customer, case), "gesture_code": "voucher-30"})
    code = voucher.json()["details"]["voucher_code"]
    assert voucher.json()["cost_cents"] == 1800  # €30 face value at 60 %
    first = client.post(
        f"/api/v1/recovery/vouchers/{code}/redemption",
        json={"reference": "order 1"},
        headers=agent.headers,
    )
    assert first.status_code == 200, first.text
    second = client.post(
        f"/api/v1/recovery/vouchers/{code}/redemption",
        json={"reference": "order 2"},
        headers=agent.headers,
    )
    assert second.status_code == 409
    assert "order 1" in second.json()["detail"]


def test_invitations_stop_at_capacity(client, agent, supervisor, customer, case):
    month = client.get("/api/v1/recovery/budgets/mine", headers=agent.headers).json()["month"]
    client.put(  # room for two €80 invitations in the agent's budget
        "/api/v1/recovery/budgets",
        json={"scope": "agent", "owner": str(agent.user_id), "month": month, "limit_cents": 50_000},
        headers=supervisor.headers,
    )
    event = client.post(
        "/api/v1/recovery/events",
        json={
            "name": "Members' evening",
            "place": "Hangar 3",
            "starts_at": (NOW + timedelta(days=20)).isoformat(),
            "capacity": 1,
        },
        headers=supervisor.headers,
    ).json()
    invited = grant(
        client, agent, **{**miles(customer, case), "gesture_code": "event", "event_id": event["id"]}
    )
    assert invited.json()["status"] == "granted", invited.text
    other = client.post(
        "/api/v1/customers", json=customer_payload(emails=["b@example.org"]), headers=agent.headers
    ).json()
    full = grant(
        client,
        agent,
        customer_id=other["id"],
        gesture_code="event",
        event_id=event["id"],
        reason_code="loyalty_thanks",
        reason_text="Thanks",
    )
    assert full.status_code == 409
    assert full.json()["errors"][0]["field"] == "event_id"

    invitation_id = invited.json()["details"]["invitation_id"]
    declined = client.post(
        f"/api/v1/recovery/invitations/{invitation_id}",
        json={"status": "declined"},
        headers=agent.headers,
    )
    assert declined.status_code == 200
    again = grant(
        client,
        agent,
        customer_id=other["id"],
        gesture_code="event",
        event_id=event["id"],
        reason_code="loyalty_thanks",
        reason_text="Thanks",
    )
    assert again.json()["status"] == "granted"  # the declined seat went to someone else


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": -5}, "amount"),
        ({"amount": 999_999}, "amount"),  # above the gesture's maximum
        ({"reason_code": "because"}, "reason_code"),
        ({"gesture_code": "caviar"}, "gesture_code"),
        ({"gesture_code": "letter"}, "letter.template_code"),
    ],
)
def test_bad_requests_name_the_field_and_change_nothing(
    client, agent, customer, member, case, change, field
):
    response = grant(client, agent, **{**miles(customer, case), **change})
    assert response.status_code in (404, 409, 422), response.text
    problem = response.json()
    assert field in (problem.get("field") or "") + str(problem.get("errors", ""))
    assert balance(client, agent, member["id"]) == 0
    assert client.get("/api/v1/recovery/grants", headers=agent.headers).json() == []


def test_no_gesture_for_an_erased_customer(client, admin, agent, customer):
    erased = client.post(
        f"/api/v1/customers/{customer['id']}/erase",
        json={"reason": "GDPR request"},
        headers=admin.headers,
    )
    assert erased.status_code in (200, 201), erased.text
    response = grant(
        client,
        agent,
        customer_id=customer["id"],
        gesture_code="voucher-30",
        reason_code="other",
        reason_text="x",
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "customer_id"


def test_recommendation_is_recorded_with_the_agents_choice(client, agent, customer, member, case):
    response = client.post(
        "/api/v1/recovery/recommendations",
        json={"customer_id": customer["id"], "case_id": case["id"]},
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    proposal = response.json()
    assert 1 <= len(proposal["proposals"]) <= 3
    first = proposal["proposals"][0]
    assert first["reason"]["en"] and first["reason"]["fr"]
    chosen = grant(
        client,
        agent,
        customer_id=customer["id"],
        case_id=case["id"],
        gesture_code=first["code"],
        reason_code="broken_promise",
        reason_text=first["reason"]["en"],
        recommendation_id=proposal["id"],
        tier_action="keep" if first["kind"] == "status_exception" else None,
        **(
            {"letter": {"template_code": "apology", "subject": "Pardon", "body": "Pardon."}}
            if first["kind"] == "letter"
            else {}
        ),
        **({"event_id": None} if first["kind"] != "event_invitation" else {}),
    )
    assert chosen.status_code == 201, chosen.text
    assert chosen.json()["recommended_rank"] == 1


def test_letter_is_drafted_edited_rendered_and_mailed_as_pdf(client, db, agent, customer, case):
    draft = client.post(
        "/api/v1/recovery/letters/draft",
        json={
            "customer_id": customer["id"],
            "case_id": case["id"],
            "template_code": "apology-delay",
        },
        headers=agent.headers,
    )
    assert draft.status_code == 200, draft.text
    text = draft.json()
    assert text["language"] == "fr"
    body = text["body"] + "\n\nJe vous rappellerai moi-même jeudi."
    sent = grant(
        client,
        agent,
        customer_id=customer["id"],
        case_id=case["id"],
        gesture_code="letter",
        reason_code="broken_promise",
        reason_text="Apology",
        letter={
            "template_code": "apology-delay",
            "subject": text["subject"],
            "body": body,
            "delivery": "email",
        },
    )
    assert sent.status_code == 201, sent.text
    letter_id = sent.json()["details"]["letter_id"]
    pdf = client.get(f"/api/v1/recovery/letters/{letter_id}.pdf", headers=agent.headers)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    with db.unit_of_work() as session:
        message = session.scalar(
            select(OutboxMessage).where(OutboxMessage.key == f"recovery-grant-{sent.json()['id']}")
        )
        mail = email.message_from_bytes(bytes(build_email(message.payload)))
        parts = [p for p in mail.walk() if p.get_filename()]
        assert parts[0].get_content_type() == "application/pdf"
        assert parts[0].get_payload(decode=True) == pdf.content


def test_exception_to_a_rule_is_decided_once_and_reported(client, agent, supervisor, case):
    proposed = client.post(
        "/api/v1/recovery/exceptions",
        json={
            "case_id": case["id"],
            "rule": "tier requalification",
            "why": "Our cancellation kept him from qualifying",
            "remedy": "Keep Gold one more year",
        },
        headers=agent.headers,
    )
    assert proposed.status_code == 201, proposed.text
    exception_id = proposed.json()["id"]
    decision = {"approve": True, "reason": "Fair"}
    url = f"/api/v1/recovery/exceptions/{exception_id}/decision"
    assert client.post(url, json=decision, headers=supervisor.headers).status_code == 200
    assert client.post(url, json=decision, headers=supervisor.headers).status_code == 409
    outcome = client.post(
        f"/api/v1/recovery/exceptions/{exception_id}/outcome",
        json={"outcome": "stayed"},
        headers=agent.headers,
    )
    assert outcome.json()["outcome"] == "stayed"
    report = client.get("/api/v1/recovery/exceptions/report", headers=agent.headers).json()
    assert report == [
        {
            "rule": "tier requalification",
            "total": 1,
            "proposed": 0,
            "approved": 1,
            "rejected": 0,
            "stayed": 1,
            "left": 0,
        }
    ]


def test_return_report_compares_gestures_with_similar_cases(client, app, agent, supervisor):
    """A gesture 120 days ago and a similar case without one: both are in the report."""
    past = NOW - timedelta(days=120)
    app.state.clock = lambda: past
    people = [
        client.post(
            "/api/v1/customers",
            json=customer_payload(emails=[f"p{i}@example.org"]),
            headers=agent.headers,
        ).json()
        for i in range(2)
    ]
    cases = [
        client.post(
            "/api/v1/cases",
            json={
                "channel": "phone",
                "customer_id": p["id"],
                "subject": "Late",
                "message": "Late",
                "category": "delay",
            },
            headers=agent.headers,
        ).json()["case"]
        for p in people
    ]
    given = grant(
        client,
        agent,
        customer_id=people[0]["id"],
        case_id=cases[0]["id"],
        gesture_code="voucher-30",
        reason_code="broken_promise",
        reason_text="Sorry",
    )
    assert given.json()["status"] == "granted"
    app.state.clock = None
    report = client.get("/api/v1/recovery/returns", headers=supervisor.headers)
    assert report.status_code == 200, report.text
    data = report.json()
    voucher = next(k for k in data["kinds"] if k["kind"] == "voucher")
    assert voucher["gestures"] == 1 and voucher["cost_cents"] == 1800
    assert data["method"]
    assert client.get("/api/v1/recovery/returns", headers=agent.headers).status_code == 403


def test_supervisors_are_reminded_once_of_a_decision_past_its_promise(
    client, db, settings, agent, supervisor, customer, member, case, make_person
):
    from egards.accounts.domain import Role
    from egards.accounts.models import User
    from egards.worker import run_once

    english = make_person(Role.SUPERVISOR)  # accounts are created in French: this one reads English
    with db.unit_of_work() as session:
        session.get_one(User, english.user_id).locale = "en"

    request = grant(
        client,
        agent,
        **{**miles(customer, case), "gesture_code": "status-exception", "tier_action": "keep"},
    ).json()
    due = datetime.fromisoformat(request["approval"]["due_at"])
    job = {"recovery-overdue-approvals"}
    assert run_once(db, settings, only=job, now=due - timedelta(minutes=1))[
        "recovery-overdue-approvals"
    ].startswith("0 overdue")
    for _ in range(2):  # a second pass tells no one twice
        run_once(db, settings, only=job, now=due + timedelta(hours=2))
    with db.unit_of_work() as session:
        sent = session.scalars(
            select(OutboxMessage).where(OutboxMessage.ref_type == "recovery_approval")
        ).all()
    by_person = {m.recipient: m.payload for m in sent}
    assert len(sent) == 2 and by_person.keys() == {supervisor.email, english.email}
    french, in_english = by_person[supervisor.email], by_person[english.email]
    assert french["subject"] == "Geste en attente de votre décision depuis 2 h"
    assert "a demandé" in french["body"] and "heure de Paris" in french["body"]
    assert in_english["subject"] == "Gesture awaiting your decision for 2 h"
    assert "asked for" in in_english["body"] and "Paris time" in in_english["body"]
