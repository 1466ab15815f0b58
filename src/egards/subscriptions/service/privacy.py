"""The GDPR hooks: what subscriptions hold about a person, and its erasure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from egards.customers.domain import ERASED, Erasure
from egards.outbox import service as outbox
from egards.subscriptions.models import (
    CancellationRequest,
    Subscription,
    SubscriptionStatusChange,
)
from egards.subscriptions.service.contracts import (
    customer_subscriptions,
)


def _plain(row: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {}
    for column in row.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(row, column.key)
        out[column.key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    subscriptions = customer_subscriptions(session, customer_id=customer_id)
    requests = session.scalars(
        select(CancellationRequest).where(CancellationRequest.customer_id == customer_id)
    ).all()
    return {
        "subscriptions": [_plain(s) for s in subscriptions],
        "cancellation_requests": [
            _plain(r, skip=("proof", "acknowledgement_pdf")) for r in requests
        ],
    }


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Contracts keep their terms and dates (figures add up); what identifies the person goes:
    line numbers, what they typed in requests, the proof and the acknowledgement's text."""
    ids = erasure.customer_ids
    session.execute(
        update(Subscription).where(Subscription.customer_id.in_(ids)).values(line_numbers=[])
    )
    request_ids = list(
        session.scalars(
            select(CancellationRequest.id).where(CancellationRequest.customer_id.in_(ids))
        )
    )
    if request_ids:
        session.execute(
            update(CancellationRequest)
            .where(CancellationRequest.id.in_(request_ids))
            .values(
                name_given=ERASED,
                reference_given=ERASED,
                email_given=None,
                postal_address_given=None,
                line_number_given=None,
                reason_text=None,
                proof=None,
                proof_filename=None,
                proof_type=None,
                acknowledgement_to=None,
                acknowledgement_text=None,
                acknowledgement_pdf=None,
            )
        )
        outbox.erase_messages(session, ref_type="cancellation", ref_ids=request_ids)
    session.execute(
        update(SubscriptionStatusChange)
        .where(
            SubscriptionStatusChange.subscription_id.in_(
                select(Subscription.id).where(Subscription.customer_id.in_(ids))
            )
        )
        .values(note=None)
    )
    # Requests that matched nothing but named an erased address are the person's too.
    addresses = sorted(erasure.addresses)
    if addresses:
        session.execute(
            delete(CancellationRequest).where(
                CancellationRequest.customer_id.is_(None),
                func.lower(CancellationRequest.email_given).in_(addresses),
            )
        )
