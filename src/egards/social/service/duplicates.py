"""Duplicates in the customer file, found by the same model and decided by a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.customers import service as customers
from egards.errors import N_, Conflict, NotFound
from egards.social.models import (
    CustomerDuplicate,
)
from egards.social.service.probabilistic import _CUSTOMERS_SQL
from egards.social.service.retraining import current_m


def find_duplicates(session: Session, *, now: datetime, lower: float) -> int:
    """Score the active customers against each other and queue the likely duplicates (never
    merged automatically: a person decides). Returns how many new pairs were queued."""
    from egards.social import linking

    people = [dict(row._mapping) for row in session.execute(_CUSTOMERS_SQL)]
    if len(people) < 2:
        return 0
    known = {
        (a, b)
        for a, b in session.execute(
            select(CustomerDuplicate.customer_a, CustomerDuplicate.customer_b)
        )
    }
    queued = 0
    records = [linking.customer_record(c) for c in people]
    m = current_m(session)
    for pair in linking.score(records, None, min_weight=lower, m_probabilities=m):
        if not linking.corroborated(pair.levels):
            continue
        a, b = sorted((int(pair.left_id), int(pair.right_id)))
        if (a, b) in known:
            continue
        known.add((a, b))
        session.add(
            CustomerDuplicate(
                customer_a=a,
                customer_b=b,
                status="proposed",
                score=round(pair.match_weight, 2),
                evidence=pair.evidence(),
                created_at=now,
            )
        )
        queued += 1
    session.flush()
    return queued


def duplicates_queue(session: Session, *, actor: Actor, limit: int = 50) -> list[CustomerDuplicate]:
    actor.require(Permission.CUSTOMERS_MERGE)
    return list(
        session.scalars(
            select(CustomerDuplicate)
            .where(CustomerDuplicate.status == "proposed")
            .order_by(CustomerDuplicate.score.desc(), CustomerDuplicate.id)
            .limit(limit)
        )
    )


def decide_duplicate(
    session: Session,
    *,
    actor: Actor,
    duplicate_id: int,
    merge: bool,
    now: datetime,
    reason: str | None = None,
) -> CustomerDuplicate:
    """Merge the pair through the customer file's reversible merge (the older file
    survives), or record that they are two people. A merge of two files with different
    verified identities is refused by the customer file with the reason."""
    actor.require(Permission.CUSTOMERS_MERGE)
    duplicate = session.get(CustomerDuplicate, duplicate_id)
    if duplicate is None:
        raise NotFound(
            N_("duplicate {duplicate_id} not found"),
            field="duplicate_id",
            duplicate_id=duplicate_id,
        )
    if duplicate.status != "proposed":
        raise Conflict(
            N_("already decided ({decision})"), field="duplicate_id", decision=duplicate.status
        )
    if merge:
        customers.merge_customers(
            session,
            actor=actor,
            survivor_id=duplicate.customer_a,
            merged_id=duplicate.customer_b,
            reason=reason or f"duplicate found by the linking model (weight {duplicate.score})",
        )
        duplicate.status = "merged"
    else:
        duplicate.status = "distinct"
        audit.record(
            session,
            actor=actor,
            action="customer.duplicate_rejected",
            entity_type="customer_duplicate",
            entity_id=duplicate.id,
            customer_id=duplicate.customer_a,
            reason=reason,
        )
    duplicate.decided_at, duplicate.decided_by, duplicate.reason = now, actor.label, reason
    session.flush()
    return duplicate
