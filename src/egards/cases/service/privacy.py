"""The GDPR hooks (found by ``features.hooks``): the customer's cases and messages for their
export, and their erasure, which keeps the cases as anonymous facts for the statistics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from sqlalchemy import Text, and_, cast, func, literal_column, or_, select, update
from sqlalchemy.orm import Session

from egards.audit import service as audit
from egards.cases.domain import format_case_number
from egards.cases.models import Case, CaseAttachment, CaseMessage, CaseStatusChange, RawInbound
from egards.cases.service.queries import case_ids_of
from egards.customers.domain import ERASED, Erasure
from egards.outbox import service as outbox


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """The customer's cases and messages, for their GDPR export."""
    cases = session.scalars(select(Case).where(Case.customer_id == customer_id)).all()
    messages = session.scalars(
        select(CaseMessage)
        .where(CaseMessage.case_id.in_([c.id for c in cases] or [0]))
        .order_by(CaseMessage.id)
    ).all()
    return {
        "cases": [
            {
                "number": format_case_number(c.id),
                "channel": c.channel,
                "subject": c.subject,
                "status": c.status,
                "created_at": c.created_at.isoformat(),
            }
            for c in cases
        ],
        "messages": [
            {
                "case": format_case_number(m.case_id),
                "kind": m.kind,
                "at": m.created_at.isoformat(),
                "subject": m.subject,
                "body": m.body_text,
            }
            for m in messages
            if m.kind != "note"
        ],
    }


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Erasure (GDPR art. 17): what the customers wrote and were sent goes, with the raw mail
    it came in (also the machine mail from their addresses that opened no case), what was
    queued to them, and what agents wrote about them; the cases stay as anonymous facts
    (channel, team, dates, SLA outcome) for the statistics."""
    case_ids = case_ids_of(session, erasure.customer_ids)
    senders = set(
        session.scalars(
            select(Case.sender_address).where(Case.id.in_(case_ids), Case.sender_kind == "email")
        )
    )
    emails = {a for a in erasure.emails | senders if a}
    message_ids = select(CaseMessage.id).where(CaseMessage.case_id.in_(case_ids))
    raw_ids = set(
        session.scalars(
            select(RawInbound.id).where(
                or_(
                    RawInbound.case_id.in_(case_ids),
                    RawInbound.id.in_(
                        select(CaseMessage.raw_id).where(CaseMessage.case_id.in_(case_ids))
                    ),
                    and_(RawInbound.case_id.is_(None), _mentions_any(session, emails)),
                )
            )
        )
    )
    session.execute(
        update(RawInbound).where(RawInbound.id.in_(raw_ids)).values(raw=b"", error=None)
    )
    session.execute(
        update(CaseAttachment)
        .where(CaseAttachment.message_id.in_(message_ids))
        .values(content=None, filename=ERASED, refusal=None)
    )
    session.execute(
        update(CaseMessage)
        .where(CaseMessage.id.in_(message_ids))
        .values(
            subject=ERASED,
            body_text=ERASED,
            body_html=None,
            from_address=None,
            to_address=None,
            references=None,
        )
    )
    # Agents sign with their own name; anything else (the customer, an address) goes.
    session.execute(
        update(CaseMessage)
        .where(CaseMessage.id.in_(message_ids), CaseMessage.author_id.is_(None))
        .values(author_label=ERASED)
    )
    session.execute(
        update(CaseStatusChange)
        .where(CaseStatusChange.case_id.in_(case_ids), CaseStatusChange.reason.is_not(None))
        .values(reason=ERASED)
    )
    session.execute(
        update(Case)
        .where(Case.id.in_(case_ids))
        .values(subject=ERASED, sender_name=None, sender_address=None, closure_reason=None)
    )
    outbox.erase_messages(session, recipients=emails, ref_type="case", ref_ids=case_ids)
    outbox.erase_messages(session, ref_type="raw_inbound", ref_ids=raw_ids)
    audit.redact(session, entity_type="case", entity_ids=case_ids)


def _mentions_any(session: Session, addresses: Iterable[str]) -> Any:
    """Raw bytes that contain one of these e-mail addresses (in any case, or form-encoded),
    where the database can look: SQLite reads a blob as text, PostgreSQL as escaped text."""
    needles = {n for a in addresses for n in (a.casefold(), quote(a.casefold(), safe=""))}
    if not needles:
        return literal_column("1 = 0")
    if session.get_bind().dialect.name == "postgresql":
        text = func.lower(func.encode(RawInbound.raw, "escape"))
        return or_(*(func.strpos(text, _escaped(n)) > 0 for n in needles))
    text = func.lower(cast(RawInbound.raw, Text))
    return or_(*(func.instr(text, n) > 0 for n in needles))


def _escaped(text: str) -> str:
    """``text`` as PostgreSQL's ``encode(…, 'escape')`` shows its UTF-8 bytes."""
    return "".join(
        "\\\\" if b == 0x5C else chr(b) if 0 < b < 0x80 else f"\\{b:03o}" for b in text.encode()
    )
