"""What Égards itself writes to the customer about a case: the acknowledgement and the notice
of refused attachments, threaded on the conversation and sent through the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor
from egards.cases import domain
from egards.cases.acknowledgement import render_acknowledgement
from egards.cases.domain import LOOP_MARKER_HEADER, Channel, format_case_number, tag_subject
from egards.cases.models import Case, CaseMessage
from egards.cases.service._common import _timeline
from egards.cases.service.config import CasesConfig
from egards.customers import service as customers
from egards.i18n import N_, message, pick_locale, translate
from egards.outbox import service as outbox

ACK_KEY = "case-ack:"


_LANGUAGES = {"fr": N_("French"), "en": N_("English")}


def _email_of(session: Session, case: Case) -> str | None:
    """Where to write to the customer: the sender's e-mail, else the file's primary one."""
    if case.sender_kind == "email" and case.sender_address:
        return case.sender_address
    if case.customer_id is None:
        return None
    return customers.primary_email(session, case.customer_id)


def _thread_headers(session: Session, case: Case) -> dict[str, str]:
    """In-Reply-To the customer's last message, References the whole thread (last 20)."""
    rows = session.execute(
        select(CaseMessage.kind, CaseMessage.message_id)
        .where(CaseMessage.case_id == case.id, CaseMessage.message_id.is_not(None))
        .order_by(CaseMessage.id)
    ).all()
    headers = {LOOP_MARKER_HEADER: format_case_number(case.id)}
    ids = [(kind, message_id) for kind, message_id in rows if message_id is not None]
    inbound = [message_id for kind, message_id in ids if kind == "inbound"]
    if inbound:
        headers["In-Reply-To"] = inbound[-1]
    if ids:
        headers["References"] = " ".join(message_id for _, message_id in ids[-20:])
    return headers


def _acknowledge(
    session: Session,
    case: Case,
    inbound: CaseMessage,
    config: CasesConfig,
    *,
    customer: customers.Customer | None,
    now: datetime,
    actor: Actor,
) -> CaseMessage:
    """The acknowledgement: by e-mail when we have an address, else shown where it came in."""
    ack = render_acknowledgement(
        templates=config.ack,
        language=case.language,
        case_sequence=case.id,
        channel=Channel(case.channel),
        first_response_due=case.first_response_due_at,
        customer_time_zone=config.time_zone,
        customer_name=(
            f"{customer.first_name} {customer.last_name}" if customer else case.sender_name
        ),
        original_subject=case.subject,
    )
    to = _email_of(session, case)
    key = f"{ACK_KEY}{case.id}"
    entry = CaseMessage(
        case_id=case.id,
        kind="acknowledgement",
        channel=case.channel if case.channel != "email" and not to else "email",
        author_label="Égards",
        to_address=to,
        subject=ack.subject,
        body_text=ack.body,
        awaiting_answer=False,
        delivery="queued" if to else "shown",
        created_at=now,
    )
    if to:
        headers = {
            **_thread_headers(session, case),
            **domain.ACKNOWLEDGEMENT_HEADERS,
            "Content-Language": ack.language,
        }
        queued = outbox.enqueue_email(
            session,
            key=key,
            sender=config.mail_from,
            to=to,
            subject=ack.subject,
            body=ack.body,
            headers=headers,
            now=now,
            ref_type="case",
            ref_id=case.id,
        )
        entry.message_id = queued.payload["message_id"]
        entry.outbox_key = key
    session.add(entry)
    _timeline(
        session,
        actor,
        case,
        "case.acknowledged",
        message(
            N_("Acknowledged in {language}"),
            language=message(_LANGUAGES.get(ack.language, ack.language)),
        ),
        now,
    )
    return entry


def _refusal_notice(
    session: Session,
    case: Case,
    inbound: CaseMessage,
    refusals: list[str],
    config: CasesConfig,
    *,
    now: datetime,
) -> None:
    """A clear reply to the sender saying which files were not accepted, and why."""
    to = _email_of(session, case)
    locale = pick_locale(case.language)
    intro = translate(locale, N_("Some attachments of your message could not be accepted:"))
    size = config.max_attachment_bytes
    limit = f"{size // 1_000_000} M" if size >= 1_000_000 else f"{size // 1000} K"
    outro = translate(
        locale,
        N_(
            "Your message itself was received. You may send these documents again as PDF or"
            " images, under {limit}B each."
        ),
        limit=limit,
    )
    body = "\n".join([intro, "", *(f"- {r}" for r in refusals), "", outro, ""])
    subject = tag_subject(translate(locale, N_("Attachments not accepted")), case.id)
    entry = CaseMessage(
        case_id=case.id,
        kind="system",
        channel="email" if to else case.channel,
        author_label="Égards",
        to_address=to,
        subject=subject,
        body_text=body,
        awaiting_answer=False,
        delivery="queued" if to else "none",
        created_at=now,
    )
    if to:
        key = f"case-refusal:{inbound.id}"
        queued = outbox.enqueue_email(
            session,
            key=key,
            sender=config.mail_from,
            to=to,
            subject=subject,
            body=body,
            headers={**_thread_headers(session, case), **domain.ACKNOWLEDGEMENT_HEADERS},
            now=now,
            ref_type="case",
            ref_id=case.id,
        )
        entry.message_id = queued.payload["message_id"]
        entry.outbox_key = key
    session.add(entry)
