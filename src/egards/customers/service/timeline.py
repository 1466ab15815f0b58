"""The customer's timeline and notes, and the audit-and-timeline writer every feature's
changes go through (``record_change``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import EllipsisType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor
from egards.audit import service as audit
from egards.customers.models import (
    CustomerImport,
    Note,
    TimelineEvent,
)
from egards.customers.schemas import (
    TimelineEventCreate,
)
from egards.customers.service.access import (
    _shareable,
    _writable,
    get_customer,
)
from egards.db import utcnow
from egards.i18n import N_, day, message, render_message


def add_timeline_event(
    session: Session, *, actor: Actor, customer_id: int, event: TimelineEventCreate
) -> TimelineEvent:
    """Any feature, silo or partner writes what happened with a customer here."""
    _writable(session, actor=actor, customer_id=customer_id)
    shared_with = _shareable(
        session, actor=actor, customer_id=customer_id, organisation_id=event.shared_with_id
    )
    entry = TimelineEvent(
        customer_id=customer_id,
        occurred_at=event.occurred_at or utcnow(),
        kind=event.kind,
        channel=event.channel,
        silo=event.silo,
        summary=event.summary,
        actor_label=actor.label,
        organisation_id=actor.organisation_id,
        shared_with_id=audit.audience(actor, shared_with),
        ref_type=event.ref_type,
        ref_id=event.ref_id,
    )
    session.add(entry)
    session.flush()
    return entry


def record_change(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: tuple[str, object],
    customer_id: int | None,
    summary: str | Mapping[str, Any],
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    channel: str = "console",
    silo: str = "support",
    occurred_at: datetime | None = None,
    shared_with: int | None = None,
    kind: str | None = None,
    audit_shared_with: int | EllipsisType | None = ...,
    ref: tuple[str, object] | None = None,
) -> None:
    """What a change of state writes, for any feature: its audit record and, when it
    concerns a customer, their timeline entry (kind: ``kind``, else the action; reference:
    ``ref``, else the entity: a comment is audited as itself but shown on the timeline as its
    idea), both internal unless ``shared_with`` names an organisation. A feature that shares
    the timeline entry but keeps the audit record internal says so with
    ``audit_shared_with=None`` (by default the audit record is shared as the entry is)."""
    entity_type, entity_id = entity
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        customer_id=customer_id,
        before=before,
        after=after,
        reason=reason,
        shared_with=shared_with
        if isinstance(audit_shared_with, EllipsisType)
        else audit_shared_with,
    )
    if customer_id is not None:
        ref_type, ref_id = ref or entity
        record_event(
            session,
            actor=actor,
            customer_id=customer_id,
            kind=kind or action,
            summary=summary,
            channel=channel,
            silo=silo,
            ref_type=ref_type,
            ref_id=str(ref_id),
            occurred_at=occurred_at,
            shared_with=shared_with,
        )


def record_event(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    kind: str,
    summary: str | Mapping[str, Any],
    channel: str = "console",
    silo: str = "support",
    ref_type: str | None = None,
    ref_id: str | None = None,
    occurred_at: datetime | None = None,
    shared_with: int | None = None,
) -> None:
    """What other features call to put something on a customer's timeline (no access check:
    the calling use case has already checked its own permission). The event is internal
    unless ``shared_with`` names the organisation that needs it (see ``audit.audience``).
    ``summary`` is best an ``egards.i18n.message``: it is stored as data and shown in the
    reader's language (a plain string is shown as written)."""
    _timeline(
        session,
        actor,
        customer_id,
        kind,
        summary,
        channel=channel,
        silo=silo,
        ref_type=ref_type,
        ref_id=ref_id,
        occurred_at=occurred_at or utcnow(),
        shared_with=shared_with,
    )


def _timeline(
    session: Session,
    actor: Actor,
    customer_id: int,
    kind: str,
    summary: str | Mapping[str, Any],
    **extra: Any,
) -> None:
    stored = None
    if not isinstance(summary, str):
        stored, summary = dict(summary), render_message("en", summary)
    session.add(
        TimelineEvent(
            customer_id=customer_id,
            occurred_at=extra.pop("occurred_at", None) or utcnow(),
            kind=kind,
            channel=extra.pop("channel", "console"),
            silo=extra.pop("silo", "support"),
            summary=summary,
            message=stored,
            actor_label=actor.label,
            organisation_id=actor.organisation_id,
            shared_with_id=audit.audience(actor, extra.pop("shared_with", None)),
            **extra,
        )
    )


def list_timeline(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    limit: int = 50,
    before_id: int | None = None,
    silo: str | None = None,
    channel: str | None = None,
) -> list[TimelineEvent]:
    """The customer's timeline, newest first; its last page ends with the import that created
    the file, if one did (read from the import's row: see :func:`import_event`)."""
    customer = get_customer(session, actor=actor, customer_id=customer_id)
    query = (
        select(TimelineEvent)
        .where(TimelineEvent.customer_id == customer_id)
        .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
        .limit(limit)
    )
    if (shared := audit.shared_with_actor(actor, TimelineEvent.shared_with_id)) is not None:
        query = query.where(shared)
    if before_id:
        query = query.where(TimelineEvent.id < before_id)
    if silo:
        query = query.where(TimelineEvent.silo == silo)
    if channel:
        query = query.where(TimelineEvent.channel == channel)
    events = list(session.scalars(query))
    if (
        customer.import_id is not None
        and len(events) < limit
        and not actor.is_partner  # the entry is internal, as the import's entries were
        and silo in (None, "support")
        and channel in (None, "api")
    ):
        run = session.get(CustomerImport, customer.import_id)
        if run is not None:
            events.append(import_event(customer_id, run))
    return events


def import_event(customer_id: int, run: CustomerImport) -> TimelineEvent:
    """The timeline entry of a customer created by an import, made when it is read from the
    import's row (one row per import, not one stored entry per customer). Not stored: its id
    is 0, it refers to the import."""
    said = message(
        N_("Created by the import of {file} on {date}"),
        file=run.file_name,
        date=day(run.started_at),
    )
    return TimelineEvent(
        id=0,
        customer_id=customer_id,
        occurred_at=run.started_at,
        kind="customer.imported",
        channel="api",
        silo="support",
        summary=render_message("en", said),
        message=said,
        actor_label=run.actor_label,
        organisation_id=None,
        shared_with_id=None,
        ref_type="customer_import",
        ref_id=str(run.id),
    )


def add_note(
    session: Session, *, actor: Actor, customer_id: int, body: str, shared_with: int | None = None
) -> Note:
    """A note on the file: internal, unless shared with an organisation assigned to the
    customer (a partner's note is shared with its own organisation)."""
    _writable(session, actor=actor, customer_id=customer_id)
    shared_with = audit.audience(
        actor,
        _shareable(session, actor=actor, customer_id=customer_id, organisation_id=shared_with),
    )
    note = Note(
        customer_id=customer_id,
        author_id=actor.user_id,
        author_label=actor.label,
        body=body,
        shared_with_id=shared_with,
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="note.add",
        entity_type="note",
        entity_id=note.id,
        customer_id=customer_id,
        after={"body": body},
        shared_with=shared_with,
    )
    _timeline(
        session,
        actor,
        customer_id,
        "note.added",
        body[:280],
        ref_type="note",
        ref_id=str(note.id),
        shared_with=shared_with,
    )
    return note


def list_notes(session: Session, *, actor: Actor, customer_id: int) -> list[Note]:
    get_customer(session, actor=actor, customer_id=customer_id)
    query = select(Note).where(Note.customer_id == customer_id).order_by(Note.id.desc())
    if (shared := audit.shared_with_actor(actor, Note.shared_with_id)) is not None:
        query = query.where(shared)
    return list(session.scalars(query))
