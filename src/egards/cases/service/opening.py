"""Opening a case from any channel: find the sender's file, choose the promise, store the
first message and its attachments, assign, acknowledge, audit and put it on the timeline."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from egards import i18n
from egards.accounts.domain import Actor, Permission
from egards.cases.domain import (
    CHURN_THREAT_CATEGORIES,
    CaseFacts,
    CaseStatus,
    SlaState,
    churn_band,
    format_case_number,
    is_public_exposure,
    value_band,
)
from egards.cases.intake import check_attachment, route_team
from egards.cases.labels import case_word
from egards.cases.models import Case, CaseAttachment, CaseMessage, CaseStatusChange
from egards.cases.service._common import (
    _announce,
    _first_words,
    _iso,
    _message_text,
    _record,
)
from egards.cases.service.config import CasesConfig
from egards.cases.service.inputs import AttachmentIn, CaseDetails, InboundIn, Opened
from egards.cases.service.notices import _acknowledge, _refusal_notice
from egards.cases.service.silence import _track
from egards.cases.service.sla import refresh_sla
from egards.cases.service.standing import standing_of
from egards.cases.service.workflow import _auto_assign
from egards.customers import service as customers
from egards.db import utcnow
from egards.i18n import N_


def _find_customer(session: Session, message: InboundIn, region: str = "FR") -> int | None:
    """The active customer owning the sender's identity, if exactly one does."""
    if not message.from_address or not message.address_kind:
        return None
    return customers.owner_of_identity(
        session,
        kind=message.address_kind,
        value=message.from_address,
        network=message.network or "",
        region=region,
    )


def _store_attachments(
    session: Session, message: CaseMessage, files: Iterable[AttachmentIn], config: CasesConfig
) -> list[str]:
    refusals = []
    files = list(files)
    if files:
        session.flush()  # the message's id, for its attachments
    for item in files:
        verdict = check_attachment(
            filename=item.filename,
            content_type=item.content_type,
            content=item.content,
            max_bytes=config.max_attachment_bytes,
        )
        session.add(
            CaseAttachment(
                message_id=message.id,
                filename=(item.filename or "attachment")[:255],
                content_type=(item.content_type or "application/octet-stream")[:120],
                size=len(item.content),
                sha256=hashlib.sha256(item.content).hexdigest(),
                accepted=verdict.accepted,
                refusal=verdict.refusal,
                content=item.content if verdict.accepted else None,
            )
        )
        if verdict.refusal:
            refusals.append(verdict.refusal)
    return refusals


def open_case(
    session: Session,
    *,
    actor: Actor,
    details: CaseDetails,
    message: InboundIn,
    config: CasesConfig,
    now: datetime | None = None,
    acknowledge: bool = True,
    answered_on_the_spot: bool = False,
    region: str = "FR",
) -> Opened:
    """Open a case from any channel with its first message, choose its promise, assign it,
    acknowledge it in the customer's language, and put it on the timeline and in the audit.
    """
    actor.require(Permission.CASES_WRITE)
    now = now or utcnow()
    received = message.received_at or now
    customer: customers.Customer | None = None
    customer_id = details.customer_id
    if customer_id is not None:
        # The actor must be able to see this customer (a partner: one assigned to it).
        customer = customers.get_customer(session, actor=actor, customer_id=customer_id)
    elif not actor.is_partner:  # a partner never links a file it cannot see
        customer_id = _find_customer(session, message, region)
        if customer_id is not None:
            customer = customers.get_by_id(session, customer_id)
    subject = " ".join((details.subject or "").split())[:300] or _first_words(message.body_text)
    language = _language(details.language, customer)
    # Entitlement from the sender's live status, never from their audience (seed 004).
    standing = standing_of(session, customer_id)
    exposed = is_public_exposure(details.audience, threshold=config.public_exposure_audience)
    team = route_team(
        channel=details.channel,
        category=details.category,
        team=details.team,
        public_exposure=exposed,
    )
    tier = details.loyalty_tier or standing.tier
    facts = CaseFacts(
        channel=details.channel,
        category=details.category,
        priority=details.priority,
        team=team,
        loyalty_tier=tier,
        service_level=standing.service_level,
    )
    threat = (details.category or "").casefold() in CHURN_THREAT_CATEGORIES
    policy = config.sla.policy_for(facts)
    case = Case(
        customer_id=customer_id,
        # What a partner opens belongs to its organisation, whatever the channel.
        organisation_id=actor.organisation_id if actor.is_partner else details.organisation_id,
        channel=str(details.channel),
        team=team,
        subject=subject,
        category=details.category,
        priority=str(details.priority),
        status=str(CaseStatus.NEW),
        language=language,
        tags=sorted(set(details.tags)),
        sender_name=(message.from_name or None) and message.from_name[:200],
        sender_address=message.from_address,
        sender_kind=message.address_kind,
        loyalty_tier=tier,
        service_level=standing.service_level,
        value_band=int(value_band(standing)),
        churn_band=int(churn_band(standing.churn_risk, threat=threat)),
        audience=details.audience,
        public_exposure=exposed,
        opened_by=actor.label,
        created_at=received,
        updated_at=now,
        sla_policy=policy.name,
        status_log=[[received.isoformat(), str(CaseStatus.NEW)]],
        awaiting_since=None if answered_on_the_spot else received,
        sla_state=str(SlaState.ON_TRACK),
        reply_overdue=False,
        next_response_breaches=0,
        reopened_count=0,
    )
    session.add(case)
    session.flush()
    inbound = _add_message(
        session,
        case,
        kind="inbound",
        channel=case.channel,
        author=message.from_name or message.from_address or actor.label,
        message=message,
        awaiting=not answered_on_the_spot,
        at=received,
    )
    refused = _store_attachments(session, inbound, message.attachments, config)
    if answered_on_the_spot:
        case.first_response_at = received
    session.add(
        CaseStatusChange(
            case_id=case.id,
            at=received,
            from_status=None,
            to_status=str(CaseStatus.NEW),
            actor_label=actor.label,
        )
    )
    _auto_assign(session, case, config, now=now)
    refresh_sla(case, config, now=now)
    _track(session, case, (False, False), now=now)
    _record(
        session,
        actor,
        case,
        "case.open",
        i18n.message(
            N_("Case opened ({channel}): {subject}"),
            channel=case_word(case.channel),
            subject=subject,
        ),
        now,
        kind="case.opened",
        after={
            "number": format_case_number(case.id),
            "channel": case.channel,
            "team": case.team,
            "subject": case.subject,
            "priority": case.priority,
            "category": case.category,
            "sla_policy": case.sla_policy,
            "service_level": case.service_level,
            "value_band": case.value_band,
            "public_exposure": case.public_exposure,
            "first_response_due_at": _iso(case.first_response_due_at),
            "assignee_id": case.assignee_id,
        },
    )
    acknowledgement = None
    if acknowledge and not answered_on_the_spot:
        acknowledgement = _acknowledge(
            session, case, inbound, config, customer=customer, now=now, actor=actor
        )
    if refused:
        _refusal_notice(session, case, inbound, refused, config, now=now)
    session.flush()
    _announce(
        session,
        "inbound_message_received",
        actor=actor,
        case_id=case.id,
        message_id=inbound.id,
        customer_id=case.customer_id,
        text=_message_text(message.subject, message.body_text),
        received_at=received,
        now=now,
    )
    return Opened(case, inbound, acknowledgement, refused)


def _language(requested: str | None, customer: customers.Customer | None) -> str:
    if customer is not None and customer.preferred_language:
        return customer.preferred_language[:2]
    if requested:
        primary = requested.replace("_", "-").split("-")[0].casefold()
        return primary if primary in ("fr", "en") else "en"
    return "fr"


def _add_message(
    session: Session,
    case: Case,
    *,
    kind: str,
    channel: str,
    author: str,
    message: InboundIn,
    awaiting: bool,
    at: datetime,
) -> CaseMessage:
    entry = CaseMessage(
        case_id=case.id,
        kind=kind,
        channel=channel,
        author_label=author[:200],
        from_address=message.from_address,
        to_address=message.to_address,
        subject=(message.subject or None) and message.subject[:300],
        body_text=message.body_text,
        body_html=message.body_html,
        message_id=message.message_id,
        in_reply_to=message.in_reply_to,
        references=message.references,
        raw_id=message.raw_id,
        awaiting_answer=awaiting,
        created_at=at,
    )
    session.add(entry)
    return entry
