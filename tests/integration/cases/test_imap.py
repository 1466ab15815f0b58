"""The IMAP poller against a small IMAP4rev1 server on loopback (the commands it uses)."""

from __future__ import annotations

import socketserver
import threading
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from egards.cases.mail import poll_imap
from egards.cases.models import Case
from egards.cases.service import config_from_settings


class Mailbox:
    def __init__(self, messages: list[bytes]) -> None:
        self.messages = dict(enumerate(messages, start=1))
        self.seen: set[int] = set()


def handler_for(box: Mailbox):
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, text: str | bytes) -> None:
            self.wfile.write(text if isinstance(text, bytes) else text.encode())

        def handle(self) -> None:
            self.reply("* OK IMAP4rev1 test server ready\r\n")
            while line := self.rfile.readline():
                tag, command, *rest = line.decode().strip().split(" ", 2)
                argument = rest[0] if rest else ""
                command = command.upper()
                if command == "CAPABILITY":
                    self.reply(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n")
                elif command == "LOGIN":
                    ok = argument.replace('"', "").split() == ["inbox", "secret"]
                    self.reply(f"{tag} {'OK logged in' if ok else 'NO wrong credentials'}\r\n")
                elif command == "SELECT":
                    self.reply(f"* {len(box.messages)} EXISTS\r\n{tag} OK [READ-WRITE] done\r\n")
                elif command == "UID":
                    self.uid(tag, argument)
                elif command == "LOGOUT":
                    self.reply(f"* BYE\r\n{tag} OK bye\r\n")
                    return
                else:
                    self.reply(f"{tag} BAD unknown command\r\n")

        def uid(self, tag: str, argument: str) -> None:
            verb, _, rest = argument.partition(" ")
            verb = verb.upper()
            if verb == "SEARCH":
                unseen = " ".join(str(uid) for uid in box.messages if uid not in box.seen)
                self.reply(f"* SEARCH {unseen}\r\n{tag} OK done\r\n")
            elif verb == "FETCH":
                uid = int(rest.split()[0])
                raw = box.messages[uid]
                self.reply(f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw)
                self.reply(f")\r\n{tag} OK done\r\n")
            elif verb == "STORE":
                uid = int(rest.split()[0])
                box.seen.add(uid)
                self.reply(f"* {uid} FETCH (UID {uid} FLAGS (\\Seen))\r\n{tag} OK done\r\n")

    return Handler


def mail(sender: str, subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@egards.test"
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '.')}@example.fr>"
    message.set_content("Bonjour, ma demande.")
    return message.as_bytes()


@pytest.fixture
def imap_server():
    box = Mailbox([mail("a@example.fr", "premier message"), mail("b@example.fr", "second message")])
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler_for(box))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_poller_opens_cases_for_unseen_messages_and_marks_them_seen(
    db, settings, clock, imap_server
):
    box, port = imap_server
    config = config_from_settings(settings)
    options = {"host": "127.0.0.1", "port": port, "user": "inbox", "password": "secret"}
    report = poll_imap(db, config, ssl=False, now=clock.now, **options)
    assert report == "2 message(s) fetched"
    assert box.seen == {1, 2}
    again = poll_imap(db, config, ssl=False, now=clock.now, **options)
    assert again == "0 message(s) fetched"
    with db.unit_of_work() as session:
        subjects = session.scalars(select(Case.subject).order_by(Case.id)).all()
        assert subjects == ["premier message", "second message"]
        assert session.scalar(select(func.count()).select_from(Case)) == 2
