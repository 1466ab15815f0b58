"""The outbox: enqueue in the caller's transaction, deliver later with retries.

Enqueueing only adds a row; the worker's ``deliver_due`` sends what is due, one message per
unit of work, and backs off exponentially on failure. Each e-mail carries a Message-ID
derived from its key, so a message sent twice after a crash is recognisably one message.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from egards.config import Settings
from egards.customers.domain import ERASED, Erasure
from egards.db import Database, utcnow
from egards.outbox.models import OutboxMessage
from egards.worker import Mailer

log = logging.getLogger("egards.outbox")

EMAIL = "email"
PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=2)


def message_id_for(key: str, domain: str = "egards.local") -> str:
    """A stable Message-ID for an outbox key: resending after a crash keeps the same id."""
    safe = "".join(ch if ch.isalnum() or ch in ".-_" else "." for ch in key)
    return f"<{safe}@{domain}>"


def enqueue_email(
    session: Session,
    *,
    key: str,
    sender: str,
    to: str,
    subject: str,
    body: str,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    ref_type: str | None = None,
    ref_id: object = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> OutboxMessage:
    """Queue an e-mail in the current transaction; the same ``key`` is queued once only.

    ``attachments`` are (file name, MIME type, content); small files only (a letter's PDF).
    """
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
    if existing is not None:
        return existing
    now = now or utcnow()
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "egards.local"
    message = OutboxMessage(
        key=key,
        kind=EMAIL,
        recipient=to.casefold(),
        payload={
            "from": sender,
            "to": to,
            "subject": subject,
            "body": body,
            "headers": dict(headers or {}),
            "message_id": message_id_for(key, domain),
            "attachments": [
                {"filename": name, "type": mime, "data": base64.b64encode(data).decode()}
                for name, mime, data in attachments
            ],
        },
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        ref_type=ref_type,
        ref_id=None if ref_id is None else str(ref_id),
    )
    session.add(message)
    return message


def count_sent_to(session: Session, *, recipient: str, kind_prefix: str, since: datetime) -> int:
    """How many messages whose key starts with ``kind_prefix`` went to ``recipient`` lately."""
    return (
        session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.recipient == recipient.casefold(),
                OutboxMessage.created_at >= since,
                OutboxMessage.key.startswith(kind_prefix, autoescape=True),
            )
        )
        or 0
    )


def erase_messages(
    session: Session,
    *,
    recipients: Iterable[str] = (),
    ref_type: str | None = None,
    ref_ids: Iterable[object] = (),
) -> None:
    """Erasure: the messages to these addresses, or about these objects (``ref_type`` and
    ``ref_ids``), lose their address and content; one still waiting is never sent. The row
    stays (its key, kind, dates and outcome) as the record that something was sent."""
    wanted = []
    if addresses := sorted({r.casefold() for r in recipients}):
        wanted.append(OutboxMessage.recipient.in_(addresses))
    if ref_type and (ids := sorted({str(i) for i in ref_ids})):
        wanted.append(and_(OutboxMessage.ref_type == ref_type, OutboxMessage.ref_id.in_(ids)))
    if not wanted:
        return
    waiting = OutboxMessage.status == PENDING
    session.execute(
        update(OutboxMessage)
        .where(or_(*wanted))
        .values(
            recipient=ERASED,
            payload={},
            status=case((waiting, FAILED), else_=OutboxMessage.status),
            last_error=case((waiting, "not sent: the person's data was erased"), else_=None),
        )
    )


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """What was written to the customers' addresses; the features erase what they sent about
    their own objects (a case, a gesture) with :func:`erase_messages`."""
    erase_messages(session, recipients=erasure.addresses)


def build_email(payload: Mapping[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = payload["from"]
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = payload.get("message_id") or make_msgid()
    for name, value in (payload.get("headers") or {}).items():
        message[name] = value
    message.set_content(payload["body"])
    for item in payload.get("attachments") or ():
        maintype, subtype = item["type"].split("/", 1)
        message.add_attachment(
            base64.b64decode(item["data"]),
            maintype=maintype,
            subtype=subtype,
            filename=item["filename"],
        )
    return message


@dataclass
class SmtpMailer:
    host: str
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0
    """Seconds each step (connect, every command) may wait; a silent server fails the
    attempt, which is retried later, instead of holding the worker."""

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


class NullMailer:
    """For a console without mail: delivery succeeds and the message goes nowhere."""

    def send(self, message: EmailMessage) -> None:
        log.info("null mailer: %s to %s", message["Subject"], message["To"])


@dataclass
class MemoryMailer:
    """Keeps what it is given (tests); ``fail_next`` makes the next sends raise."""

    sent: list[EmailMessage] = field(default_factory=list)
    fail_next: int = 0

    def send(self, message: EmailMessage) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionRefusedError("memory mailer told to fail")
        self.sent.append(message)


def mailer_from_settings(settings: Settings) -> Mailer:
    if not settings.smtp_host:
        return NullMailer()
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        user=settings.smtp_user,
        password=settings.smtp_password,
        timeout=settings.mail_timeout,
    )


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after each failure, never more than two hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retried} to retry, {self.failed} given up"


def deliver_due(
    db: Database, *, mailer: Mailer, now: datetime | None = None, limit: int = 200
) -> DeliveryReport:
    """Send every due message, each in its own transaction so one failure blocks no other."""
    now = now or utcnow()
    report = DeliveryReport()
    with db.unit_of_work() as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
        )
    for message_id in ids:
        with db.unit_of_work() as session:
            query = select(OutboxMessage).where(
                OutboxMessage.id == message_id, OutboxMessage.status == PENDING
            )
            if db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            message = session.scalar(query)
            if message is None:  # another worker took it
                continue
            message.attempts += 1
            try:
                mailer.send(build_email(message.payload))
            except Exception as exc:  # any transport error: retry later
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = FAILED
                    report.failed += 1
                    log.error("outbox %s given up: %s", message.key, message.last_error)
                else:
                    message.next_attempt_at = now + retry_delay(message.attempts)
                    report.retried += 1
            else:
                message.status = SENT
                message.sent_at = now
                message.last_error = None
                report.sent += 1
    return report


@dataclass(frozen=True)
class Outcome:
    """Where a queued message stands: ``pending`` (``attempts`` failed so far, the last
    with ``last_error``), ``sent`` or ``failed`` (given up after ``MAX_ATTEMPTS``)."""

    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    next_attempt_at: datetime


def outcomes(session: Session, keys: Collection[str]) -> dict[str, Outcome]:
    """The outcome of each queued message by its key (keys never queued are absent)."""
    if not keys:
        return {}
    rows = session.execute(
        select(
            OutboxMessage.key,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.sent_at,
            OutboxMessage.next_attempt_at,
        ).where(OutboxMessage.key.in_(set(keys)))
    )
    return {
        key: Outcome(status, attempts, last_error, sent_at, next_attempt_at)
        for key, status, attempts, last_error, sent_at, next_attempt_at in rows
    }


def pending_count(session: Session) -> int:
    return (
        session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == PENDING))
        or 0
    )
