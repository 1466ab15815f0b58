"""Promises over time: pauses, the "no silence" view, escalation and delivery by the worker."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from egards.audit.models import AuditRecord
from egards.cases.models import CaseEscalation
from egards.customers.models import TimelineEvent
from egards.outbox.models import OutboxMessage
from egards.worker import run_once
from tests.integration.cases.conftest import create_customer, log_call, outbox_rows


def silence(client, person):
    response = client.get("/api/v1/cases/no-silence", headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json()


def waiting_ids(client, person):
    return [item["case"]["id"] for item in silence(client, person)["items"]]


def status(client, person, case_id, target, reason=None):
    return client.post(
        f"/api/v1/cases/{case_id}/status",
        json={"status": target, "reason": reason},
        headers=person.headers,
    )


def test_the_no_silence_view_lists_oldest_deadline_first_and_counts_those_past_promise(
    client, agent, clock
):
    customer = create_customer(client, agent)
    standard = log_call(client, agent, customer_id=customer["id"], channel="email")["case"]
    clock.advance(minutes=30)
    urgent = log_call(client, agent, customer_id=customer["id"], priority="urgent")["case"]
    assert waiting_ids(client, agent) == [urgent["id"], standard["id"]]
    clock.advance(hours=3)
    view = silence(client, agent)
    assert (view["waiting"], view["past_promise"]) == (2, 1)
    assert view["items"][0]["seconds_left"] < 0


def test_a_case_leaves_the_no_silence_view_only_by_an_answer_or_a_justified_closure(
    client, agent, supervisor
):
    customer = create_customer(client, agent)
    answered = log_call(client, agent, customer_id=customer["id"])["case"]
    closed = log_call(client, agent, customer_id=customer["id"])["case"]
    by_agent = status(client, agent, closed["id"], "closed", "duplicate")
    assert by_agent.status_code == 403
    unjustified = status(client, supervisor, closed["id"], "resolved")
    assert unjustified.status_code == 422
    assert unjustified.json()["code"] == "case_closure_reason_required"
    waiting = status(client, agent, closed["id"], "waiting_on_customer")
    assert waiting.status_code == 200 and closed["id"] in waiting_ids(client, agent)
    assert sorted(waiting_ids(client, agent)) == sorted([answered["id"], closed["id"]])
    reply = client.post(
        f"/api/v1/cases/{answered['id']}/replies",
        json={"body": "Le technicien passe jeudi."},
        headers=agent.headers,
    )
    assert reply.status_code == 201
    justified = status(client, supervisor, closed["id"], "closed", "Same request as C-000001")
    assert justified.status_code == 200, justified.text
    assert justified.json()["closure_reason"] == "Same request as C-000001"
    assert waiting_ids(client, agent) == []


def test_the_answer_stops_the_first_response_clock_and_a_new_message_reopens(
    client, agent, clock, db
):
    customer = create_customer(client, agent)
    case = log_call(client, agent, customer_id=customer["id"])["case"]
    clock.advance(hours=1)
    client.post(
        f"/api/v1/cases/{case['id']}/replies",
        json={"body": "Résolu.", "then_status": "resolved"},
        headers=agent.headers,
    ).raise_for_status()
    after = client.get(f"/api/v1/cases/{case['id']}", headers=agent.headers).json()
    assert after["status"] == "resolved"
    assert after["sla"]["first_response_at"] == "2026-11-24T10:00:00Z"
    assert after["sla"]["first_response_breached"] is False
    # The customer writes again by e-mail, replying to our answer: the case reopens.
    reply_id = next(o for o in outbox_rows(db) if o.key.startswith("case-reply")).payload[
        "message_id"
    ]
    raw = (
        f"From: {customer['identities'][0]['value']}\r\nTo: service@egards.test\r\n"
        f"Subject: Re: [#{case['number']}] suite\r\nMessage-ID: <again@example.fr>\r\n"
        f"In-Reply-To: {reply_id}\r\n\r\nFinalement ça recoupe.\r\n"
    ).encode()
    clock.advance(hours=1)
    received = client.post(
        "/api/v1/cases/inbound-email",
        content=raw,
        headers={**agent.headers, "Content-Type": "message/rfc822"},
    )
    assert received.json()["case_id"] == case["id"], received.text
    reopened = client.get(f"/api/v1/cases/{case['id']}", headers=agent.headers).json()
    assert reopened["status"] == "open"
    assert reopened["sla"]["next_response_due_at"] is not None
    assert case["id"] in waiting_ids(client, agent)


def test_waiting_on_the_customer_pauses_the_clocks(client, agent, clock):
    customer = create_customer(client, agent)
    case = log_call(client, agent, customer_id=customer["id"], channel="email")["case"]
    due = case["sla"]["resolution_due_at"]
    clock.advance(hours=1)
    paused = status(client, agent, case["id"], "waiting_on_customer").json()
    assert paused["sla"]["sla_state"] == "paused"
    clock.advance(hours=3)  # three business hours on Tuesday afternoon
    resumed = status(client, agent, case["id"], "open").json()
    assert resumed["sla"]["sla_state"] == "on_track"
    assert resumed["sla"]["resolution_due_at"] > due
    assert resumed["sla"]["first_response_due_at"] > case["sla"]["first_response_due_at"]


def test_the_worker_escalates_once_per_step_on_timeline_and_audit(
    client, agent, supervisor, clock, db, settings, mailer
):
    customer = create_customer(client, agent)
    case = log_call(client, agent, customer_id=customer["id"], channel="email")["case"]
    # Standard policy: 8 business hours for the first answer, from Tuesday 10:00.
    clock.advance(hours=7)  # 17:00, 7 h elapsed: past 75 %
    results = run_once(db, settings, mailer=mailer, now=clock.now)
    assert "1 escalation steps fired" in results["sla_sweep"], results
    again = run_once(db, settings, mailer=mailer, now=clock.now)
    assert "0 escalation steps fired" in again["sla_sweep"]
    clock.now += timedelta(days=1)  # Wednesday 17:00: breached, and 2 h past it
    run_once(db, settings, mailer=mailer, now=clock.now)
    with db.unit_of_work() as session:
        steps = session.scalars(
            select(CaseEscalation.step_key)
            .where(CaseEscalation.case_id == case["id"], CaseEscalation.metric == "first_response")
            .order_by(CaseEscalation.id)
        ).all()
        audited = session.scalars(
            select(AuditRecord.reason).where(AuditRecord.action == "case.escalate")
        ).all()
        timeline = session.scalars(
            select(TimelineEvent.summary).where(TimelineEvent.kind == "case.escalated")
        ).all()
        notices = session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.key.startswith("case-escalation"))
        ).all()
    assert steps == ["warn_assignee", "notify_supervisor_at_breach", "reassign_to_supervisors"]
    assert len(audited) >= 3 and len(timeline) >= 3
    assert supervisor.email in notices
    after = client.get(f"/api/v1/cases/{case['id']}", headers=agent.headers).json()
    assert after["team"] == "supervisors"
    assert after["sla"]["sla_state"] == "breached"
    assert silence(client, agent)["past_promise"] == 1


def test_the_outbox_delivers_once_and_retries_with_backoff(client, agent, db, settings, clock):
    from egards.outbox.service import MemoryMailer

    customer = create_customer(client, agent)
    log_call(client, agent, customer_id=customer["id"])
    failing = MemoryMailer(fail_next=1)
    first = run_once(db, settings, mailer=failing, now=clock.now, only={"outbox"})
    assert first["outbox"] == "0 sent, 1 to retry, 0 given up"
    [row] = outbox_rows(db)
    assert row.attempts == 1 and row.next_attempt_at == clock.now + timedelta(minutes=1)
    too_early = run_once(db, settings, mailer=failing, now=clock.now, only={"outbox"})
    assert too_early["outbox"].startswith("0 sent, 0")
    clock.advance(minutes=1)
    run_once(db, settings, mailer=failing, now=clock.now, only={"outbox"})
    run_once(db, settings, mailer=failing, now=clock.now, only={"outbox"})
    assert len(failing.sent) == 1
    [message] = failing.sent
    assert message["To"] == customer["identities"][0]["value"]
    assert message["Message-ID"] == outbox_rows(db)[0].payload["message_id"]


def test_enqueueing_twice_with_one_key_is_one_message(db, clock):
    from egards.outbox.service import enqueue_email

    with db.unit_of_work() as session:
        for _ in range(2):
            enqueue_email(
                session, key="k-1", sender="a@x.test", to="b@y.test", subject="s", body="b",
                now=clock.now,
            )  # fmt: skip
    assert len(outbox_rows(db)) == 1


def test_the_no_silence_totals_follow_answers_closures_and_sweeps(
    client, agent, supervisor, clock, db, settings, mailer
):
    from egards.cases import service

    customer = create_customer(client, agent)
    cases = [
        log_call(client, agent, customer_id=customer["id"], channel="email")["case"]
        for _ in range(3)
    ]
    clock.advance(hours=9)  # past the 8-hour promise, before any sweep
    assert (silence(client, agent)["waiting"], silence(client, agent)["past_promise"]) == (3, 3)
    run_once(db, settings, mailer=mailer, now=clock.now, only={"sla_sweep"})
    assert silence(client, agent)["past_promise"] == 3
    client.post(
        f"/api/v1/cases/{cases[0]['id']}/replies", json={"body": "Voilà."}, headers=agent.headers
    ).raise_for_status()
    status(client, supervisor, cases[1]["id"], "closed", "Spam").raise_for_status()
    view = silence(client, agent)
    assert (view["waiting"], view["past_promise"]) == (1, 1)
    with db.unit_of_work() as session:
        kept = (service._counter(session, "waiting"), service._counter(session, "overdue"))
        assert service.recount(session) == kept == (1, 1)
