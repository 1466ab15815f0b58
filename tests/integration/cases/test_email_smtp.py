"""E-mail end to end over loopback: a real SMTP receiver (aiosmtpd) takes the customer's
message, the worker sends the acknowledgement and the answer through SMTP to a sink."""

from __future__ import annotations

import smtplib
import socket
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from egards.cases.domain import format_case_number
from egards.cases.labels import case_label
from egards.cases.mail import _bounce_unreadable, start_smtp_receiver
from egards.cases.models import Case, RawInbound
from egards.cases.service import config_from_settings
from egards.outbox.models import OutboxMessage
from egards.outbox.service import MAX_ATTEMPTS
from egards.worker import run_once
from tests.conftest import login
from tests.integration.cases.conftest import create_customer, log_call


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """An SMTP server that keeps what it receives (our outgoing mail) and its envelopes."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        self.recipients.append(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def sink(settings):
    handler = Sink()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    settings.smtp_host, settings.smtp_port = "127.0.0.1", port
    yield handler
    controller.stop()


@pytest.fixture
def receiver(db, settings, clock):
    port = _free_port()
    controller = start_smtp_receiver(
        db, config_from_settings(settings), host="127.0.0.1", port=port, clock=clock
    )
    yield port
    controller.stop()


def send(port: int, message: EmailMessage | bytes, sender: str = "x@example.fr") -> None:
    # The first message a process receives trains the voice model (about a second, ten on a
    # loaded machine) before the receiver answers DATA: wait as a mail server would.
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        if isinstance(message, bytes):
            smtp.sendmail(sender, ["service@egards.test"], message)
        else:
            smtp.send_message(message)


def customer_mail(address: str, subject: str, text: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Hélène Dupont <{address}>"
    message["To"] = "service@egards.test"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


def deliver(db, settings, clock):
    return run_once(db, settings, now=clock.now, only={"outbox"})["outbox"]


def count_cases(db) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_a_customer_email_is_acknowledged_answered_and_the_reply_threads(
    client, agent, db, settings, clock, sink, receiver
):
    customer = create_customer(client, agent, emails=["helene@example.fr"])
    first = customer_mail(
        "helene@example.fr",
        "Ma box ne marche plus",
        "Bonjour, plus de connexion depuis hier soir.",
        Message_ID="<first@example.fr>",
    )
    first.add_alternative(
        "<p>Bonjour, <b>plus de connexion</b></p><script>alert('x')</script>"
        '<a href="javascript:alert(1)" onclick="steal()">lien</a>',
        subtype="html",
    )
    send(receiver, first)
    [case] = client.get(
        f"/api/v1/cases?customer_id={customer['id']}", headers=agent.headers
    ).json()["items"]
    assert (case["channel"], case["sender_address"]) == ("email", "helene@example.fr")
    assert deliver(db, settings, clock).startswith("1 sent")
    [ack] = sink.messages
    assert ack["To"] == "helene@example.fr"
    assert f"[#{case['number']}]" in ack["Subject"]
    assert ack["In-Reply-To"] == "<first@example.fr>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert "Nous avons bien reçu votre message" in ack.get_content()

    answer = client.post(
        f"/api/v1/cases/{case['id']}/replies",
        json={"body": "Un technicien passe demain matin."},
        headers=agent.headers,
    )
    assert answer.status_code == 201
    deliver(db, settings, clock)
    reply = sink.messages[-1]
    assert reply.get_content().strip() == "Un technicien passe demain matin."
    assert "<first@example.fr>" in reply["References"]

    follow = customer_mail(
        "helene@example.fr",
        "Re: " + reply["Subject"],
        "Merci, je serai là.",
        Message_ID="<second@example.fr>",
        In_Reply_To=reply["Message-ID"],
        References=f"<first@example.fr> {reply['Message-ID']}",
    )
    send(receiver, follow)
    thread = client.get(f"/api/v1/cases/{case['id']}/messages", headers=agent.headers).json()
    inbound = [m for m in thread if m["kind"] == "inbound"]
    assert [m["message_id"] for m in inbound] == ["<first@example.fr>", "<second@example.fr>"]
    assert count_cases(db) == 1
    assert deliver(db, settings, clock).startswith("0 sent")  # no second acknowledgement

    login(client, agent.email)
    page = client.get(f"/cases/{case['id']}").text
    assert page.count('data-delivery="sent"') == 2  # the acknowledgement and the answer
    assert "plus de connexion" in page
    assert "<script>alert" not in page and "javascript:" not in page and "onclick" not in page


def test_the_same_message_delivered_twice_is_one_case(client, agent, db, receiver):
    message = customer_mail("twice@example.fr", "Doublon", "Texte", Message_ID="<dup@example.fr>")
    send(receiver, message)
    send(receiver, message)
    assert count_cases(db) == 1
    with db.unit_of_work() as session:
        statuses = sorted(session.scalars(select(RawInbound.status)).all())
    assert statuses == ["duplicate", "processed"]


def test_auto_replies_and_bounces_are_kept_but_never_acknowledged(
    client, agent, db, settings, clock, sink, receiver
):
    away = customer_mail(
        "away@example.fr", "Absence du bureau", "Je suis absent.", Auto_Submitted="auto-replied"
    )
    send(receiver, away)
    bounce = customer_mail("x@example.fr", "Undelivered", "failed")
    del bounce["From"]
    bounce["From"] = "MAILER-DAEMON@example.fr"
    send(receiver, bounce)
    assert count_cases(db) == 0
    assert deliver(db, settings, clock).startswith("0 sent")
    with db.unit_of_work() as session:
        kinds = sorted(session.scalars(select(RawInbound.mail_kind)).all())
    assert kinds == ["auto_reply", "bounce"]


def test_a_bounce_of_our_answer_shows_in_the_thread_as_a_delivery_failure_in_words(
    client, agent, db, settings, clock, sink, receiver
):
    send(receiver, customer_mail("lea@example.fr", "Facture", "Bonjour", Message_ID="<q@x>"))
    [case] = client.get("/api/v1/cases", headers=agent.headers).json()["items"]
    client.post(
        f"/api/v1/cases/{case['id']}/replies", json={"body": "Voici."}, headers=agent.headers
    )
    deliver(db, settings, clock)
    answer = sink.messages[-1]
    bounce = customer_mail(
        "x@example.fr", "Undelivered", "550 mailbox full", In_Reply_To=answer["Message-ID"]
    )
    del bounce["From"]
    bounce["From"] = "MAILER-DAEMON@example.fr"
    send(receiver, bounce)

    thread = client.get(f"/api/v1/cases/{case['id']}/messages", headers=agent.headers).json()
    [failure] = [m for m in thread if m["kind"] == "delivery_failure"]
    assert failure["body_text"].strip() == "550 mailbox full"  # the report, no English glued on
    login(client, agent.email)
    page = client.get(f"/cases/{case['id']}").text  # the agent reads French
    assert '<li class="delivery_failure"' in page and ">échec de remise</span>" in page
    assert case_label("delivery_failure", "en") == "delivery failure"


def test_a_subject_tag_threads_only_for_the_same_sender(client, agent, db, receiver):
    send(receiver, customer_mail("owner@example.fr", "Question", "Texte", Message_ID="<a@x>"))
    [case] = client.get("/api/v1/cases", headers=agent.headers).json()["items"]
    tagged = f"Re: [#{case['number']}] Question"
    send(receiver, customer_mail("owner@example.fr", tagged, "Suite", Message_ID="<b@x>"))
    send(receiver, customer_mail("intruder@example.fr", tagged, "Moi aussi", Message_ID="<c@x>"))
    assert count_cases(db) == 2


def test_malformed_mime_is_kept_counted_and_the_sender_told(
    client, agent, db, settings, clock, sink, receiver
):
    send(receiver, b"this is not an e-mail at all\r\n\r\nno headers\r\n")
    broken = (
        b"From: Paul <paul@example.fr>\r\nTo: service@egards.test\r\n"
        b"Subject: =?x-unknown?Q?abc?=\r\n"
        b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\nContent-Type: text/plain;'
        b" charset=x-klingon\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@not base64@@@\r\n"
    )
    send(receiver, broken)
    with db.unit_of_work() as session:
        rows = session.execute(select(RawInbound.status, RawInbound.raw)).all()
    assert sorted(status for status, _ in rows) == ["failed", "processed"]
    assert all(raw for _, raw in rows)  # every byte kept
    assert count_cases(db) == 1  # the unknown charset is read as well as it can be
    assert client.get("/api/v1/cases/no-silence", headers=agent.headers).json()["unreadable"] == 1


def test_an_oversize_attachment_is_refused_with_a_clear_reply(
    client, agent, db, settings, clock, sink
):
    settings.max_attachment_bytes = 4096
    port = _free_port()
    controller = start_smtp_receiver(
        db, config_from_settings(settings), host="127.0.0.1", port=port, clock=clock
    )
    message = customer_mail("big@example.fr", "Photos", "Voici les photos.")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + b"0" * 10_000, maintype="image", subtype="png",
                           filename="photo.png")  # fmt: skip
    message.add_attachment(b"MZ\x90\x00", maintype="application", subtype="octet-stream",
                           filename="facture.exe")  # fmt: skip
    try:
        send(port, message)
    finally:
        controller.stop()
    assert count_cases(db) == 1
    deliver(db, settings, clock)
    refusal = next(m for m in sink.messages if "refus" in m["Subject"].lower())
    text = refusal.get_content()
    assert "photo.png" in text and "facture.exe" in text and "4 Ko" in text


def test_the_receiver_answers_in_time(receiver):
    started = time.monotonic()
    send(receiver, customer_mail("speed@example.fr", "Vite", "Texte"))
    assert time.monotonic() - started < 5


def test_utf8_headers_and_addresses_arrive_intact_and_the_acknowledgement_reaches_them(
    client, agent, db, settings, clock, sink, receiver
):
    raw = (
        "From: Zoé Durand <zoé@exemple.fr>\r\nTo: service@egards.test\r\n"
        "Subject: Réclamation – café refusé\r\nMessage-ID: <zoe.1@exemple.fr>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nLe café était froid.\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="reçu café.pdf"\r\n\r\n%PDF-1.4\r\n'
        "--b--\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", receiver, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("smtputf8") and smtp.has_extn("8bitmime")
        smtp.sendmail("zoé@exemple.fr", ["service@egards.test"], raw, mail_options=["SMTPUTF8"])
    [case] = client.get("/api/v1/cases", headers=agent.headers).json()["items"]
    assert case["subject"] == "Réclamation – café refusé"
    assert case["sender_address"] == "zoé@exemple.fr"
    thread = client.get(f"/api/v1/cases/{case['id']}/messages", headers=agent.headers).json()
    [inbound] = [m for m in thread if m["kind"] == "inbound"]
    assert inbound["author_label"] == "Zoé Durand"
    assert [a["filename"] for a in inbound["attachments"]] == ["reçu café.pdf"]

    assert deliver(db, settings, clock).startswith("1 sent")
    [ack] = sink.messages
    assert sink.recipients == [["zoé@exemple.fr"]]
    assert ack["To"] == "zoé@exemple.fr"
    assert "Réclamation – café refusé" in ack["Subject"]
    assert "Zoé Durand," in ack.get_content()


def test_the_case_shows_what_became_of_an_acknowledgement_that_cannot_be_sent(
    client, agent, db, settings, clock, receiver
):
    settings.smtp_host, settings.smtp_port = "127.0.0.1", _free_port()  # nobody listens
    send(receiver, customer_mail("lost@example.fr", "Perdu", "Texte", Message_ID="<l@x>"))
    [case] = client.get("/api/v1/cases", headers=agent.headers).json()["items"]
    login(client, agent.email)

    def shown() -> tuple[str, str | None]:
        thread = client.get(f"/api/v1/cases/{case['id']}/messages", headers=agent.headers)
        [ack] = [m for m in thread.json() if m["kind"] == "acknowledgement"]
        return ack["delivery"], ack["delivery_error"]

    assert shown() == ("queued", None)
    assert 'data-delivery="queued"' in client.get(f"/cases/{case['id']}").text
    assert deliver(db, settings, clock).startswith("0 sent, 1 to retry")
    state, error = shown()
    assert state == "retrying" and "ConnectionRefusedError" in error
    page = client.get(f"/cases/{case['id']}").text
    assert 'data-delivery="retrying"' in page and "ConnectionRefusedError" in page
    for _ in range(MAX_ATTEMPTS - 1):
        clock.advance(hours=3)
        report = deliver(db, settings, clock)
    assert report == "0 sent, 0 to retry, 1 given up"
    assert shown()[0] == "not_delivered"
    page = client.get(f"/cases/{case['id']}").text
    assert 'data-delivery="not_delivered"' in page and "ConnectionRefusedError" in page


def test_remote_images_wait_for_the_agent_and_the_console_forbids_loading_from_elsewhere(
    client, agent, receiver
):
    message = customer_mail("pixel@example.fr", "Newsletter", "Texte", Message_ID="<p@x>")
    message.add_alternative(
        '<p>Bonjour</p><img src="https://tracker.example/open.gif?id=42" alt="logo">'
        '<img src="/logout" alt="into the console">',
        subtype="html",
    )
    send(receiver, message)
    [case] = client.get("/api/v1/cases", headers=agent.headers).json()["items"]
    login(client, agent.email)

    page = client.get(f"/cases/{case['id']}")
    assert "tracker.example" not in page.text and 'src="/logout"' not in page.text
    assert 'data-held-back="1"' in page.text and 'id="load-images-' in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:;" in policy

    loaded = client.get(f"/cases/{case['id']}?images=true")
    assert 'src="https://tracker.example/open.gif?id=42"' in loaded.text
    assert 'src="/logout"' not in loaded.text  # never: it would call the console itself
    assert "img-src 'self' data: https: http:;" in loaded.headers["Content-Security-Policy"]

    assert "img-src 'self' data:;" in client.get("/login").headers["Content-Security-Policy"]
    assert "Content-Security-Policy" not in client.get("/docs").headers  # Swagger UI's CDN


def test_an_smtp_server_that_never_answers_fails_the_attempt_in_time(
    client, agent, db, settings, clock, receiver
):
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never greets
    settings.smtp_host, settings.smtp_port = "127.0.0.1", silent.getsockname()[1]
    settings.mail_timeout = 0.5
    send(receiver, customer_mail("wait@example.fr", "Attente", "Texte", Message_ID="<w@x>"))
    started = time.monotonic()
    try:
        report = deliver(db, settings, clock)
    finally:
        silent.close()
    assert time.monotonic() - started < 3
    assert report == "0 sent, 1 to retry, 0 given up"
    [case] = client.get("/api/v1/cases", headers=agent.headers).json()["items"]
    thread = client.get(f"/api/v1/cases/{case['id']}/messages", headers=agent.headers).json()
    [ack] = [m for m in thread if m["kind"] == "acknowledgement"]
    assert ack["delivery"] == "retrying" and "timed out" in ack["delivery_error"]


def test_escalation_notices_reach_each_person_over_smtp_in_their_language(
    client, agent, make_person, db, settings, clock, sink
):
    from datetime import timedelta

    from egards.accounts.domain import Role
    from egards.accounts.models import User

    supervisor = make_person(Role.SUPERVISOR)  # accounts are created in French
    with db.unit_of_work() as session:
        session.get_one(User, agent.user_id).locale = "en"
    customer = create_customer(client, agent)
    case = log_call(client, agent, customer_id=customer["id"], channel="email")["case"]
    number = format_case_number(case["id"])
    taken = client.post(
        f"/api/v1/cases/{case['id']}/assignee",
        json={"assignee_id": agent.user_id},
        headers=agent.headers,
    )
    assert taken.status_code == 200, taken.text
    clock.advance(hours=7)  # past 75 % of the first answer's 8 business hours: the warning
    run_once(db, settings, now=clock.now)
    clock.now += timedelta(days=1)  # breached: the supervisors are told
    run_once(db, settings, now=clock.now)
    run_once(db, settings, now=clock.now, only={"outbox"})
    notices = {
        str(mail["To"]): str(mail["Subject"])
        for mail in sink.messages
        if str(mail["Subject"]).startswith(f"[Égards] {number}")
    }
    assert {agent.email, supervisor.email} <= notices.keys(), notices
    warned, told = notices[agent.email], notices[supervisor.email]
    assert "first response at risk" in warned and "left" in warned, warned
    assert "première réponse" in told and "échéance" in told and "heure de Paris" in told, told
    assert "deadline" not in told and "breached" not in told


def test_the_unreadable_reply_is_in_french_then_english_from_the_catalogues(db, settings, clock):
    raw = b"From: Paul <paul@example.fr>\r\nTo: service@egards.test\r\nSubject: ?\r\n\r\n\xff"
    with db.unit_of_work() as session:
        _bounce_unreadable(
            session, raw=raw, raw_id=7, config=config_from_settings(settings), now=clock()
        )
    with db.unit_of_work() as session:
        [reply] = session.scalars(select(OutboxMessage)).all()
        payload = reply.payload
    assert reply.recipient == "paul@example.fr"
    assert payload["subject"] == (
        "Votre message n'a pas pu être lu / Your message could not be read"
    )
    french, english = payload["body"].split("\n\nHello,")
    assert french.startswith("Bonjour,") and "un conseiller va l'examiner" in french
    assert "an agent will look at it" in english
