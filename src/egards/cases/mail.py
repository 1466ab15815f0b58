"""E-mail in and out: parsing, threading, the SMTP receiver and the IMAP poller.

Whatever arrives is stored byte for byte first (``RawInbound``), in its own transaction;
parsing, threading and acknowledging happen in a second one. If that fails, the raw message
stays, marked ``failed`` and counted on the "no silence" page: nothing is lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any

import nh3
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Role
from egards.cases import domain, service
from egards.cases.domain import Channel, MailKind
from egards.cases.models import Case, CaseMessage, ImapMailbox, RawInbound
from egards.cases.service import AttachmentIn, CaseDetails, CasesConfig, InboundIn
from egards.config import Settings
from egards.customers import service as customers
from egards.db import Database, rowcount, utcnow
from egards.errors import DomainError, InvalidInput
from egards.i18n import N_, translate
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


LINK_REL = "noopener noreferrer nofollow"


def sanitise_html(html: str) -> str:
    """Only inert markup survives: no script, style, event handler or javascript: URL, and no
    relative URL (in a message, it could only point into the console itself)."""
    return nh3.clean(html, link_rel=LINK_REL, url_relative="deny")


def displayed_html(html: str, *, remote_images: bool = False) -> tuple[str, int]:
    """Sanitised HTML as the console shows it, and how many images it holds back.

    Images load from the sender's servers, so opening a message would tell them when, from
    where and by whom it was read (a tracking pixel): they are held back until the agent
    asks for them, and then only over http(s).
    """
    held_back = 0

    def image_source(element: str, attribute: str, value: str) -> str | None:
        nonlocal held_back
        if element != "img" or attribute not in ("src", "srcset"):
            return value
        if remote_images and attribute == "src" and value.lower().startswith(("https:", "http:")):
            return value
        held_back += attribute == "src"
        return None

    shown = nh3.clean(html, link_rel=LINK_REL, url_relative="deny", attribute_filter=image_source)
    return shown, held_back


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


def _header_items(message: Message) -> tuple[tuple[str, str], ...]:
    """Every header as text: RFC 2047 words and raw UTF-8 (RFC 6532) decoded.

    Plain ASCII values are kept as sent: decoding them changes nothing, and the structured
    parser drops parts of malformed ones (``Message-ID: <a b@c>`` would read ``<a``). A value
    the parser cannot read is kept as sent, undecoded, rather than failing the message.
    """
    items = []
    for name, raw in message.raw_items():
        value = raw
        if "=?" in raw or not raw.isascii():
            try:
                value = str(message.policy.header_fetch_parse(name, raw))
            except Exception:
                value = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        items.append((name, _unfolded(value)))
    return tuple(items)


def read_headers(raw: bytes) -> tuple[tuple[str, str], ...]:
    """The headers of a raw message only (quick: the body is not parsed)."""
    return _header_items(BytesHeaderParser(policy=policy.SMTPUTF8).parsebytes(raw))


def parse_mail(raw: bytes) -> ParsedMail:
    """Headers, text (HTML sanitised), attachments of an RFC 5322 message.

    Headers are read as RFC 6532 allows (raw UTF-8, as our SMTPUTF8 receiver accepts) and as
    RFC 2047 encodes them. Refuses what has no readable sender or no header at all;
    tolerates the rest (unknown charsets, broken encodings), as a person would rather have a
    garbled word than nothing.
    """
    try:
        message = BytesParser(policy=policy.SMTPUTF8).parsebytes(raw)
        headers = _header_items(message)
    except Exception as exc:  # the parser is lenient; anything raised here is fatal
        raise MalformedMail(
            N_("unreadable message: {problem}"), problem=f"{type(exc).__name__}: {exc}"
        ) from None
    if not headers:
        raise MalformedMail(N_("no header found: this is not an e-mail"))
    found: dict[str, str] = {}
    for name, value in headers:
        found.setdefault(name.casefold(), value)
    from_name, from_address = parseaddr(found.get("from", ""))
    if not from_address or "@" not in from_address:
        raise MalformedMail(N_("no sender address (From) could be read"))
    to_addresses = getaddresses([found.get("to", "")])
    try:
        text, html, attachments = _body(message)
    except Exception as exc:
        raise MalformedMail(
            N_("unreadable body: {problem}"), problem=f"{type(exc).__name__}: {exc}"
        ) from None
    return ParsedMail(
        headers=headers,
        message_id=domain.normalize_message_id(found.get("message-id")),
        in_reply_to=found.get("in-reply-to"),
        references=found.get("references"),
        subject=found.get("subject", "")[:300],
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
            payload = part.get_payload(decode=True)  # bytes, or None for an empty part
            attachments.append(
                AttachmentIn(
                    filename=filename or "attachment",
                    content_type=content_type,
                    content=payload if isinstance(payload, bytes) else b"",
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
        found = {name.casefold(): value for name, value in reversed(read_headers(raw))}
    except Exception:
        return None
    return domain.normalize_message_id(found.get("message-id"))


@dataclass(frozen=True)
class Received:
    raw_id: int
    status: str
    case_id: int | None = None
    kind: str | None = None
    acknowledged: bool = False
    error: str | None = None


def add_raw(
    session: Session, *, raw: bytes, source: str, now: datetime, channel: str = "email"
) -> RawInbound:
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
    return entry


def store_raw(
    db: Database, *, raw: bytes, source: str, now: datetime, channel: str = "email"
) -> int:
    with db.unit_of_work() as session:
        return add_raw(session, raw=raw, source=source, now=now, channel=channel).id


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
    return process_stored(db, raw_id=raw_id, raw=raw, config=config, now=now)


def process_stored(
    db: Database, *, raw_id: int, raw: bytes, config: CasesConfig, now: datetime
) -> Received:
    """The second transaction of intake; a failure marks the stored message ``failed``."""
    try:
        with db.unit_of_work() as session:
            return process_email(session, raw_id=raw_id, raw=raw, config=config, now=now)
    except Exception as exc:
        error = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, DomainError):
            log.exception("inbound e-mail %s could not be processed", raw_id)
        with db.unit_of_work() as session:
            entry = session.get_one(RawInbound, raw_id)
            entry.status, entry.error = "failed", error[:2000]
            if isinstance(exc, MalformedMail):
                _bounce_unreadable(session, raw=raw, raw_id=raw_id, config=config, now=now)
        return Received(raw_id=raw_id, status="failed", error=error)


def process_email(
    session: Session, *, raw_id: int, raw: bytes, config: CasesConfig, now: datetime
) -> Received:
    entry = session.get_one(RawInbound, raw_id)
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
        rows = session.execute(
            select(CaseMessage.message_id, CaseMessage.case_id).where(
                CaseMessage.message_id.in_(candidates)
            )
        ).all()
        known = {message_id: case_id for message_id, case_id in rows if message_id is not None}
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
    return address in customers.identity_values(session, case.customer_id, "email")


def _note_bounce(session: Session, case_id: int, mail: ParsedMail, *, now: datetime) -> None:
    """A delivery failure of one of our answers: the agent must know the customer has not
    received it. The thread names it by its kind ("delivery_failure") in the reader's
    language; the body is the report as the mail server wrote it."""
    session.add(
        CaseMessage(
            case_id=case_id,
            kind="delivery_failure",
            channel="email",
            author_label=mail.from_address,
            subject=mail.subject,
            body_text=mail.text[:2000],
            awaiting_answer=False,
            created_at=now,
        )
    )


UNREADABLE_SUBJECT = N_("Your message could not be read")
UNREADABLE_BODY = N_(
    "Hello,\n\nYour message reached us but could not be read. It is kept and an agent will"
    " look at it; you may also send it again.\n"
)
UNREADABLE_LOCALES = ("fr", "en")
"""The reply to a message that could not be read is in both languages (the sender's is not
known), French first, each from the catalogues."""


def _bounce_unreadable(
    session: Session, *, raw: bytes, raw_id: int, config: CasesConfig, now: datetime
) -> None:
    """Tell a sender we could read an address from that their message could not be read,
    unless it looks like machine mail (never answer a robot)."""
    try:
        items = read_headers(raw)
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
        subject=" / ".join(translate(locale, UNREADABLE_SUBJECT) for locale in UNREADABLE_LOCALES),
        body="\n\n".join(translate(locale, UNREADABLE_BODY) for locale in UNREADABLE_LOCALES),
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
        enable_SMTPUTF8=True,  # addresses and headers in UTF-8 (RFC 6531, 6532)
        server_hostname="egards.local",
        ready_timeout=10,
    )
    controller.start()
    return controller


@dataclass(frozen=True)
class ImapAccount:
    """One mailbox to poll. With ``ssl`` (the default) the server's certificate and host
    name are verified against the system's CAs, or those of ``ca_file``."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    ssl: bool = True
    ca_file: str | None = None
    timeout: float = 30.0
    mailbox: str = "INBOX"

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.mailbox}"[:400]

    @classmethod
    def from_settings(cls, settings: Settings) -> ImapAccount:
        return cls(
            host=settings.imap_host or "",
            port=settings.imap_port,
            user=settings.imap_user or "",
            password=settings.imap_password or "",
            ssl=settings.imap_ssl,
            ca_file=str(settings.imap_ca_file) if settings.imap_ca_file else None,
            timeout=settings.mail_timeout,
        )


class ImapUnavailable(Exception):
    """The mailbox could not be reached, trusted, logged into or read."""


def _connect(account: ImapAccount) -> imaplib.IMAP4:
    if account.ssl:
        context = ssl.create_default_context(cafile=account.ca_file)
        return imaplib.IMAP4_SSL(
            account.host, account.port, ssl_context=context, timeout=account.timeout
        )
    return imaplib.IMAP4(account.host, account.port, timeout=account.timeout)


def _why(exc: BaseException, account: ImapAccount) -> str:
    """One line an operator can act on."""
    where = f"{account.host}:{account.port}"
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} within {account.timeout:g} s"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate of {where} refused: {exc.verify_message or exc}"
    if isinstance(exc, imaplib.IMAP4.error):
        text = exc.args[0] if exc.args else exc
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{where} refused {account.user}: {text}"
    return f"{where}: {type(exc).__name__}: {exc}"


def _uid_list(data: list[Any]) -> list[int]:
    return [int(uid) for uid in b" ".join(d for d in data if d).split()]


def _command(imap: imaplib.IMAP4, *args: Any) -> list[Any]:
    status, data = imap.uid(*args)
    if status != "OK":
        raise ImapUnavailable(f"UID {args[0]} refused: {data!r}")
    return data


def poll_imap(
    db: Database,
    config: CasesConfig,
    account: ImapAccount,
    *,
    now: datetime | None = None,
    limit: int = 200,
) -> str:
    """Store and process the messages of ``account`` not read yet (``domain.uids_to_fetch``).

    The mailbox is opened read-only: flags stay as people set them. Each message's raw bytes
    and the new position are stored in one transaction, so a crash never reads a message
    twice nor skips one. A failure (network, certificate, password) is logged in one line
    and spaces out the next attempts (``domain.imap_retry_delay``); it is returned as an
    ``error:`` report until the mailbox answers again.
    """
    now = now or utcnow()
    with db.unit_of_work() as session:
        state = session.get(ImapMailbox, account.key)
        if state is None:
            state = ImapMailbox(account=account.key, last_uid=0, backlog_until=0, failures=0)
            session.add(state)
        if state.retry_at is not None and now < state.retry_at:
            return (
                f"error: {state.last_error} ({state.failures} failure(s) in a row;"
                f" next attempt after {state.retry_at:%Y-%m-%d %H:%M} UTC)"
            )
    try:
        fetched = _read_mailbox(db, config, account, now=now, limit=limit)
    except (OSError, imaplib.IMAP4.error, ImapUnavailable) as exc:
        reason = _why(exc, account)
        with db.unit_of_work() as session:
            state = session.get_one(ImapMailbox, account.key)
            state.failures += 1
            state.retry_at = now + domain.imap_retry_delay(state.failures)
            state.last_error = reason[:2000]
            failures, retry_at = state.failures, state.retry_at
        log.warning(
            "IMAP %s: %s (failure %d in a row; next attempt after %s)",
            account.key,
            reason,
            failures,
            f"{retry_at:%Y-%m-%d %H:%M} UTC",
        )
        return f"error: {reason}"
    with db.unit_of_work() as session:
        state = session.get_one(ImapMailbox, account.key)
        state.failures, state.retry_at, state.last_error = 0, None, None
        state.polled_at = now
    return f"{fetched} message(s) fetched"


def _read_mailbox(
    db: Database, config: CasesConfig, account: ImapAccount, *, now: datetime, limit: int
) -> int:
    with _connect(account) as imap:
        imap.login(account.user, account.password)
        status, data = imap.select(_quoted(account.mailbox), readonly=True)
        if status != "OK":
            raise ImapUnavailable(f"mailbox {account.mailbox} not found: {data!r}")
        validity, uid_next = (imap.response(code)[1][0] for code in ("UIDVALIDITY", "UIDNEXT"))
        if validity is None:
            raise ImapUnavailable(f"mailbox {account.mailbox} has no UIDVALIDITY")
        validity = int(validity)
        with db.unit_of_work() as session:
            state = session.get_one(ImapMailbox, account.key)
            if state.uid_validity != validity:  # first contact, or the mailbox was rebuilt
                if state.uid_validity is not None:
                    log.warning("IMAP %s was rebuilt (new UIDVALIDITY)", account.key)
                state.uid_validity, state.last_uid = validity, 0
                state.backlog_until = (
                    int(uid_next) - 1
                    if uid_next
                    else max(_uid_list(_command(imap, "search", None, "ALL")), default=0)
                )
            last_uid, backlog_until = state.last_uid, state.backlog_until
        unseen: list[int] = []
        if last_uid < backlog_until:
            unseen = _uid_list(
                _command(imap, "search", None, f"UID {last_uid + 1}:{backlog_until} UNSEEN")
            )
        # "n:*" always includes the highest UID, even below n: uids_to_fetch filters it.
        every = _uid_list(_command(imap, "search", None, f"UID {last_uid + 1}:*"))
        todo = domain.uids_to_fetch(
            every, last_uid=last_uid, backlog_until=backlog_until, unseen_backlog=unseen
        )
        fetched = 0
        for uid in todo[:limit]:
            parts = _command(imap, "fetch", str(uid), "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            stored = _store_fetched(db, account, validity, uid, raw, now=now)
            if stored is not None and raw is not None:  # nothing is stored without a body
                process_stored(db, raw_id=stored, raw=raw, config=config, now=now)
                fetched += 1
        if len(todo) <= limit:
            with db.unit_of_work() as session:
                state = session.get_one(ImapMailbox, account.key)
                if state.uid_validity == validity:
                    state.last_uid = max(state.last_uid, backlog_until)
    return fetched


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _store_fetched(
    db: Database,
    account: ImapAccount,
    validity: int,
    uid: int,
    raw: bytes | None,
    *,
    now: datetime,
) -> int | None:
    """Store one fetched message and move past its UID, in one transaction. None when
    another poller moved past it first, or when these exact bytes were stored already (a
    rebuilt mailbox) or vanished (expunged meanwhile)."""
    with db.unit_of_work() as session:
        moved = rowcount(
            session.execute(
                update(ImapMailbox)
                .where(
                    ImapMailbox.account == account.key,
                    ImapMailbox.uid_validity == validity,
                    ImapMailbox.last_uid < uid,
                )
                .values(last_uid=uid)
            )
        )
        if not moved or raw is None:
            return None
        digest = hashlib.sha256(raw).hexdigest()
        if session.scalar(select(RawInbound.id).where(RawInbound.sha256 == digest).limit(1)):
            return None
        return add_raw(session, raw=raw, source="imap", now=now).id
