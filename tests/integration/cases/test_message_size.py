"""One size limit for an inbound e-mail, stated in one setting (EGARDS_MAX_MESSAGE_BYTES):
what the SMTP receiver takes, the inbound-email API takes too, while every other body keeps
the general limit."""

from __future__ import annotations

import smtplib
import socket
from email import policy
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient

from egards.app import create_app
from egards.cli import _start_smtp_receiver

LIMIT = 3_000_000


def mail_of(size: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Hélène Dupont <helene@example.fr>"
    message["To"] = "service@egards.test"
    message["Subject"] = "Photos du colis abîmé"
    message.set_content("Bonjour, voici les photos.")
    message.add_attachment(b"\x89PNG" + b"x" * size, maintype="image", subtype="png")
    return message.as_bytes(policy=policy.SMTP)  # CRLF line ends, as on the wire


@pytest.fixture
def sized(settings, db):
    settings.max_message_bytes = LIMIT
    with TestClient(create_app(settings, db)) as client:
        yield client


def test_the_api_takes_a_message_the_general_body_limit_would_refuse(sized, agent, settings):
    raw = mail_of(1_500_000)
    assert settings.max_body_bytes < len(raw) < LIMIT
    received = sized.post(
        "/api/v1/cases/inbound-email",
        content=raw,
        headers={**agent.headers, "Content-Type": "message/rfc822"},
    )
    assert received.status_code == 201, received.text
    assert received.json()["case_id"]


def test_the_api_refuses_a_message_over_the_stated_limit_and_other_bodies_keep_theirs(sized, agent):
    too_big = sized.post(
        "/api/v1/cases/inbound-email",
        content=mail_of(LIMIT),
        headers={**agent.headers, "Content-Type": "message/rfc822"},
    )
    assert too_big.status_code == 413 and str(LIMIT) in too_big.json()["detail"]
    other = sized.post(
        "/api/v1/customers", content=b"[" + b"1," * 600_000 + b"1]", headers=agent.headers
    )
    assert other.status_code == 413


def test_the_smtp_receiver_states_and_applies_the_same_limit(settings, db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.inbound_smtp_port = probe.getsockname()[1]
    settings.max_message_bytes = LIMIT
    receiver = _start_smtp_receiver(settings, db)
    try:
        with smtplib.SMTP("127.0.0.1", settings.inbound_smtp_port, timeout=10) as smtp:
            smtp.ehlo()
            assert int(smtp.esmtp_features["size"]) == LIMIT
            smtp.sendmail("helene@example.fr", ["service@egards.test"], mail_of(1_500_000))
            with pytest.raises(smtplib.SMTPException) as refused:
                smtp.sendmail("helene@example.fr", ["service@egards.test"], mail_of(LIMIT))
        assert "552" in str(refused.value) or "exceeded" in str(refused.value).lower()
    finally:
        receiver.stop()
