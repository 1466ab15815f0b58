"""The relationship NPS on SQLite and PostgreSQL: a wave goes to a sample of active customers
with consent (not again before the cadence), answered from the e-mailed link, the portal or
the API, once each; NPS = % promoters − % detractors in the staff's report, apart from CSAT."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from egards.accounts.domain import Role
from egards.outbox.models import OutboxMessage
from egards.voice import service
from egards.voice.settings import VoiceSettings
from tests.conftest import csrf_from, login
from tests.integration.portal.conftest import sign_in

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SETTINGS = VoiceSettings(nps_sample=1000, nps_cadence_days=90, nps_quiet_days=60)


@pytest.fixture
def app(settings, db):
    from egards.app import create_app

    settings.mail_from = "service@egards.test"
    application = create_app(settings, db)
    application.state.clock = lambda: NOW
    return application


def wave(db, now: datetime) -> int:
    with db.unit_of_work() as session:
        return service.send_nps_wave(session, now=now, settings=SETTINGS)


def nps_token(db, email: str) -> str:
    with db.unit_of_work() as session:
        bodies = session.scalars(
            select(OutboxMessage.payload)
            .where(
                OutboxMessage.recipient == email.casefold(),
                OutboxMessage.ref_type == "voice_invitation",
            )
            .order_by(OutboxMessage.id)
        ).all()
    found = re.search(r"/survey/([A-Za-z0-9_\-]+)\?rating=10", bodies[-1]["body"])
    assert found, bodies
    return found.group(1)


def test_a_wave_is_answered_and_counted(
    make_consenting_customer, app, client, db, agent, make_person
):
    supervisor = make_person(Role.SUPERVISOR)
    people = [make_consenting_customer() for _ in range(3)]
    make_consenting_customer(consent=False)
    assert wave(db, NOW) == 3  # the one without consent is not asked
    assert wave(db, NOW + timedelta(days=1)) == 0  # not due before the cadence

    # From the e-mailed link, no sign-in: a promoter.
    token = nps_token(db, people[0][1])
    page = client.get(f"/survey/{token}", params={"rating": 10})
    assert page.status_code == 200 and 'value="0"' in page.text and 'value="10"' in page.text
    assert 'id="rating-10" checked' in page.text and 'name="q_why"' in page.text
    done = client.post(f"/survey/{token}", data={"rating": "10", "q_why": "Always on time"})
    assert done.status_code == 200 and "10/10" in done.text
    assert client.post(f"/survey/{token}", data={"rating": "9"}).status_code == 409

    # From the portal, signed in: a detractor.
    with TestClient(app) as portal:
        sign_in(portal, db, people[1][1])
        home = portal.get("/my")
        found = re.search(r'href="/my/surveys/(\d+)"', home.text)
        assert found, home.text
        form = portal.get(f"/my/surveys/{found.group(1)}")
        assert form.status_code == 200  # the same questions as the link's page (one macro)
        assert 'id="rating-0"' in form.text and 'name="q_why"' in form.text
        assert "checked" not in form.text
        wrong = portal.post(
            f"/my/surveys/{found.group(1)}",
            data={"rating": "11", "csrf_token": csrf_from(form.text)},
        )
        assert wrong.status_code == 422 and "0 to 10" in wrong.text
        answered = portal.post(
            f"/my/surveys/{found.group(1)}",
            data={"rating": "3", "csrf_token": csrf_from(form.text)},
            follow_redirects=False,
        )
        assert answered.status_code == 303, answered.text
        # Another customer's survey is not theirs to open.
        other = portal.get(f"/my/surveys/{int(found.group(1)) + 100}")
        assert other.status_code == 404

    # Through the API's link answer: a passive.
    answered = client.post(
        f"/api/v1/voice/surveys/{nps_token(db, people[2][1])}/answer", json={"rating": 8}
    )
    assert answered.status_code == 200, answered.text

    report = client.get("/api/v1/voice/nps", headers=supervisor.headers).json()
    overall = report["overall"]
    assert (overall["sent"], overall["answered"]) == (3, 3)
    assert (overall["promoters"], overall["passives"], overall["detractors"]) == (1, 1, 1)
    assert overall["nps"] == 0  # 1/3 promoters − 1/3 detractors
    assert report["by_month"][0]["key"] == "2026-12"
    # The relationship NPS stays out of the CSAT after cases; a detractor opens no case.
    csat = client.get("/api/v1/voice/csat", headers=supervisor.headers).json()
    assert csat["overall"]["sent"] == 0
    login(client, supervisor.email)
    shown = client.get("/voice/nps")
    assert shown.status_code == 200 and 'id="nps-overall">0<' in shown.text

    # After the cadence, a new wave; the quiet period has passed too.
    assert wave(db, NOW + timedelta(days=91)) == 3


def enrol(client, person, customer_id: int, programme: str) -> None:
    response = client.post(
        "/api/v1/loyalty/members",
        json={
            "customer_id": customer_id,
            "programme": programme,
            "on": (NOW - timedelta(days=30)).date().isoformat(),
        },
        headers=person.headers,
    )
    assert response.status_code == 201, response.text


def test_the_nps_by_programme_counts_a_customer_in_each_of_theirs(
    make_consenting_customer, app, client, db, agent, make_person
):
    supervisor = make_person(Role.SUPERVISOR)
    both, flyer, nobody = (make_consenting_customer() for _ in range(3))
    enrol(client, agent, both[0], "flying_blue")
    enrol(client, agent, both[0], "carte_maison")
    enrol(client, agent, flyer[0], "flying_blue")
    assert wave(db, NOW) == 3
    for (_, email), rating in ((both, 10), (flyer, 3), (nobody, 8)):
        answered = client.post(
            f"/api/v1/voice/surveys/{nps_token(db, email)}/answer", json={"rating": rating}
        )
        assert answered.status_code == 200, answered.text

    report = client.get("/api/v1/voice/nps", headers=supervisor.headers).json()
    assert report["overall"]["sent"] == 3  # counted once overall
    rows = {r["key"]: r for r in report["by_programme"]}
    assert set(rows) == {"flying_blue", "carte_maison", "none"}
    fb, retail, none = rows["flying_blue"], rows["carte_maison"], rows["none"]
    assert (fb["sent"], fb["promoters"], fb["detractors"], fb["nps"]) == (2, 1, 1, 0)
    assert (retail["sent"], retail["promoters"], retail["nps"]) == (1, 1, 100)
    assert (none["sent"], none["passives"], none["nps"]) == (1, 1, 0)
    assert fb["name"] == "Flying Blue (example)"  # the API answers in English by default
    # The console page shows the same breakdown.
    login(client, supervisor.email)
    shown = client.get("/voice/nps")
    assert shown.status_code == 200 and 'id="nps-programme-carte_maison"' in shown.text
    assert "Flying Blue (exemple)" in shown.text  # the console in French by default
