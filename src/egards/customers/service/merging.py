"""Duplicates merged into one customer, and merges undone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.customers.domain import (
    CustomerStatus,
    customer_status,
    verified_identity_conflict,
)
from egards.customers.models import (
    ConsentEvent,
    Customer,
    CustomerMerge,
    CustomerOrganisation,
    Identity,
    Note,
    TimelineEvent,
)
from egards.customers.service.access import (
    _writable,
    get_customer,
)
from egards.customers.service.timeline import (
    _timeline,
)
from egards.db import utcnow
from egards.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from egards.i18n import N_, message


def merged_with(session: Session, customer_id: int) -> list[int]:
    """The customer and every customer merged into it, directly or through another."""
    found, frontier = [customer_id], [customer_id]
    while frontier:
        frontier = [
            merged_id
            for merged_id in session.scalars(
                select(Customer.id).where(Customer.merged_into_id.in_(frontier))
            )
            if merged_id not in found
        ]
        found += frontier
    return found


def survivor(session: Session, customer_id: int) -> int | None:
    """The active customer ``customer_id`` stands for now: itself, or the customer it was
    merged into (following the merges); ``None`` for an erased or unknown one."""
    seen: set[int] = set()
    current: int | None = customer_id
    while current is not None and current not in seen:
        seen.add(current)
        row = session.execute(
            select(Customer.status, Customer.merged_into_id).where(Customer.id == current)
        ).one_or_none()
        if row is None or row.status == CustomerStatus.ERASED:
            return None
        if row.status == CustomerStatus.ACTIVE:
            return current
        current = row.merged_into_id
    return None


_MOVABLE = {
    "identities": Identity,
    "consents": ConsentEvent,
    "timeline": TimelineEvent,
    "notes": Note,
}


def merge_customers(
    session: Session, *, actor: Actor, survivor_id: int, merged_id: int, reason: str | None
) -> CustomerMerge:
    """Move everything of a duplicate to the survivor; the duplicate stays, marked merged."""
    actor.require(Permission.CUSTOMERS_MERGE)
    if survivor_id == merged_id:
        raise InvalidInput(N_("a customer cannot be merged into itself"), field="merged_id")
    survivor = _writable(session, actor=actor, customer_id=survivor_id)
    merged = _writable(session, actor=actor, customer_id=merged_id)
    verified = [
        [
            (kind, value)
            for kind, value in session.execute(
                select(Identity.kind, Identity.value).where(
                    Identity.customer_id == customer_id, Identity.verified.is_(True)
                )
            )
        ]
        for customer_id in (survivor_id, merged_id)
    ]
    if conflict := verified_identity_conflict(*verified):
        raise Conflict(N_("these are two people: {conflict}"), conflict=conflict, field="merged_id")
    moved: dict[str, list[Any]] = {}
    for name, model in _MOVABLE.items():
        ids = list(session.scalars(select(model.id).where(model.customer_id == merged_id)))
        if ids:
            session.execute(update(model).where(model.id.in_(ids)).values(customer_id=survivor_id))
        moved[name] = ids
    survivor_kinds = set(
        session.scalars(
            select(Identity.kind).where(
                Identity.customer_id == survivor_id,
                Identity.is_primary.is_(True),
                Identity.id.not_in(moved["identities"] or [0]),
            )
        )
    )
    demoted = [
        identity_id
        for identity_id, kind in session.execute(
            select(Identity.id, Identity.kind).where(
                Identity.id.in_(moved["identities"] or [0]), Identity.is_primary.is_(True)
            )
        )
        if kind in survivor_kinds
    ]
    if demoted:
        session.execute(update(Identity).where(Identity.id.in_(demoted)).values(is_primary=False))
    moved["demoted_primary"] = demoted
    existing_orgs = set(
        session.scalars(
            select(CustomerOrganisation.organisation_id).where(
                CustomerOrganisation.customer_id == survivor_id
            )
        )
    )
    added_orgs = [
        org_id
        for org_id in session.scalars(
            select(CustomerOrganisation.organisation_id).where(
                CustomerOrganisation.customer_id == merged_id
            )
        )
        if org_id not in existing_orgs
    ]
    for org_id in added_orgs:
        session.add(CustomerOrganisation(customer_id=survivor_id, organisation_id=org_id))
    moved["organisations"] = added_orgs
    merged.status = CustomerStatus.MERGED
    merged.merged_into_id = survivor_id
    merged.updated_at = survivor.updated_at = utcnow()
    record = CustomerMerge(
        survivor_id=survivor_id,
        merged_id=merged_id,
        moved=moved,
        reason=reason,
        merged_at=utcnow(),
        merged_by=actor.label,
    )
    session.add(record)
    session.flush()
    for customer_id in (survivor_id, merged_id):
        audit.record(
            session,
            actor=actor,
            action="customer.merge",
            entity_type="customer_merge",
            entity_id=record.id,
            customer_id=customer_id,
            after={"survivor_id": survivor_id, "merged_id": merged_id, "moved": moved},
            reason=reason,
        )
    _timeline(
        session,
        actor,
        survivor_id,
        "customer.merged",
        message(
            N_("Duplicate file {file} ({name}) merged into this one"),
            file=str(merged_id),
            name=f"{merged.first_name} {merged.last_name}",
        ),
        ref_type="customer_merge",
        ref_id=str(record.id),
    )
    session.flush()
    return record


def unmerge(session: Session, *, actor: Actor, merge_id: int, reason: str | None) -> CustomerMerge:
    """Undo a merge exactly: what moved goes back; what was added since stays."""
    actor.require(Permission.CUSTOMERS_MERGE)
    record = session.get(CustomerMerge, merge_id, with_for_update=True)
    if record is None:
        raise NotFound(N_("merge {merge_id} not found"), merge_id=merge_id, field="merge_id")
    if record.unmerged_at is not None:
        raise Conflict(
            N_("merge {merge_id} was already undone"), merge_id=merge_id, field="merge_id"
        )
    merged = get_customer(session, actor=actor, customer_id=record.merged_id)
    get_customer(session, actor=actor, customer_id=record.survivor_id)
    if merged.status != CustomerStatus.MERGED:
        raise Conflict(
            N_("customer {merged_id} is {merged_status}"),
            merged_id=merged.id,
            merged_status=customer_status(merged.status),
            field="merge_id",
        )
    later = session.scalar(
        select(CustomerMerge.id).where(
            CustomerMerge.merged_id == record.survivor_id, CustomerMerge.unmerged_at.is_(None)
        )
    )
    if later:
        raise Conflict(
            N_("the survivor was itself merged later (merge {later}); undo that first"),
            later=later,
            field="merge_id",
        )
    moved = record.moved
    if moved.get("demoted_primary"):
        session.execute(
            update(Identity)
            .where(Identity.id.in_(moved["demoted_primary"]))
            .values(is_primary=True)
        )
    for name, model in _MOVABLE.items():
        ids = moved.get(name) or []
        if ids:
            session.execute(
                update(model)
                .where(model.id.in_(ids), model.customer_id == record.survivor_id)
                .values(customer_id=record.merged_id)
            )
    if moved.get("organisations"):
        session.execute(
            delete(CustomerOrganisation).where(
                CustomerOrganisation.customer_id == record.survivor_id,
                CustomerOrganisation.organisation_id.in_(moved["organisations"]),
            )
        )
    merged.status = CustomerStatus.ACTIVE
    merged.merged_into_id = None
    merged.updated_at = utcnow()
    record.unmerged_at = utcnow()
    record.unmerged_by = actor.label
    for customer_id in (record.survivor_id, record.merged_id):
        audit.record(
            session,
            actor=actor,
            action="customer.unmerge",
            entity_type="customer_merge",
            entity_id=record.id,
            customer_id=customer_id,
            before={"survivor_id": record.survivor_id, "merged_id": record.merged_id},
            reason=reason,
        )
    _timeline(
        session,
        actor,
        record.survivor_id,
        "customer.unmerged",
        message(N_("Merge with file {file} undone"), file=str(record.merged_id)),
        ref_type="customer_merge",
        ref_id=str(record.id),
    )
    session.flush()
    return record


def list_merges(session: Session, *, actor: Actor, customer_id: int) -> list[CustomerMerge]:
    """The merges of a file. Internal: they name other files and say why they were merged."""
    get_customer(session, actor=actor, customer_id=customer_id)
    if actor.is_partner:
        raise PermissionDenied(N_("the merge history of a file is internal"), field="customer_id")
    return list(
        session.scalars(
            select(CustomerMerge)
            .where(
                or_(
                    CustomerMerge.survivor_id == customer_id, CustomerMerge.merged_id == customer_id
                )
            )
            .order_by(CustomerMerge.id.desc())
        )
    )
