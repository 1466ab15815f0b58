"""GDPR: a person's export (access, portability) and erasure across every feature."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.customers.domain import (
    ERASED,
    CustomerStatus,
    Erasure,
)
from egards.customers.models import (
    ConsentEvent,
    Customer,
    CustomerImport,
    CustomerMerge,
    CustomerOrganisation,
    Identity,
    Note,
    TimelineEvent,
)
from egards.customers.service.access import (
    PROFILE_FIELDS,
    _jsonable,
    get_customer,
)
from egards.customers.service.merging import merged_with
from egards.db import utcnow
from egards.errors import Conflict
from egards.features import hooks
from egards.i18n import N_


def _rows(session: Session, model: Any, customer_id: int) -> list[dict[str, Any]]:
    table = model.__table__
    rows = session.execute(select(table).where(table.c.customer_id == customer_id))
    return [{k: _jsonable(v) for k, v in row._mapping.items()} for row in rows]


def _import_of(session: Session, import_id: int | None) -> dict[str, Any] | None:
    if import_id is None:
        return None
    row = session.execute(
        select(
            CustomerImport.id,
            CustomerImport.file_name,
            CustomerImport.actor_label,
            CustomerImport.started_at,
        ).where(CustomerImport.id == import_id)
    ).one_or_none()
    return None if row is None else {k: _jsonable(v) for k, v in row._mapping.items()}


def export_customer(session: Session, *, actor: Actor, customer_id: int) -> dict[str, Any]:
    """Everything about one person, as JSON (GDPR articles 15 and 20: access, portability)."""
    actor.require(Permission.GDPR_EXPORT)
    customer = get_customer(session, actor=actor, customer_id=customer_id)
    bundle: dict[str, Any] = {
        "format": "egards.customer-export/1",
        "exported_at": utcnow().isoformat(),
        "customer": {
            c.name: _jsonable(getattr(customer, c.key))
            for c in Customer.__table__.columns
            if not c.name.startswith("search_")
        },
        "identities": _rows(session, Identity, customer_id),
        "consents": _rows(session, ConsentEvent, customer_id),
        "timeline": _rows(session, TimelineEvent, customer_id),
        "notes": _rows(session, Note, customer_id),
        "organisations": _rows(session, CustomerOrganisation, customer_id),
        # The import that created the file (its timeline's first entry is read from it).
        "created_by_import": _import_of(session, customer.import_id),
    }
    # Each feature adds what it holds about the person (``export_section`` in its service):
    # the audit trail first (a feature below this one), then the features above.
    for feature, export_section in hooks("service", "export_section"):
        bundle[feature] = export_section(session, customer_id)
    audit.record(
        session,
        actor=actor,
        action="customer.export",
        entity_type="customer",
        entity_id=customer_id,
        customer_id=customer_id,
    )
    session.flush()
    return bundle


def erase_customer(session: Session, *, actor: Actor, customer_id: int, reason: str) -> Customer:
    """Right to erasure (GDPR art. 17): personal data removed or made anonymous for good, in
    this file, in every file merged into it, and in every feature (each feature's
    ``erase_customer_data`` hook, see :mod:`egards.features`).

    What stays is what carries no identity: the rows and their ids (so aggregates, ledgers,
    budgets and statistics still add up), the kinds, channels, amounts and dates of past
    events, who did what and when in the audit trail, and the record that the erasure
    happened: who asked for it, when and why.
    """
    actor.require(Permission.GDPR_ERASE)
    customer = get_customer(session, actor=actor, customer_id=customer_id, for_update=True)
    if customer.status == CustomerStatus.ERASED:
        raise Conflict(
            N_("customer {customer_id} is already erased"),
            customer_id=customer_id,
            field="customer_id",
        )
    erasure = _erasure_of(session, customer_id)
    for _feature, erase in hooks("service", "erase_customer_data"):
        erase(session, erasure)
    merged = [i for i in erasure.customer_ids if i != customer_id]
    audit.record(
        session,
        actor=actor,
        action="customer.erase",
        entity_type="customer",
        entity_id=customer_id,
        customer_id=customer_id,
        after={"merged_files_erased": merged} if merged else None,
        reason=reason,
    )
    for merged_id in merged:
        audit.record(
            session,
            actor=actor,
            action="customer.erase",
            entity_type="customer",
            entity_id=merged_id,
            customer_id=merged_id,
            after={"erased_with": customer_id},
            reason=reason,
        )
    session.flush()
    session.expire(customer)
    return get_customer(session, actor=actor, customer_id=customer_id)


def _erasure_of(session: Session, customer_id: int) -> Erasure:
    """The customer, the files merged into it (at any depth), and every address they had."""
    ids = merged_with(session, customer_id)
    addresses = {
        text.casefold()
        for row in session.execute(
            select(Identity.value, Identity.display_value).where(Identity.customer_id.in_(ids))
        )
        for text in row
    }
    return Erasure(customer_ids=tuple(ids), addresses=frozenset(addresses))


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """The files themselves: profile and identities gone, names replaced, notes deleted,
    consent proofs, timeline texts, partner purposes and merge reasons emptied. A merged file
    becomes erased as well but keeps pointing to its survivor."""
    ids = erasure.customer_ids
    kept = ("first_name", "last_name", "preferred_language")
    blank = {name: None for name in PROFILE_FIELDS if name not in kept}
    now = utcnow()
    session.execute(
        update(Customer)
        .where(Customer.id.in_(ids))
        .values(
            **blank,
            first_name=ERASED,
            last_name=ERASED,
            search_last_first="",
            search_first_last="",
            external_id=None,
            status=CustomerStatus.ERASED,
            erased_at=now,
            updated_at=now,
        )
    )
    session.execute(delete(Identity).where(Identity.customer_id.in_(ids)))
    session.execute(delete(Note).where(Note.customer_id.in_(ids)))
    session.execute(
        update(ConsentEvent).where(ConsentEvent.customer_id.in_(ids)).values(proof=None)
    )
    session.execute(
        update(TimelineEvent)
        .where(TimelineEvent.customer_id.in_(ids))
        .values(summary=ERASED, data=None, message=None)
    )
    session.execute(
        update(CustomerOrganisation)
        .where(CustomerOrganisation.customer_id.in_(ids))
        .values(purpose=None)
    )
    session.execute(
        update(CustomerMerge)
        .where(
            or_(CustomerMerge.survivor_id.in_(ids), CustomerMerge.merged_id.in_(ids)),
            CustomerMerge.reason.is_not(None),
        )
        .values(reason=ERASED)
    )
