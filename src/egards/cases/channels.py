"""Intake per channel: what each entry point turns into ``service.open_case``.

Channels where a customer writes to us directly (web form, social mention) keep the raw
input first, in its own transaction, like e-mail: if anything fails afterwards, what the
customer sent is still there.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from egards import features
from egards.accounts.domain import Actor, Permission, Role
from egards.cases import service
from egards.cases.domain import Channel
from egards.cases.errors import TooManyRequests
from egards.cases.intake import check_attachment, verify_webhook
from egards.cases.mail import store_raw
from egards.cases.models import Case, CaseMessage, RawInbound
from egards.cases.schemas import (
    CaseLogCreate,
    PartnerReportCreate,
    SocialMentionCreate,
    WebFormCreate,
)
from egards.cases.service import AttachmentIn, CaseDetails, CasesConfig, InboundIn, Opened
from egards.db import Database
from egards.errors import DomainError, InvalidInput, PermissionDenied
from egards.i18n import N_
from egards.schemas import control_character

WEB_FORM = Actor(label="web form", role=Role.ADMIN)
SOCIAL = Actor(label="social webhook", role=Role.ADMIN)
T = TypeVar("T")


def with_raw(
    db: Database,
    *,
    channel: str,
    source: str,
    raw: bytes,
    now: datetime,
    process: Callable[[Session, int], T],
) -> T:
    """Store ``raw``, then ``process`` it in a second transaction. A refusal marks the raw
    input ``rejected`` (the sender was told why), an unexpected error ``failed``."""
    raw_id = store_raw(db, raw=raw, source=source, now=now, channel=channel)
    try:
        with db.unit_of_work() as session:
            result = process(session, raw_id)
            entry = session.get_one(RawInbound, raw_id)
            if entry.status == "received":
                entry.status = "processed"
            return result
    except Exception as exc:
        refused = isinstance(exc, DomainError)
        error = exc.message if refused else f"{type(exc).__name__}: {exc}"
        with db.unit_of_work() as session:
            entry = session.get_one(RawInbound, raw_id)
            entry.status = "rejected" if refused else "failed"
            entry.error = error[:2000]
        raise


def _validated(model: type[T], data: Any) -> T:
    try:
        return model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(problems, field=field) from None


# --------------------------------------------------------------------------------------
# Agents and partners
# --------------------------------------------------------------------------------------


def log_contact(
    session: Session, *, actor: Actor, data: CaseLogCreate, config: CasesConfig, now: datetime
) -> Opened:
    """A phone call, a shop visit or a letter, logged by an agent while it happens."""
    if actor.is_partner:
        raise PermissionDenied(N_("partners report through /cases/partner-reports"))
    address, kind = None, None
    if data.contact_email:
        address, kind = str(data.contact_email).casefold(), "email"
    elif data.contact_phone:
        address, kind = data.contact_phone, "phone"
    return service.open_case(
        session,
        actor=actor,
        details=CaseDetails(
            channel=Channel(data.channel),
            subject=data.subject,
            category=data.category,
            priority=data.priority,
            team=data.team,
            language=data.language,
            loyalty_tier=data.loyalty_tier,
            tags=tuple(data.tags),
            customer_id=data.customer_id,
            organisation_id=data.organisation_id,
        ),
        message=InboundIn(
            body_text=data.message,
            subject=data.subject,
            from_name=data.contact_name,
            from_address=address,
            address_kind=kind,
        ),
        config=config,
        now=now,
        answered_on_the_spot=data.answered_on_the_spot,
    )


def partner_report(
    session: Session,
    *,
    actor: Actor,
    data: PartnerReportCreate,
    config: CasesConfig,
    now: datetime,
) -> Opened:
    """A partner reports about a customer assigned to its organisation; the case stays
    visible to that partner and to the company, to no other partner."""
    if not actor.is_partner or actor.organisation_id is None:
        raise PermissionDenied(N_("partner reports come from partner credentials"))
    return service.open_case(
        session,
        actor=actor,
        details=CaseDetails(
            channel=Channel.PARTNER,
            subject=data.subject,
            category=data.category,
            priority=data.priority,
            customer_id=data.customer_id,
            organisation_id=actor.organisation_id,
        ),
        message=InboundIn(body_text=data.message, subject=data.subject, from_name=actor.label),
        config=config,
        now=now,
    )


def letter(
    session: Session,
    *,
    actor: Actor,
    subject: str,
    transcription: str,
    scan: AttachmentIn | None,
    customer_id: int | None,
    sender_name: str | None,
    category: str | None,
    config: CasesConfig,
    now: datetime,
) -> Opened:
    """A postal letter: the scan and the agent's typed transcription. A scan that breaks the
    limits is refused with the reason, and nothing is created."""
    actor.require(Permission.CASES_WRITE)
    # Form fields, not a JSON schema: the rule of egards.schemas.Input, applied here (a NUL
    # byte is stored by SQLite but refused by PostgreSQL).
    texts = {
        "subject": subject,
        "transcription": transcription,
        "sender_name": sender_name,
        "category": category,
    }
    for field, text in texts.items():
        if where := control_character(text):
            raise InvalidInput(
                N_("contains a control character ({where}); only tab and line breaks are allowed"),
                field=field,
                where=where,
            )
    if not transcription.strip():
        raise InvalidInput(N_("type the letter's text"), field="transcription")
    if scan is not None:
        verdict = check_attachment(
            filename=scan.filename,
            content_type=scan.content_type,
            content=scan.content,
            max_bytes=config.max_attachment_bytes,
        )
        if not verdict.accepted:
            raise InvalidInput(verdict.refusal or "scan refused", field="scan")
    return service.open_case(
        session,
        actor=actor,
        details=CaseDetails(
            channel=Channel.LETTER,
            subject=subject,
            category=category,
            customer_id=customer_id,
        ),
        message=InboundIn(
            body_text=transcription,
            subject=subject,
            from_name=sender_name,
            attachments=(scan,) if scan else (),
        ),
        config=config,
        now=now,
    )


# --------------------------------------------------------------------------------------
# Public channels
# --------------------------------------------------------------------------------------


class RateLimiter:
    """At most ``per_minute`` requests per key in any sliding minute (in memory)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[datetime]] = {}

    def check(self, key: str, now: datetime) -> None:
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= timedelta(minutes=1):
            hits.popleft()
        if len(hits) >= self.per_minute:
            raise TooManyRequests(N_("too many messages from this address; try again in a minute"))
        hits.append(now)
        if len(self._hits) > 10_000:
            self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < timedelta(1)}


def parse_form_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise InvalidInput(N_("malformed JSON"), field="body") from None
        if not isinstance(data, dict):
            raise InvalidInput(N_("expected a JSON object"), field="body")
        return data
    fields = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items() if values[-1] != ""}


def web_form(
    db: Database,
    *,
    raw: bytes,
    content_type: str,
    config: CasesConfig,
    now: datetime,
) -> Opened | None:
    """The public contact form. A filled spam trap is kept as spam and opens nothing."""

    def process(session: Session, raw_id: int) -> Opened | None:
        data = parse_form_body(raw, content_type)
        if data.get("website"):
            session.get_one(RawInbound, raw_id).status = "spam"
            return None
        form = _validated(WebFormCreate, data)
        opened = service.open_case(
            session,
            actor=WEB_FORM,
            details=CaseDetails(
                channel=Channel.WEB_FORM,
                subject=form.subject,
                category=form.category,
                language=form.language,
            ),
            message=InboundIn(
                body_text=form.message,
                subject=form.subject,
                from_name=form.name,
                from_address=str(form.email).casefold(),
                address_kind="email",
                raw_id=raw_id,
            ),
            config=config,
            now=now,
        )
        session.get_one(RawInbound, raw_id).case_id = opened.case.id
        return opened

    return with_raw(db, channel="web_form", source="web_form", raw=raw, now=now, process=process)


def social_mention(
    db: Database,
    *,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    secret: str | None,
    config: CasesConfig,
    now: datetime,
) -> Opened:
    """A mention pushed by a social listening tool, signed with our shared secret."""
    digest = verify_webhook(
        secret=secret, timestamp=timestamp, signature=signature, body=body, now=now
    )

    def process(session: Session, raw_id: int) -> Opened:
        service.remember_webhook(session, source="social", digest=digest, now=now)
        try:
            data = json.loads(body)
        except ValueError:
            raise InvalidInput(N_("malformed JSON"), field="body") from None
        mention = _validated(SocialMentionCreate, data)
        known = session.scalar(
            select(CaseMessage).where(CaseMessage.message_id == social_message_id(mention))
        )
        if known is not None:  # the same post pushed twice
            entry = session.get_one(RawInbound, raw_id)
            entry.status, entry.case_id = "duplicate", known.case_id
            return Opened(session.get_one(Case, known.case_id), known)
        opened = open_social_case(session, mention=mention, raw_id=raw_id, config=config, now=now)
        session.get_one(RawInbound, raw_id).case_id = opened.case.id
        return opened

    return with_raw(
        db, channel="social", source="social_webhook", raw=body, now=now, process=process
    )


def social_message_id(mention: SocialMentionCreate) -> str:
    return f"<{mention.network}.{mention.external_id}@social>"


def open_social_case(
    session: Session,
    *,
    mention: SocialMentionCreate,
    config: CasesConfig,
    now: datetime,
    raw_id: int | None = None,
    received_at: datetime | None = None,
) -> Opened:
    """Open the case of a social post or direct message.

    The author is resolved first by the features that know social profiles (the
    ``service.social_sender(session, mention=..., now=...)`` hook: it records the profile and
    its audience and returns the linked customer, if any), then by the handle among the
    customers' identities. Entitlement follows the customer's status; the audience only sets
    the public exposure flag. Afterwards ``service.social_case_opened(session, mention=...,
    case_id=..., now=...)`` lets those features attach the mention to its case.
    """
    handle = mention.handle.lstrip("@")
    customer_id = None
    for _feature, hook in features.hooks("service", "social_sender"):
        customer_id = hook(session, mention=mention, now=now) or customer_id
    opened = service.open_case(
        session,
        actor=SOCIAL,
        details=CaseDetails(
            channel=Channel.SOCIAL,
            subject=f"@{handle} on {mention.network}",
            language=mention.language,
            tags=(mention.network, str(mention.kind)),
            customer_id=customer_id,
            audience=mention.followers,
        ),
        message=InboundIn(
            body_text=mention.text + (f"\n\n{mention.url}" if mention.url else ""),
            from_name=mention.author_name or f"@{handle}",
            from_address=handle,
            address_kind="social",
            network=mention.network,
            message_id=social_message_id(mention),
            raw_id=raw_id,
            received_at=received_at,
        ),
        config=config,
        now=now,
    )
    for _feature, hook in features.hooks("service", "social_case_opened"):
        hook(session, mention=mention, case_id=opened.case.id, now=now)
    return opened
