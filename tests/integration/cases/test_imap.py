"""The IMAP poller against a real IMAP server (Dovecot, started by the tests on loopback)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from egards.cases.mail import ImapAccount, poll_imap
from egards.cases.models import Case, ImapMailbox
from egards.cases.service import config_from_settings
from egards.worker import run_once
from tests.conftest import _unavailable
from tests.integration.cases.dovecot import DOVECOT, HOST, Dovecot


@pytest.fixture(scope="module")
def dovecot():
    if not os.path.exists(DOVECOT):
        _unavailable(f"the IMAP tests need Dovecot at {DOVECOT} (apt-get install dovecot-imapd)")
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(dovecot):
    return dovecot.mailbox()


@pytest.fixture
def account(mailbox, dovecot) -> ImapAccount:
    """Plain IMAP on loopback; the IMAPS tests switch to the TLS port."""
    return ImapAccount(
        host="127.0.0.1",
        port=dovecot.imap_port,
        user=mailbox.user,
        password=mailbox.password,
        ssl=False,
        timeout=5,
    )


def mail(sender: str, subject: str, message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@egards.test"
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content("Bonjour, ma demande.")
    return message


def subjects(db) -> list[str]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(Case.subject).order_by(Case.id)))


def state(db, account: ImapAccount) -> ImapMailbox:
    with db.unit_of_work() as session:
        found = session.get(ImapMailbox, account.key)
        session.expunge(found)
        return found


def test_every_new_message_becomes_one_case_whatever_its_flags(
    db, settings, clock, mailbox, account
):
    config = config_from_settings(settings)
    assert poll_imap(db, config, account, now=clock.now) == "0 message(s) fetched"
    mailbox.deliver(mail("a@example.fr", "read first by a colleague", "<a@x>"), seen=True)
    mailbox.deliver(mail("b@example.fr", "unread", "<b@x>"))
    mailbox.deliver(mail("c@example.fr", "no message id"))
    utf8 = (
        "From: Zoé Durand <zoé@exemple.fr>\r\nTo: service@egards.test\r\n"
        "Subject: Réclamation – café refusé\r\n\r\nBonjour, le café était froid.\r\n"
    )
    mailbox.deliver(utf8.encode())
    assert poll_imap(db, config, account, now=clock.now) == "4 message(s) fetched"
    assert subjects(db) == [
        "read first by a colleague",
        "unread",
        "no message id",
        "Réclamation – café refusé",
    ]
    mailbox.set_seen(False)  # flags lost
    assert poll_imap(db, config, account, now=clock.now) == "0 message(s) fetched"
    mailbox.set_seen(True)
    assert poll_imap(db, config, account, now=clock.now) == "0 message(s) fetched"
    assert len(subjects(db)) == 4


def test_the_poller_leaves_the_flags_as_people_set_them(db, settings, clock, mailbox, account):
    mailbox.deliver(mail("a@example.fr", "still unread for the team", "<u@x>"))
    poll_imap(db, config_from_settings(settings), account, now=clock.now)
    with mailbox.client() as imap:
        imap.select("INBOX", readonly=True)
        assert imap.search(None, "UNSEEN")[1] == [b"1"]


def test_at_first_contact_the_backlog_is_read_as_people_left_it(
    db, settings, clock, mailbox, account
):
    mailbox.deliver(mail("old@example.fr", "dealt with by hand last year", "<old@x>"), seen=True)
    mailbox.deliver(mail("wait@example.fr", "waiting for an answer", "<wait@x>"))
    config = config_from_settings(settings)
    assert poll_imap(db, config, account, now=clock.now) == "1 message(s) fetched"
    mailbox.deliver(mail("new@example.fr", "arrived and read at once", "<new@x>"), seen=True)
    assert poll_imap(db, config, account, now=clock.now) == "1 message(s) fetched"
    assert subjects(db) == ["waiting for an answer", "arrived and read at once"]


def test_a_large_backlog_is_read_over_several_passes_without_gaps(
    db, settings, clock, mailbox, account
):
    for n in range(5):
        mailbox.deliver(mail(f"p{n}@example.fr", f"message {n}"), seen=n == 2)
    config = config_from_settings(settings)
    reports = [poll_imap(db, config, account, now=clock.now, limit=2) for _ in range(3)]
    assert reports == ["2 message(s) fetched", "2 message(s) fetched", "0 message(s) fetched"]
    mailbox.deliver(mail("p5@example.fr", "message 5"))
    assert poll_imap(db, config, account, now=clock.now, limit=2) == "1 message(s) fetched"
    assert subjects(db) == ["message 0", "message 1", "message 3", "message 4", "message 5"]


def test_a_rebuilt_mailbox_is_read_again_without_a_second_case(
    db, settings, clock, mailbox, account
):
    account = replace(account, mailbox="Support")
    with mailbox.client() as imap:
        imap.create("Support")
    first = mail("a@example.fr", "no message id either").as_bytes()
    second = mail("b@example.fr", "with an id", "<id@x>").as_bytes()
    config = config_from_settings(settings)
    poll_imap(db, config, account, now=clock.now)
    for raw in (first, second):
        mailbox.deliver(raw, folder="Support")
    assert poll_imap(db, config, account, now=clock.now) == "2 message(s) fetched"
    validity = state(db, account).uid_validity
    mailbox.rebuild("Support")
    for raw in (first, second, mail("c@example.fr", "after the rebuild").as_bytes()):
        mailbox.deliver(raw, folder="Support")
    assert poll_imap(db, config, account, now=clock.now) == "1 message(s) fetched"
    assert state(db, account).uid_validity != validity
    assert subjects(db) == ["no message id either", "with an id", "after the rebuild"]


def test_imaps_refuses_a_certificate_the_system_does_not_trust(
    db, settings, clock, mailbox, dovecot
):
    settings.imap_host, settings.imap_port = HOST, dovecot.imaps_port
    settings.imap_user, settings.imap_password = mailbox.user, mailbox.password
    mailbox.deliver(mail("a@example.fr", "secret content", "<s@x>"))
    report = run_once(db, settings, now=clock.now, only={"imap"})["imap"]
    assert report.startswith("error: certificate of localhost:")
    assert "self-signed certificate" in report
    assert subjects(db) == []


def test_imaps_accepts_the_certificate_of_the_configured_ca_file(
    db, settings, clock, mailbox, dovecot
):
    settings.imap_host, settings.imap_port = HOST, dovecot.imaps_port
    settings.imap_user, settings.imap_password = mailbox.user, mailbox.password
    settings.imap_ca_file = dovecot.cert
    mailbox.deliver(mail("a@example.fr", "over TLS", "<tls@x>"))
    assert run_once(db, settings, now=clock.now, only={"imap"}) == {"imap": "1 message(s) fetched"}
    assert subjects(db) == ["over TLS"]


def test_imaps_refuses_a_trusted_certificate_for_another_host_name(
    db, settings, clock, mailbox, dovecot, account
):
    by_address = replace(
        account, port=dovecot.imaps_port, ssl=True, ca_file=str(dovecot.cert)
    )  # the certificate names localhost, not 127.0.0.1
    report = poll_imap(db, config_from_settings(settings), by_address, now=clock.now)
    assert report.startswith("error: certificate of 127.0.0.1:")
    assert "IP address mismatch" in report


def test_a_wrong_password_is_one_log_line_and_the_next_attempts_wait_longer(
    db, settings, clock, mailbox, account, caplog
):
    config = config_from_settings(settings)
    wrong = replace(account, password="wrong")
    with caplog.at_level(logging.INFO):
        report = poll_imap(db, config, wrong, now=clock.now)
    assert report.startswith(f"error: 127.0.0.1:{account.port} refused {account.user}:")
    assert "AUTHENTICATIONFAILED" in report
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.exc_info is None and "next attempt after" in line.getMessage()
    assert state(db, account).retry_at == clock.now + timedelta(minutes=2)

    mailbox.deliver(mail("a@example.fr", "while locked out", "<l@x>"))
    waiting = poll_imap(db, config, account, now=clock.advance(minutes=1))
    assert waiting.startswith("error:") and "1 failure(s) in a row" in waiting
    assert subjects(db) == []  # not even tried: the right password waits its turn
    clock.advance(minutes=1)
    assert poll_imap(db, config, wrong, now=clock.now).startswith("error:")
    assert state(db, account).retry_at == clock.now + timedelta(minutes=4)

    clock.advance(minutes=4)
    assert poll_imap(db, config, account, now=clock.now) == "1 message(s) fetched"
    recovered = state(db, account)
    assert (recovered.failures, recovered.retry_at, recovered.last_error) == (0, None, None)


def test_a_server_that_never_answers_times_out(db, settings, clock, account):
    silent = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    hung = replace(account, port=silent.getsockname()[1], timeout=0.5)
    started = time.monotonic()
    try:
        report = poll_imap(db, config_from_settings(settings), hung, now=clock.now)
    finally:
        for connection in accepted:
            connection.close()
        silent.close()
    assert time.monotonic() - started < 3
    assert report == f"error: no answer from 127.0.0.1:{hung.port} within 0.5 s"
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
