"""The exchanges on an open case: the customer writing again (reopening it, or opening a
follow-up case once closed), the agent's reply that stops a response clock, internal notes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from egards import i18n
from egards.accounts.domain import Actor
from egards.cases import domain
from egards.cases.domain import (
    CaseStatus,
    Channel,
    Priority,
    SlaMetric,
    SlaState,
    format_case_number,
    tag_subject,
)
from egards.cases.models import Case, CaseLink, CaseMessage
from egards.cases.service._common import _announce, _first_words, _message_text, _record
from egards.cases.service.config import CasesConfig
from egards.cases.service.inputs import CaseDetails, InboundIn, Opened
from egards.cases.service.notices import _email_of, _refusal_notice, _thread_headers
from egards.cases.service.opening import _add_message, _store_attachments, open_case
from egards.cases.service.queries import _fired_keys, _writable
from egards.cases.service.silence import _membership, _track
from egards.cases.service.sla import case_clocks, refresh_sla
from egards.cases.service.workflow import _change, _set_status
from egards.db import utcnow
from egards.errors import Conflict, InvalidInput
from egards.i18n import N_
from egards.outbox import service as outbox


def add_inbound(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    message: InboundIn,
    config: CasesConfig,
    now: datetime | None = None,
) -> Opened:
    """A customer wrote again: back to open (reopened if resolved), a next-response clock
    starts if we had answered; on a closed case, a follow-up case linked to it opens."""
    now = now or utcnow()
    case = _writable(session, actor=actor, case_id=case_id)
    received = message.received_at or now
    effect = domain.receive_inbound_message(CaseStatus(case.status))
    was = _membership(case)
    if effect.follow_up_case:
        opened = open_case(
            session,
            actor=actor,
            details=CaseDetails(
                channel=Channel(case.channel),
                subject=case.subject,
                category=case.category,
                priority=Priority(case.priority),
                team=case.team,
                language=case.language,
                loyalty_tier=case.loyalty_tier,
                customer_id=None,
                organisation_id=case.organisation_id,
            ),
            message=message,
            config=config,
            now=now,
        )
        if opened.case.customer_id is None and case.customer_id is not None:
            opened.case.customer_id = case.customer_id
        session.add(
            CaseLink(
                case_id=opened.case.id,
                linked_case_id=case.id,
                kind="follow_up_of",
                created_at=now,
                created_by=actor.label,
            )
        )
        return opened
    entry = _add_message(
        session,
        case,
        kind="inbound",
        channel=message.channel or case.channel,
        author=message.from_name or message.from_address or actor.label,
        message=message,
        awaiting=True,
        at=received,
    )
    refused = _store_attachments(session, entry, message.attachments, config)
    if effect.status != CaseStatus(case.status):
        _set_status(session, actor, case, effect.status, reason=None, now=received)
        if effect.reopened:
            case.reopened_count += 1
            case.resolved_at = None
            case.resolution_breached = None
    if case.awaiting_since is None:
        case.awaiting_since = received
    if case.first_response_at is not None and case.next_response_started_at is None:
        case.next_response_started_at = received
    case.updated_at = now
    refresh_sla(case, config, now=now, fired=_fired_keys(session, [case.id]))
    _track(session, case, was, now=now)
    session.flush()  # the message's id, for the audit record
    _record(
        session,
        actor,
        case,
        "case.message_received",
        i18n.message(
            N_("Reopened: {words}") if effect.reopened else N_("New message: {words}"),
            words=_first_words(message.body_text),
        ),
        received,
        kind="case.message_received",
        after={"message_id": entry.id, "reopened": effect.reopened},
    )
    if refused:
        _refusal_notice(session, case, entry, refused, config, now=now)
    session.flush()
    _announce(
        session,
        "inbound_message_received",
        actor=actor,
        case_id=case.id,
        message_id=entry.id,
        customer_id=case.customer_id,
        text=_message_text(message.subject, message.body_text),
        received_at=received,
        now=now,
    )
    return Opened(case, entry, None, refused)


def reply(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    body: str,
    config: CasesConfig,
    now: datetime | None = None,
    then_status: CaseStatus | None = None,
) -> CaseMessage:
    """Answer the customer. The answer stops the first- or next-response clock, takes the
    case out of the "no silence" view and goes out through the outbox."""
    now = now or utcnow()
    body = body.strip()
    if not body:
        raise InvalidInput(N_("an answer cannot be empty"), field="body")
    case = _writable(session, actor=actor, case_id=case_id)
    if case.status == CaseStatus.CLOSED:
        raise Conflict(
            N_("{number} is closed"), number=format_case_number(case.id), field="case_id"
        )
    was = _membership(case)
    to = _email_of(session, case)
    subject = tag_subject(f"Re: {case.subject}", case.id)
    entry = CaseMessage(
        case_id=case.id,
        kind="reply",
        channel="email" if to else case.channel,
        author_label=actor.label,
        author_id=actor.user_id,
        to_address=to,
        subject=subject,
        body_text=body,
        awaiting_answer=False,
        delivery="queued" if to else "manual",
        created_at=now,
    )
    session.add(entry)
    session.flush()
    if to:
        key = f"case-reply:{entry.id}"
        queued = outbox.enqueue_email(
            session,
            key=key,
            sender=config.mail_from,
            to=to,
            subject=subject,
            body=body,
            headers=_thread_headers(session, case),
            now=now,
            ref_type="case",
            ref_id=case.id,
        )
        entry.message_id = queued.payload["message_id"]
        entry.outbox_key = key
    _answered(session, case, config, now=now)
    if case.status == CaseStatus.NEW and then_status is None:
        then_status = CaseStatus.OPEN
    if then_status is not None and then_status != CaseStatus(case.status):
        _change(session, actor, case, then_status, reason=None, config=config, now=now)
    refresh_sla(case, config, now=now, fired=_fired_keys(session, [case.id]))
    _track(session, case, was, now=now)
    _record(
        session,
        actor,
        case,
        "case.reply",
        _first_words(body, 200),
        now,
        kind="case.replied",
        after={"message_id": entry.id, "to": to, "delivery": entry.delivery},
    )
    session.flush()
    return entry


def _answered(session: Session, case: Case, config: CasesConfig, *, now: datetime) -> None:
    clocks = case_clocks(case, config)
    if case.first_response_at is None:
        case.first_response_at = now
    if case.next_response_started_at is not None:
        following = clocks.get(SlaMetric.NEXT_RESPONSE)
        if following and domain.read_clock(following, now=now).state is SlaState.BREACHED:
            case.next_response_breaches += 1
        case.next_response_started_at = None
    case.awaiting_since = None
    session.execute(
        update(CaseMessage)
        .where(CaseMessage.case_id == case.id, CaseMessage.awaiting_answer.is_(True))
        .values(awaiting_answer=False, answered_at=now)
    )
    case.updated_at = now


def add_note(
    session: Session, *, actor: Actor, case_id: int, body: str, now: datetime | None = None
) -> CaseMessage:
    """An internal note: seen by colleagues, never by the customer, stops no clock."""
    now = now or utcnow()
    body = body.strip()
    if not body:
        raise InvalidInput(N_("a note cannot be empty"), field="body")
    case = _writable(session, actor=actor, case_id=case_id)
    entry = CaseMessage(
        case_id=case.id,
        kind="note",
        channel="console",
        author_label=actor.label,
        author_id=actor.user_id,
        body_text=body,
        awaiting_answer=False,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    _record(
        session,
        actor,
        case,
        "case.note",
        _first_words(body, 200),
        now,
        kind="case.note",
        after={"message_id": entry.id},
    )
    return entry
