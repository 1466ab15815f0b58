"""The customer portal through real HTTP: customers made through the API, sign-in links read
from the outbox as the mail would carry them."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
