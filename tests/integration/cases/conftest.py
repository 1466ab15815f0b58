"""Fixtures of the cases tests: a controlled clock, a memory mailer, helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from egards.outbox.service import MemoryMailer
from tests.integration.builders import customer_payload

# Tuesday 24 November 2026, 10:00 in Paris: inside business hours.
TUESDAY_10H = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = TUESDAY_10H

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings, db, clock):
    from egards.app import create_app

    settings.social_webhook_secret = "social-secret"
    settings.mail_from = "service@egards.test"
    application = create_app(settings, db)
    application.state.clock = clock
    return application


@pytest.fixture
def mailer() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
def supervisor(make_person):
    from egards.accounts.domain import Role

    return make_person(Role.SUPERVISOR)


def create_customer(client, person, **overrides):
    response = client.post(
        "/api/v1/customers", json=customer_payload(**overrides), headers=person.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def log_call(client, person, **overrides):
    payload = {
        "channel": "phone",
        "subject": "Connection drops every evening",
        "message": "The customer says the fibre drops at 8 pm every day.",
    }
    payload.update(overrides)
    response = client.post("/api/v1/cases", json=payload, headers=person.headers)
    assert response.status_code == 201, response.text
    return response.json()


def outbox_rows(db):
    from sqlalchemy import select

    from egards.outbox.models import OutboxMessage

    with db.unit_of_work() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
