"""The supervisors' approvals: the queue soonest promise first, a decision taken once and never
on one's own request (an approval consumes the budget and fulfils the gesture), and the
reminder of requests past their promise.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egards.accounts import service as accounts
from egards.accounts.domain import Actor, Permission
from egards.cases import service as cases
from egards.db import Database, rowcount, utcnow
from egards.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from egards.formats import format_money
from egards.i18n import N_, format_datetime, message, names, pick_locale, translate
from egards.outbox import service as outbox
from egards.recovery.domain.status_words import decision_status
from egards.recovery.models import (
    Approval,
    Grant,
)

from ._common import PENDING, REJECTED, _record
from .budgets import _budgets, _consume
from .fulfilment import _fulfil
from .gesture_catalogue import get_gesture_type


def approvals(
    session: Session, *, actor: Actor, status: str = PENDING
) -> list[tuple[Approval, Grant]]:
    """The supervisors' queue, soonest promise first."""
    actor.require(Permission.RECOVERY_APPROVE)
    return list(
        session.execute(
            select(Approval, Grant)
            .join(Grant, Grant.id == Approval.grant_id)
            .where(Approval.status == status)
            .order_by(Approval.due_at if status == PENDING else Approval.decided_at.desc())
            .limit(200)
        ).all()
    )


def decide(
    session: Session,
    *,
    actor: Actor,
    approval_id: int,
    approve: bool,
    reason: str,
    sender: str,
    now: datetime | None = None,
) -> Approval:
    """A supervisor approves or refuses a request, once, with a reason; never their own.
    ``sender``: the address the customer's notice comes from."""
    actor.require(Permission.RECOVERY_APPROVE)
    now = now or utcnow()
    if not reason.strip():
        raise InvalidInput(N_("give the reason for the decision"), field="reason")
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise NotFound(
            N_("approval request {approval_id} not found"),
            approval_id=approval_id,
            field="approval_id",
        )
    grant = session.get_one(Grant, approval.grant_id)
    if grant.agent_id is not None and grant.agent_id == actor.user_id:
        raise PermissionDenied(N_("a request is decided by someone else"), field="approval_id")
    status = "approved" if approve else "rejected"
    done = session.execute(
        update(Approval)
        .where(Approval.id == approval_id, Approval.status == PENDING)
        .values(
            status=status,
            decided_by_id=actor.user_id,
            decided_by=actor.label,
            decided_at=now,
            decision_reason=reason.strip(),
        )
    )
    if rowcount(done) != 1:
        session.refresh(approval)
        raise Conflict(
            N_("this request was already {approval_status} by {decided_by}"),
            approval_status=decision_status(approval.status),
            decided_by=approval.decided_by,
            field="approval_id",
        )
    session.refresh(approval)
    gesture = get_gesture_type(session, grant.gesture_code)
    if approve:
        budgets = _budgets(session, grant.agent_id, grant.team, grant.month)
        _consume(session, budgets, grant.cost_cents, strict=False)
        _fulfil(session, actor=actor, grant=grant, gesture=gesture, now=now, sender=sender)
    else:
        grant.status = REJECTED
    words = "approved" if approve else "refused"
    summary = f"Gesture {words} by {actor.label}: {gesture.name_en} — {reason.strip()}"
    _record(
        session,
        actor=actor,
        action=f"recovery.{status}",
        entity=("recovery_grant", grant.id),
        customer_id=grant.customer_id,
        summary=message(
            N_("Gesture approved by {agent}: {gesture} — {reason}")
            if approve
            else N_("Gesture refused by {agent}: {gesture} — {reason}"),
            agent=actor.label,
            gesture=names({"en": gesture.name_en, "fr": gesture.name_fr}),
            reason=reason.strip(),
        ),
        after={"status": grant.status},
        reason=reason.strip(),
        now=now,
    )
    if grant.case_id is not None:
        cases.add_note(session, actor=actor, case_id=grant.case_id, body=summary, now=now)
    session.flush()
    return approval


def remind_overdue(db: Database, *, sender: str, now: datetime | None = None) -> str:
    """Tell every supervisor, once per request, that a decision is past its promise."""
    now = now or utcnow()
    with db.unit_of_work() as session:
        overdue = session.execute(
            select(Approval, Grant)
            .join(Grant, Grant.id == Approval.grant_id)
            .where(Approval.status == PENDING, Approval.due_at < now)
            .order_by(Approval.due_at)
        ).all()
        supervisors = accounts.active_supervisors(session)
        locales = accounts.locales_by_email(session, [address for _, address in supervisors])
        for approval, grant in overdue:
            late = now - approval.due_at
            gesture = get_gesture_type(session, grant.gesture_code)
            for user_id, address in supervisors:
                locale = pick_locale(locales.get(address))
                gesture_name = gesture.name_fr if locale == "fr" else gesture.name_en
                outbox.enqueue_email(
                    session,
                    key=f"recovery-overdue-{approval.id}-{user_id}",
                    sender=sender,
                    to=address,
                    subject=translate(
                        locale,
                        N_("Gesture awaiting your decision for {hours} h"),
                        hours=late.days * 24 + late.seconds // 3600,
                    ),
                    body=translate(
                        locale,
                        N_(
                            "{agent} asked for {gesture} ({amount}) for customer {customer}:"
                            " {reason}\n\nThe decision was promised by {deadline}:"
                            " /recovery/approvals"
                        ),
                        agent=grant.agent_label,
                        gesture=gesture_name or grant.gesture_code,
                        amount=format_money(grant.cost_cents, locale),
                        customer=grant.customer_id,
                        reason=grant.reason_text,
                        deadline=format_datetime(approval.due_at, locale, with_zone=True),
                    ),
                    now=now,
                    ref_type="recovery_approval",
                    ref_id=approval.id,
                )
    return f"{len(overdue)} overdue requests, {len(supervisors)} supervisors told"


def approval_of(session: Session, grant_id: int) -> Approval | None:
    return session.scalar(select(Approval).where(Approval.grant_id == grant_id))
