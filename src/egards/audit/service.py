"""The audit trail: who did what, when, with the values before and after, and why."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, false, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from egards.accounts.domain import Actor, Permission
from egards.audit.models import AuditRecord
from egards.db import utcnow
from egards.privacy import ERASED, Erasure


def audience(actor: Actor, shared_with: int | None = None) -> int | None:
    """The organisation a record is shared with, or None for internal.

    The feature writing a record names the organisation that needs it (the partner of a
    case, the organisation a customer is assigned to). Otherwise what a partner does is
    shared with its own organisation and what the company does stays internal.
    """
    if shared_with is not None:
        return shared_with
    return actor.organisation_id if actor.is_partner else None


def shared_with_actor(
    actor: Actor, column: InstrumentedAttribute[Any]
) -> ColumnElement[bool] | None:
    """The filter that keeps a partner to what is shared with its organisation (None: the
    company sees everything)."""
    if not actor.is_partner:
        return None
    if actor.organisation_id is None:
        return false()
    return column == actor.organisation_id


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    customer_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    shared_with: int | None = None,
) -> AuditRecord:
    """Append a record; internal unless ``shared_with`` names an organisation (see
    ``audience``)."""
    entry = AuditRecord(
        at=utcnow(),
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        customer_id=customer_id,
        before=before,
        after=after,
        reason=reason,
        shared_with_id=audience(actor, shared_with),
    )
    session.add(entry)
    return entry


def list_records(
    session: Session,
    *,
    actor: Actor,
    customer_id: int | None = None,
    action: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[AuditRecord]:
    """Newest first. The global trail is for admins; a customer's trail goes with the file,
    and a partner reads only the records shared with its organisation."""
    if customer_id is None:
        actor.require(Permission.AUDIT_READ)
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if (shared := shared_with_actor(actor, AuditRecord.shared_with_id)) is not None:
        query = query.where(shared)
    if customer_id is not None:
        query = query.where(AuditRecord.customer_id == customer_id)
    if action:
        query = query.where(AuditRecord.action == action)
    if before_id:
        query = query.where(AuditRecord.id < before_id)
    return list(session.scalars(query))


def _redact(session: Session, where: ColumnElement[bool]) -> None:
    session.execute(
        update(AuditRecord)
        .where(where)
        .values(
            before=None,
            after=None,
            reason=case((AuditRecord.reason.is_(None), None), else_=ERASED),
        )
    )


def redact(session: Session, *, entity_type: str, entity_ids: Iterable[object]) -> None:
    """Erasure: the records about these objects (a case, a gesture…) lose the values before
    and after and the written reason, which may quote the person; who did what and when stays.

    For the records written before the object was linked to the customer (a case from an
    unknown sender), which ``customer_id`` alone does not find."""
    ids = sorted({str(entity_id) for entity_id in entity_ids})
    if ids:
        _redact(session, (AuditRecord.entity_type == entity_type) & AuditRecord.entity_id.in_(ids))


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """The trail about the customers keeps its facts (who, what, when), not their values."""
    _redact(session, AuditRecord.customer_id.in_(erasure.customer_ids))


def export_section(session: Session, customer_id: int) -> list[dict[str, Any]]:
    """The trail about a customer, for their GDPR export (each record's columns)."""
    table = AuditRecord.__table__
    rows = session.execute(select(table).where(table.c.customer_id == customer_id))
    return [
        {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in row._mapping.items()}
        for row in rows
    ]
