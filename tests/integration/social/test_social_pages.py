"""The social console: review without the score, influence beside value with its lists and
export, the duplicates queue, the 360's audience, the case's live standing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from egards.accounts.domain import SYSTEM, Role
from egards.cases.intake import sign_webhook
from egards.errors import N_
from egards.formats import format_number
from egards.messages import message
from egards.social import service
from tests.conftest import login
from tests.integration.cases.conftest import create_customer

NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)


def _post_mention(client, clock, handle, followers, external_id):
    body = json.dumps(
        {
            "network": "x",
            "handle": handle,
            "author_name": "Léo Buzz",
            "text": "Service inexistant !",
            "external_id": external_id,
            "followers": followers,
        }
    ).encode()
    stamp = str(int(clock.now.timestamp()))
    response = client.post(
        "/api/v1/cases/social-mentions",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Egards-Timestamp": stamp,
            "X-Egards-Signature": sign_webhook("social-secret", stamp, body),
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["case"]


def test_the_reviewer_sees_the_evidence_but_not_the_score(client, db, make_person, agent):
    customer = create_customer(client, agent, first_name="Hélène", last_name="Quenouille")
    with db.unit_of_work() as session:
        profile = service.upsert_profile(
            session, network="x", handle="hq_voyages", display_name="Hélène Q.", now=NOW
        )
        service.propose_link(
            session,
            profile=profile,
            customer_id=customer["id"],
            method="probabilistic",
            evidence=[{"method": "first_name", "detail": "first name: same"}],
            score=4.321,
            reason=message(N_("another customer ({customer}) is close"), customer="77"),
            now=NOW,
        )
    supervisor = make_person(Role.SUPERVISOR)
    login(client, supervisor.email)
    page = client.get("/social/reviews")
    assert page.status_code == 200
    assert "first name: same" in page.text and "@hq_voyages" in page.text
    assert "4.32" not in page.text and "4,32" not in page.text
    # The reason is read in the reviewer's language (French, the default).
    assert "un autre client (77) est proche" in page.text and "is close" not in page.text


def test_influence_beside_value_lists_the_loud_stranger_and_exports(client, db, make_person, clock):
    _post_mention(client, clock, "@leo_buzz", 50_000, "p1")
    analyst = make_person(Role.ANALYST)
    login(client, analyst.email)
    page = client.get("/social/influence")
    assert page.status_code == 200
    assert 'id="influence-chart"' in page.text and "<circle" in page.text
    loud = page.text[page.text.index('id="loud-tourists"') :]
    assert "@leo_buzz" in loud
    export = client.get("/social/influence.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "leo_buzz,50000,,,,loud_tourist" in export.text


def test_the_case_page_shows_audience_and_public_exposure(client, make_person, clock):
    case = _post_mention(client, clock, "@leo_buzz", 50_000, "p2")
    agent = make_person(Role.AGENT)
    login(client, agent.email)
    page = client.get(f"/cases/{case['id']}")
    assert page.status_code == 200
    # The agent reads French (the default): Babel groups thousands with a narrow space.
    assert "data-public-exposure" in page.text and "50\u202f000 " in page.text


def test_the_360_shows_the_audience_and_the_duplicates_page_renders(client, db, make_person, agent):
    customer = create_customer(client, agent, social=[{"network": "x", "handle": "@zoem"}])
    with db.unit_of_work() as session:
        profile = service.upsert_profile(
            session, network="x", handle="zoem", followers=1234, now=NOW
        )
        service.link_deterministically(session, profile=profile, now=NOW, actor=SYSTEM)
    supervisor = make_person(Role.SUPERVISOR)
    login(client, supervisor.email)
    page = client.get(f"/customers/{customer['id']}")
    assert page.status_code == 200
    # The followers written the reader's way (the page is French: "1 234").
    assert 'id="social"' in page.text and format_number(1234, "fr") in page.text
    assert client.get("/social/duplicates").status_code == 200
