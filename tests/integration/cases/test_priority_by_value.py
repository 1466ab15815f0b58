"""Priority by value (seed 004): the promise comes from the sender's live tier, the queues
put value before audience, and a large audience only flags public exposure."""

from __future__ import annotations

import json
import re
from email.message import EmailMessage

import pytest

from egards.accounts.domain import Role
from egards.cases.intake import sign_webhook
from tests.conftest import login
from tests.integration.cases.conftest import create_customer

CHANNELS = ("email", "phone", "shop", "letter")


def _member(client, agent, supervisor, tier: str, email: str | None = None) -> dict:
    customer = create_customer(client, agent, **({"emails": [email]} if email else {}))
    enrolled = client.post(
        "/api/v1/loyalty/members",
        json={"customer_id": customer["id"], "programme": "flying_blue"},
        headers=agent.headers,
    )
    assert enrolled.status_code == 201, enrolled.text
    if tier != "explorer":
        changed = client.post(
            f"/api/v1/loyalty/members/{enrolled.json()['id']}/tier-exception",
            json={"tier": tier, "justification": "Status matched from another airline"},
            headers=supervisor.headers,
        )
        assert changed.status_code == 200, changed.text
    return customer


@pytest.fixture
def supervisor(make_person):
    return make_person(Role.SUPERVISOR)


def _log(client, agent, customer, channel):
    response = client.post(
        "/api/v1/cases",
        json={
            "channel": channel,
            "subject": "Where is my refund?",
            "message": "Still waiting for the refund of my cancelled order.",
            "customer_id": customer["id"],
        },
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["case"]


def _email(client, agent, address: str, subject: str):
    message = EmailMessage()
    message["From"] = address
    message["To"] = "service@egards.test"
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@example.fr>"
    message.set_content("Bonjour, j'attends toujours une réponse.")
    response = client.post(
        "/api/v1/cases/inbound-email",
        content=message.as_bytes(),
        headers={**agent.headers, "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def _mention(client, clock, **fields):
    payload = {
        "network": "x",
        "handle": "@loud_voice",
        "author_name": "Loud Voice",
        "text": "Service client inexistant, je préviens mes 50 000 abonnés !",
        "external_id": "1870000000001",
        "followers": 50_000,
        "verified": True,
        **fields,
    }
    body = json.dumps(payload).encode()
    timestamp = str(int(clock.now.timestamp()))
    return client.post(
        "/api/v1/cases/social-mentions",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Egards-Timestamp": timestamp,
            "X-Egards-Signature": sign_webhook("social-secret", timestamp, body),
        },
    )


def test_a_gold_members_promise_is_shorter_than_an_explorers_on_every_channel(
    client, agent, supervisor
):
    gold = _member(client, agent, supervisor, "gold")
    explorer = _member(client, agent, supervisor, "explorer")
    for channel in CHANNELS:
        gold_case = _log(client, agent, gold, channel)
        explorer_case = _log(client, agent, explorer, channel)
        assert gold_case["service_level"] == "priority"
        assert explorer_case["service_level"] == "standard"
        assert (
            gold_case["sla"]["first_response_due_at"]
            < explorer_case["sla"]["first_response_due_at"]
        ), channel


def test_the_tier_is_read_from_the_loyalty_file_when_an_email_arrives(client, agent, supervisor):
    gold = _member(client, agent, supervisor, "platinum", "anne.platine@example.fr")
    received = _email(client, agent, "anne.platine@example.fr", "Bagage perdu")
    case = client.get(f"/api/v1/cases/{received['case_id']}", headers=agent.headers).json()
    assert case["customer_id"] == gold["id"]
    assert case["service_level"] == "dedicated"
    assert case["sla"]["sla_policy"] == "priority_service"


def test_a_loud_non_customer_is_flagged_but_waits_behind_a_silent_gold_customer(
    client, agent, supervisor, clock
):
    gold = _member(client, agent, supervisor, "gold", "silent.gold@example.fr")
    loud = _mention(client, clock)
    assert loud.status_code == 201, loud.text
    mention_case = loud.json()["case"]
    assert mention_case["customer_id"] is None
    assert mention_case["priority"] == "normal"
    assert mention_case["public_exposure"] is True
    assert mention_case["team"] == "social"
    assert mention_case["audience"] == 50_000
    assert mention_case["sla"]["sla_policy"] == "social"
    received = _email(client, agent, "silent.gold@example.fr", "Silent gold")
    gold_case = client.get(f"/api/v1/cases/{received['case_id']}", headers=agent.headers).json()
    assert gold_case["customer_id"] == gold["id"]
    assert gold_case["public_exposure"] is False
    assert gold_case["sla"]["reply_due_at"] < mention_case["sla"]["reply_due_at"]
    inbox = client.get("/api/v1/cases", headers=agent.headers).json()["items"]
    order = [item["id"] for item in inbox]
    assert order.index(gold_case["id"]) < order.index(mention_case["id"])
    silence = client.get("/api/v1/cases/no-silence", headers=agent.headers).json()
    waiting = [row["case"]["id"] for row in silence["items"]]
    assert waiting.index(gold_case["id"]) < waiting.index(mention_case["id"])


@pytest.mark.parametrize(("locale", "shown"), [("en", "50,000"), ("fr", "50\u202f000")])
def test_the_case_page_writes_its_number_audience_and_policy_in_the_readers_language(
    client, supervisor, clock, locale, shown
):
    case = _mention(client, clock).json()["case"]
    token = login(client, supervisor.email)
    client.post("/locale", data={"locale": locale, "csrf_token": token, "next": "/cases"})
    page = client.get(f"/cases/{case['id']}").text
    audience = re.search(r"<dd data-audience>([^<]*)</dd>", page)
    assert audience is not None and audience.group(1).startswith(shown + " "), page[:300]
    assert f"<title>C-{case['id']:06d} · " in page
    policy = re.search(r'<p class="small muted" id="sla-policy">([^<]*)</p>', page)
    assert policy is not None and policy.group(1) == (
        "Policy: social" if locale == "en" else "Politique : réseaux sociaux"
    )


def test_a_small_audience_is_not_public_exposure(client, clock):
    quiet = _mention(client, clock, followers=12, external_id="1870000000002")
    assert quiet.status_code == 201
    assert quiet.json()["case"]["public_exposure"] is False
    assert quiet.json()["case"]["team"] == "support"


@pytest.mark.parametrize("followers", [-5, "12k", 1.5, "1000"])
def test_an_absurd_audience_is_refused_naming_the_field(client, clock, followers):
    refused = _mention(client, clock, followers=followers, external_id="1870000000003")
    assert refused.status_code == 422
    assert "followers" in refused.text
