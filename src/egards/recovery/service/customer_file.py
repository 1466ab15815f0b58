"""Recovery's part of the customer file: the gestures and what they produced (vouchers,
invitations, letters) for the 360 view, and the GDPR hooks that export them and erase their
free text (``export_section``, ``erase_customer_data``, read by ``features.hooks``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.cases import service as cases
from egards.customers import service as customers
from egards.customers.domain import ERASED, Erasure
from egards.outbox import service as outbox
from egards.recovery.models import (
    Approval,
    Event,
    Grant,
    Invitation,
    Letter,
    RuleException,
    Voucher,
)


def customer_gestures(session: Session, *, actor: Actor, customer_id: int) -> list[Grant]:
    actor.require(Permission.RECOVERY_GRANT)
    return list(
        session.scalars(
            select(Grant).where(Grant.customer_id == customer_id).order_by(Grant.id.desc())
        )
    )


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    grants = session.scalars(select(Grant).where(Grant.customer_id == customer_id)).all()
    return {
        "gestures": [
            {
                "id": g.id,
                "gesture": g.gesture_code,
                "kind": g.kind,
                "amount": g.amount,
                "status": g.status,
                "reason": g.reason_text,
                "granted_at": g.granted_at.isoformat() if g.granted_at else None,
            }
            for g in grants
        ],
        "letters": [
            {
                "id": x.id,
                "subject": x.subject,
                "body": x.body,
                "created_at": x.created_at.isoformat(),
            }
            for x in session.scalars(select(Letter).where(Letter.customer_id == customer_id))
        ],
        "vouchers": [
            {
                "code": v.code,
                "kind": v.kind,
                "expires_on": v.expires_on.isoformat(),
                "redeemed_at": v.redeemed_at.isoformat() if v.redeemed_at else None,
            }
            for v in session.scalars(select(Voucher).where(Voucher.customer_id == customer_id))
        ],
    }


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Gestures keep their kind, amount and cost (budgets stay exact) but lose every free
    text, which may quote the customer: reasons, decisions, the letter's text, its PDF and
    the copy in the grant's details; so do the exceptions to the rules on their cases, and
    the notices sent about them."""
    ids = erasure.customer_ids
    grants = session.scalars(select(Grant).where(Grant.customer_id.in_(ids))).all()
    for grant in grants:
        grant.reason_text = ERASED
        if "letter" in grant.details:
            letter = grant.details["letter"]
            kept = {k: letter[k] for k in ("template_code", "delivery") if k in letter}
            grant.details = {**grant.details, "letter": kept}
    grant_ids = [g.id for g in grants]
    approvals = list(session.scalars(select(Approval.id).where(Approval.grant_id.in_(grant_ids))))
    session.execute(
        update(Approval)
        .where(Approval.id.in_(approvals), Approval.decision_reason.is_not(None))
        .values(decision_reason=ERASED)
    )
    letter_ids = list(session.scalars(select(Letter.id).where(Letter.customer_id.in_(ids))))
    session.execute(
        update(Letter).where(Letter.id.in_(letter_ids)).values(subject=ERASED, body=ERASED, pdf=b"")
    )
    case_ids = cases.case_ids_of(session, ids)
    exceptions = list(
        session.scalars(
            select(RuleException.id).where(
                or_(RuleException.customer_id.in_(ids), RuleException.case_id.in_(case_ids))
            )
        )
    )
    session.execute(
        update(RuleException)
        .where(RuleException.id.in_(exceptions))
        .values(
            why=ERASED,
            remedy=ERASED,
            outcome_note=None,
            decision_reason=case((RuleException.decision_reason.is_(None), None), else_=ERASED),
        )
    )
    vouchers = session.scalars(select(Voucher.id).where(Voucher.customer_id.in_(ids))).all()
    invitations = session.scalars(
        select(Invitation.id).where(Invitation.customer_id.in_(ids))
    ).all()
    outbox.erase_messages(session, ref_type="recovery_grant", ref_ids=grant_ids)
    outbox.erase_messages(session, ref_type="recovery_approval", ref_ids=approvals)
    for entity_type, entity_ids in (
        ("recovery_grant", grant_ids),
        ("recovery_letter", letter_ids),
        ("recovery_exception", exceptions),
        ("recovery_voucher", vouchers),
        ("recovery_invitation", invitations),
    ):
        audit.redact(session, entity_type=entity_type, entity_ids=entity_ids)


def customer_fulfilment(session: Session, *, actor: Actor, customer_id: int) -> dict[str, Any]:
    """What the customer's gestures produced: vouchers, invitations (with their event), letters."""
    actor.require(Permission.RECOVERY_GRANT)
    customers.check_visible(session, actor=actor, customer_id=customer_id)
    return {
        "vouchers": list(
            session.scalars(
                select(Voucher).where(Voucher.customer_id == customer_id).order_by(Voucher.id)
            )
        ),
        "invitations": list(
            session.execute(
                select(Invitation, Event)
                .join(Event, Event.id == Invitation.event_id)
                .where(Invitation.customer_id == customer_id)
                .order_by(Event.starts_at.desc())
            ).all()
        ),
        "letters": list(
            session.scalars(
                select(Letter).where(Letter.customer_id == customer_id).order_by(Letter.id.desc())
            )
        ),
    }
