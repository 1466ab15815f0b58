"""The GDPR hooks: what voice holds about a person, and its erasure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from egards.cases import service as cases
from egards.customers.domain import Erasure
from egards.voice.models import Analysis, Invitation
from egards.voice.service.analysis import _labels

# --------------------------------------------------------------------------------------
# GDPR
# --------------------------------------------------------------------------------------


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """What customers wrote as analysed, and their survey answers."""
    found = session.scalars(select(Analysis).where(Analysis.customer_id == customer_id))
    invitations = session.scalars(select(Invitation).where(Invitation.customer_id == customer_id))
    return {
        "analyses": [
            {
                "received_at": a.received_at.isoformat(),
                "text": a.excerpt,
                **_labels(a),
                "churn_phrase": a.churn_phrase,
            }
            for a in found
        ],
        "surveys": [
            {
                "case_id": i.case_id,
                "sent_at": i.sent_at.isoformat(),
                "answered_at": i.answered_at.isoformat() if i.answered_at else None,
                "rating": i.rating,
                "answers": i.answers,
                "comment": i.comment,
            }
            for i in invitations
        ],
    }


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Analyses and survey answers go with the person."""
    ids: Iterable[int] = erasure.customer_ids
    case_ids = cases.case_ids_of(session, ids)
    session.execute(delete(Analysis).where(Analysis.customer_id.in_(ids)))
    if case_ids:  # messages from an address only later linked to the customer
        session.execute(delete(Analysis).where(Analysis.case_id.in_(case_ids)))
    session.execute(delete(Invitation).where(Invitation.customer_id.in_(ids)))
