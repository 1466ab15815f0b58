"""E-mail in and out: parsing, threading, the SMTP receiver and the IMAP poller.

Whatever arrives is stored byte for byte first (``RawInbound``), in its own transaction;
parsing, threading and acknowledging happen in a second one. If that fails, the raw message
stays, marked ``failed`` and counted on the "no silence" page: nothing is lost.
"""

from __future__ import annotations

import asyncio
import email.errors
import hashlib
import imaplib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any

import nh3
from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Role
from egards.cases import domain, service
from egards.cases.domain import Channel, MailKind
from egards.cases.models import Case, CaseMessage, RawInbound
from egards.cases.service import AttachmentIn, CaseDetails, CasesConfig, InboundIn
from egards.customers.models import Identity
from egards.db import Database, utcnow
from egards.errors import DomainError, InvalidInput
from egards.outbox import service as outbox

log = logging.getLogger("egards.mail")
INTAKE = Actor(label="e-mail intake", role=Role.ADMIN)
ACK_WINDOW = timedelta(hours=24)


class MalformedMail(InvalidInput):
    code = "mail_malformed"
    title = "The e-mail could not be read"


@dataclass(frozen=True)
class ParsedMail:
    headers: tuple[tuple[str, str], ...]
    message_id: str | None
    in_reply_to: str | None
    references: str | None
    subject: str
    from_name: str
    from_address: str
    to_address: str | None
    text: str
    html: str | None
    language: str | None
    attachments: tuple[AttachmentIn, ...]


def sanitise_html(html: str) -> str:
    """Only inert markup survives: no script, style, event handler or javascript: URL."""
    return nh3.clean(html, link_rel="noopener noreferrer nofollow")


def html_to_text(html: str) -> str:
    text = nh3.clean(re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>", "\n", html), tags=set())
    text = re.sub(r"&nbsp;", " ", text)
    text = re.sub(r"&amp;", "&", re.sub(r"&lt;", "<", re.sub(r"&gt;", ">", text)))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _decoded(part: Any) -> str:
    """A text part's content; unknown or wrong charsets fall back instead of failing."""
    payload = part.get_payload(decode=True) or b""
    if isinstance(payload, str):
        return payload
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _unfolded(value: Any) -> str:
    return " ".join(str(value).split())


def _decoded_header(value: str) -> str:
    """RFC 2047 encoded words decoded; an unknown charset leaves the text as it came."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return value


def parse_mail(raw: bytes) -> ParsedMail:
    """Headers, text (HTML sanitised), attachments of an RFC 5322 message.

    Refuses what has no readable sender or no header at all; tolerates the rest (unknown
    charsets, broken encodings), as a person would rather have a garbled word than nothing.
    """
    try:
        # compat32 keeps header values as sent, which is several times faster than building
        # header objects for every field; the few we show are decoded below.
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
        headers = tuple((name, _unfolded(value)) for name, value in message.items())
    except Exception as exc:  # the parser is lenient; anything raised here is fatal
        raise MalformedMail(f"unreadable message: {type(exc).__name__}: {exc}") from None
    if not headers:
        raise MalformedMail("no header found: this is not an e-mail")
    found: dict[str, str] = {}
    for name, value in headers:
        found.setdefault(name.casefold(), value)
    from_name, from_address = parseaddr(found.get("from", ""))
    from_name = _decoded_header(from_name)
    if not from_address or "@" not in from_address:
        raise MalformedMail("no sender address (From) could be read")
    to_addresses = getaddresses([found.get("to", "")])
    try:
        text, html, attachments = _body(message)
    except Exception as exc:
        raise MalformedMail(f"unreadable body: {type(exc).__name__}: {exc}") from None
    return ParsedMail(
        headers=headers,
        message_id=domain.normalize_message_id(found.get("message-id")),
        in_reply_to=found.get("in-reply-to"),
        references=found.get("references"),
        subject=" ".join(_decoded_header(found.get("subject", "")).split())[:300],
        from_name=from_name.strip()[:200],
        from_address=from_address.strip().casefold(),
        to_address=to_addresses[0][1] if to_addresses else None,
        text=text,
        html=html,
        language=(found.get("content-language") or "").split(",")[0].strip() or None,
        attachments=attachments,
    )


def _body(message: Message) -> tuple[str, str | None, tuple[AttachmentIn, ...]]:
    """The first plain and HTML parts, and every file: named parts, parts marked
    ``attachment`` and anything that is not text."""
    text = html = None
    attachments = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        is_file = (
            disposition == "attachment"
            or (filename and disposition != "inline")
            or not content_type.startswith("text/")
        )
        if is_file:
            attachments.append(
                AttachmentIn(
                    filename=_decoded_header(filename or "attachment"),
                    content_type=content_type,
                    content=part.get_payload(decode=True) or b"",
                )
            )
        elif content_type == "text/plain" and text is None:
            text = _decoded(part)
        elif content_type == "text/html" and html is None:
            html = _decoded(part)
    clean = sanitise_html(html) if html else None
    if not text:
        text = html_to_text(clean) if clean else ""
    return text.strip() or "(empty message)", clean, tuple(attachments)


def quick_message_id(raw: bytes) -> str | None:
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        return domain.normalize_message_id(headers.get("Message-ID"))
    except Exception:
        return None


@dataclass(frozen=True)
class Received:
    raw_id: int
    status: str
    case_id: int | None = None
    kind: str | None = None
    acknowledged: bool = False
    error: str | None = None


def store_raw(
    db: Database, *, raw: bytes, source: str, now: datetime, channel: str = "email"
) -> int:
    with db.unit_of_work() as session:
        entry = RawInbound(
            channel=channel,
            source=source,
            received_at=now,
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
            message_id=quick_message_id(raw) if channel == "email" else None,
            status="received",
        )
        session.add(entry)
        session.flush()
        return entry.id


def receive_email(
    db: Database,
    *,
    raw: bytes,
    config: CasesConfig,
    source: str = "smtp",
    now: datetime | None = None,
) -> Received:
    """Store, then parse, thread, open or continue a case, acknowledge. Never loses ``raw``."""
    now = now or utcnow()
    raw_id = store_raw(db, raw=raw, source=source, now=now)
    try:
        with db.unit_of_work() as session:
            return process_email(session, raw_id=raw_id, raw=raw, config=config, now=now)
    except Exception as exc:
        error = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, DomainError):
            log.exception("inbound e-mail %s could not be processed", raw_id)
        with db.unit_of_work() as session:
            entry = session.get(RawInbound, raw_id)
            entry.status, entry.error = "failed", error[:2000]
            if isinstance(exc, MalformedMail):
                _bounce_unreadable(session, raw=raw, raw_id=raw_id, config=config, now=now)
        return Received(raw_id=raw_id, status="failed", error=error)


def process_email(
    session: Session, *, raw_id: int, raw: bytes, config: CasesConfig, now: datetime
) -> Received:
    entry = session.get(RawInbound, raw_id)
    mail = parse_mail(raw)
    if mail.message_id:
        known = session.scalar(
            select(CaseMessage.case_id).where(CaseMessage.message_id == mail.message_id)
        )
        earlier = session.scalar(
            select(RawInbound.id).where(
                RawInbound.message_id == mail.message_id,
                RawInbound.id != raw_id,
                RawInbound.status.in_(("processed", "ignored", "duplicate")),
            )
        )
        if known is not None or earlier is not None:
            entry.status, entry.case_id = "duplicate", known
            return Received(raw_id, "duplicate", case_id=known)
    sent_recently = outbox.count_sent_to(
        session, recipient=mail.from_address, kind_prefix=service.ACK_KEY, since=now - ACK_WINDOW
    )
    decision = domain.classify_inbound_mail(
        mail.headers,
        own_addresses=[config.mail_from],
        acknowledgements_sent_recently=sent_recently,
    )
    entry.mail_kind = str(decision.kind)
    case_id = _thread(session, mail)
    inbound = InboundIn(
        body_text=mail.text,
        subject=mail.subject,
        body_html=mail.html,
        from_name=mail.from_name,
        from_address=mail.from_address,
        address_kind="email",
        to_address=mail.to_address,
        message_id=mail.message_id,
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        attachments=mail.attachments,
        raw_id=raw_id,
        received_at=now,
    )
    if not decision.create_case:
        entry.status = "ignored"
        if case_id is not None and decision.kind is MailKind.BOUNCE:
            _note_bounce(session, case_id, mail, now=now)
        entry.case_id = case_id
        return Received(raw_id, "ignored", case_id=case_id, kind=str(decision.kind))
    if case_id is not None:
        opened = service.add_inbound(
            session, actor=INTAKE, case_id=case_id, message=inbound, config=config, now=now
        )
    else:
        opened = service.open_case(
            session,
            actor=INTAKE,
            details=CaseDetails(
                channel=Channel.EMAIL, subject=mail.subject, language=mail.language
            ),
            message=inbound,
            config=config,
            now=now,
            acknowledge=decision.acknowledge,
        )
    entry.status, entry.case_id = "processed", opened.case.id
    return Received(
        raw_id,
        "processed",
        case_id=opened.case.id,
        kind=str(decision.kind),
        acknowledged=opened.acknowledgement is not None,
    )


def _thread(session: Session, mail: ParsedMail) -> int | None:
    """The case this e-mail continues: by Message-ID headers, else by a subject tag that
    belongs to a case of the same sender (a tag alone is easy to forge)."""
    candidates = domain.thread_candidates(in_reply_to=mail.in_reply_to, references=mail.references)
    known: dict[str, int] = {}
    if candidates:
        known = dict(
            session.execute(
                select(CaseMessage.message_id, CaseMessage.case_id).where(
                    CaseMessage.message_id.in_(candidates)
                )
            ).all()
        )
    subject_case = domain.case_number_from_subject(mail.subject)
    if subject_case is not None and not _same_sender(session, subject_case, mail.from_address):
        subject_case = None
    return domain.choose_thread(
        candidates=candidates, known=known, subject_case=subject_case
    ).case_sequence


def _same_sender(session: Session, case_id: int, address: str) -> bool:
    case = session.get(Case, case_id)
    if case is None:
        return False
    if (case.sender_address or "").casefold() == address:
        return True
    if case.customer_id is None:
        return False
    return (
        session.scalar(
            select(Identity.id).where(
                Identity.customer_id == case.customer_id,
                Identity.kind == "email",
                Identity.value == address,
            )
        )
        is not None
    )


def _note_bounce(session: Session, case_id: int, mail: ParsedMail, *, now: datetime) -> None:
    """A delivery failure of one of our answers: the agent must know the customer has not
    received it."""
    session.add(
        CaseMessage(
            case_id=case_id,
            kind="system",
            channel="email",
            author_label=mail.from_address,
            subject=mail.subject,
            body_text="Delivery failure reported: " + mail.text[:2000],
            awaiting_answer=False,
            created_at=now,
        )
    )


def _bounce_unreadable(
    session: Session, *, raw: bytes, raw_id: int, config: CasesConfig, now: datetime
) -> None:
    """Tell a sender we could read an address from that their message could not be read,
    unless it looks like machine mail (never answer a robot)."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        items = [(k, str(v)) for k, v in headers.items()]
    except Exception:
        return
    address = parseaddr(dict((k.casefold(), v) for k, v in items).get("from", ""))[1]
    if not address or "@" not in address:
        return
    decision = domain.classify_inbound_mail(items, own_addresses=[config.mail_from])
    if decision.kind is not MailKind.HUMAN:
        return
    outbox.enqueue_email(
        session,
        key=f"mail-unreadable:{raw_id}",
        sender=config.mail_from,
        to=address,
        subject="Votre message n'a pas pu être lu / Your message could not be read",
        body=(
            "Bonjour,\n\nVotre message nous est bien parvenu mais n'a pas pu être lu. Il est"
            " conservé et un conseiller va l'examiner ; vous pouvez aussi nous le renvoyer.\n\n"
            "Hello,\n\nYour message reached us but could not be read. It is kept and an agent"
            " will look at it; you may also send it again.\n"
        ),
        headers=dict(domain.ACKNOWLEDGEMENT_HEADERS),
        now=now,
        ref_type="raw_inbound",
        ref_id=raw_id,
    )


# --------------------------------------------------------------------------------------
# Servers and pollers
# --------------------------------------------------------------------------------------


class InboundSmtpHandler:
    """aiosmtpd handler: accept a message once its raw bytes are safely stored."""

    def __init__(self, db: Database, config: CasesConfig, clock: Any = utcnow) -> None:
        self.db, self.config, self.clock = db, config, clock

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        try:
            await asyncio.to_thread(
                receive_email, self.db, raw=raw, config=self.config, now=self.clock()
            )
        except Exception:
            log.exception("could not store an inbound e-mail")
            return "451 4.3.0 Temporary failure, please retry"
        return "250 2.0.0 Message accepted"


def start_smtp_receiver(
    db: Database,
    config: CasesConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 2525,
    clock: Any = utcnow,
    max_bytes: int = 25_000_000,
) -> Any:
    """Start the inbound SMTP server in a thread; call ``.stop()`` on the result."""
    from aiosmtpd.controller import Controller

    controller = Controller(
        InboundSmtpHandler(db, config, clock),
        hostname=host,
        port=port,
        data_size_limit=max_bytes,
        server_hostname="egards.local",
        ready_timeout=10,
    )
    controller.start()
    return controller


def poll_imap(
    db: Database,
    config: CasesConfig,
    *,
    host: str,
    port: int,
    user: str,
    password: str,
    ssl: bool = True,
    mailbox: str = "INBOX",
    now: datetime | None = None,
    limit: int = 200,
) -> str:
    """Fetch unseen messages; each is marked seen only once its raw bytes are stored."""
    client_class = imaplib.IMAP4_SSL if ssl else imaplib.IMAP4
    fetched = 0
    with client_class(host, port) as imap:
        imap.login(user, password)
        imap.select(mailbox)
        _, data = imap.uid("search", None, "UNSEEN")
        for uid in (data[0] or b"").split()[:limit]:
            _, parts = imap.uid("fetch", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if raw is None:
                continue
            receive_email(db, raw=raw, config=config, source="imap", now=now)
            imap.uid("store", uid, "+FLAGS", "(\\Seen)")
            fetched += 1
    return f"{fetched} message(s) fetched"
