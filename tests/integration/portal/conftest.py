"""The customer portal through real HTTP: customers made through the API, sign-in links read
from the outbox as the mail would carry them."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from egards.outbox.models import OutboxMessage
from tests.conftest import csrf_from
from tests.integration.builders import customer_payload

LINK = re.compile(r"https?://[^/\s]+(/my/link/[A-Za-z0-9_\-.]+)")


@dataclass
class Made:
    id: int
    email: str


@pytest.fixture
def make_customer(client, agent):
    def make(**overrides) -> Made:
        payload = customer_payload(**overrides)
        response = client.post("/api/v1/customers", json=payload, headers=agent.headers)
        assert response.status_code == 201, response.text
        return Made(response.json()["id"], payload["emails"][0])

    return make


def links_sent(db, email: str) -> list[str]:
    """The sign-in links e-mailed to an address, oldest first (paths only)."""
    with db.unit_of_work() as session:
        bodies = session.scalars(
            select(OutboxMessage.payload)
            .where(
                OutboxMessage.recipient == email.casefold(), OutboxMessage.key.like("portal-link:%")
            )
            .order_by(OutboxMessage.id)
        ).all()
    return [LINK.search(body["body"]).group(1) for body in bodies]


def ask_link(client, email: str, **fields) -> object:
    token = csrf_from(client.get("/my/sign-in").text)
    return client.post("/my/sign-in", data={"email": email, "csrf_token": token, **fields})


def use_link(client, path: str):
    page = client.get(path)
    if page.status_code != 200:
        return page
    token = path.rsplit("/", 1)[1]
    return client.post(
        "/my/link",
        data={"token": token, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def sign_in(client, db, email: str) -> str:
    """Sign a test client in as the customer of ``email``; the page's CSRF token."""
    assert ask_link(client, email).status_code == 200
    used = use_link(client, links_sent(db, email)[-1])
    assert used.status_code == 303 and used.headers["location"] == "/my", used.text
    home = client.get("/my")
    assert home.status_code == 200, home.text
    return csrf_from(home.text)


TODAY = date.today()


def flight(key: str, on: date, miles: int = 5800, cabin: str = "business") -> dict:
    return {
        "key": key,
        "kind": "flight",
        "on": on.isoformat(),
        "amounts": {"fare": 250_000, "taxes": 40_000},
        "attributes": {"cabin": cabin, "distance_miles": miles, "domestic": False},
    }


@dataclass
class World:
    """A customer with a membership, flights, a case answered by an agent and noted
    internally, and what each planted marker says."""

    customer: Made
    member_id: int
    number: str
    case_id: int
    marker: str


@pytest.fixture
def make_world(client, agent, make_customer):
    serial = iter(range(1, 1000))

    def make(first_name: str = "Hélène", language: str = "fr") -> World:
        n = next(serial)
        marker = f"zqmark{n}x{secrets.token_hex(3)}"
        number = f"FB{secrets.randbelow(10**8):08d}"
        person = make_customer(
            first_name=first_name,
            last_name=f"{marker}name",
            preferred_language=language,
            loyalty_number=number,
            emails=[f"{marker}@example.fr"],
        )
        member = client.post(
            "/api/v1/loyalty/members",
            json={
                "customer_id": person.id,
                "programme": "flying_blue",
                "on": (TODAY - timedelta(days=200)).isoformat(),
            },
            headers=agent.headers,
        )
        assert member.status_code == 201, member.text
        for k in range(3):
            body = {
                **flight(f"{marker}-f{k}", TODAY - timedelta(days=30 + k)),
                "member_number": number,
            }
            done = client.post(
                "/api/v1/loyalty/programmes/flying_blue/activities",
                json=body,
                headers=agent.headers,
            )
            assert done.status_code == 200, done.text
        case = client.post(
            "/api/v1/cases",
            json={
                "channel": "phone",
                "customer_id": person.id,
                "subject": f"Lost luggage {marker}subject",
                "message": f"My bag did not arrive {marker}inbound",
            },
            headers=agent.headers,
        )
        assert case.status_code == 201, case.text
        case_id = case.json()["case"]["id"]
        for path, text in (("replies", f"We found it {marker}reply"), ("notes", f"{marker}note")):
            done = client.post(
                f"/api/v1/cases/{case_id}/{path}", json={"body": text}, headers=agent.headers
            )
            assert done.status_code == 201, done.text
        return World(person, member.json()["id"], number, case_id, marker)

    return make
