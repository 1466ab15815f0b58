"""Privacy requests (GDPR articles 12(3), 16, 17): asked by the customer with their one-month
clock, answered or extended by staff from their queue, the customer told by e-mail each time;
and the portal's own GDPR hooks (export and erasure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.customers import service as customers
from egards.customers.domain import ERASED, Erasure
from egards.errors import InvalidInput, NotFound
from egards.i18n import N_, day, message
from egards.loyalty import domain as loyalty_domain
from egards.outbox import service as outbox
from egards.portal import domain
from egards.portal.domain import (
    OPEN_PRIVACY,
    PrivacyKind,
    PrivacyStatus,
    privacy_due,
)
from egards.portal.models import PortalSession, PrivacyRequest, SignInLink
from egards.portal.service._common import (
    PARIS,
    PORTAL,
    PRIVACY_KEY,
    me,
)


def my_privacy_requests(session: Session, *, customer_id: int) -> list[PrivacyRequest]:
    return list(
        session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.customer_id == customer_id)
            .order_by(PrivacyRequest.id.desc())
        )
    )


def ask_privacy(
    session: Session,
    *,
    customer_id: int,
    kind: str,
    details: str,
    mail_from: str,
    now: datetime,
) -> PrivacyRequest:
    """A request to erase or rectify, with its one-month clock (article 12(3))."""
    try:
        wanted = PrivacyKind(kind)
    except ValueError:
        raise InvalidInput(N_("choose erasure or rectification"), field="kind") from None
    details = details.strip()
    if wanted is PrivacyKind.RECTIFICATION and len(details) < 5:
        raise InvalidInput(N_("say what is wrong and what it should be"), field="details")
    if len(details) > 4000:
        raise InvalidInput(N_("4,000 characters at most"), field="details")
    pending = [
        r
        for r in my_privacy_requests(session, customer_id=customer_id)
        if r.kind == wanted and r.status in OPEN_PRIVACY
    ]
    if pending:
        return pending[0]
    received = now.astimezone(PARIS).date()
    request = PrivacyRequest(
        customer_id=customer_id,
        kind=wanted,
        details=details,
        status=PrivacyStatus.RECEIVED,
        received_at=now,
        due_on=privacy_due(received),
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=PORTAL,
        action=f"privacy.{wanted}_requested",
        entity_type="privacy_request",
        entity_id=request.id,
        customer_id=customer_id,
        after={"kind": str(wanted), "due_on": request.due_on.isoformat()},
    )
    customers.record_event(
        session,
        actor=PORTAL,
        customer_id=customer_id,
        kind=f"privacy.{wanted}_requested",
        summary=message(
            N_("Asked for the erasure of their data (answer due {due})")
            if wanted is PrivacyKind.ERASURE
            else N_("Asked for the rectification of their data (answer due {due})"),
            due=day(request.due_on),
        ),
        channel="web",
        ref_type="privacy_request",
        ref_id=str(request.id),
        occurred_at=now,
    )
    _tell(session, request, mail_from=mail_from, now=now, event="received")
    return request


_NOTICES = {
    "received": (
        "Nous avons bien reçu votre demande de {kind_fr}. Nous vous répondrons au plus tard "
        "le {due_fr}.",
        "We have received your request for {kind}. We will answer by {due}.",
    ),
    "extended": (
        "Votre demande de {kind_fr} demande plus de temps : nous vous répondrons au plus tard "
        "le {due_fr}. Raison : {reason}",
        "Your request for {kind} needs more time: we will answer by {due}. Why: {reason}",
    ),
    "done": (
        "Votre demande de {kind_fr} est traitée. {reason}",
        "Your request for {kind} has been carried out. {reason}",
    ),
    "refused": (
        "Nous ne pouvons pas donner suite à votre demande de {kind_fr}. Raison : {reason}",
        "We cannot carry out your request for {kind}. Why: {reason}",
    ),
}
_KIND_FR = {"erasure": "suppression de vos données", "rectification": "rectification"}


def _tell(
    session: Session, request: PrivacyRequest, *, mail_from: str, now: datetime, event: str
) -> None:
    to = customers.primary_email(session, request.customer_id)
    if not to:
        return
    person = me(session, customer_id=request.customer_id)
    french = person.language == "fr"
    due = request.due_on
    values = {
        "kind": f"{request.kind} of your data",
        "kind_fr": _KIND_FR.get(request.kind, request.kind),
        "due": loyalty_domain.format_date(due, "en"),
        "due_fr": loyalty_domain.format_date(due, "fr"),
        "reason": request.outcome or request.extension_reason or "",
    }
    text = _NOTICES[event][0 if french else 1].format(**values).strip()
    outbox.enqueue_email(
        session,
        key=f"{PRIVACY_KEY}{request.id}:{event}",
        sender=mail_from,
        to=to,
        subject="Votre demande sur vos données" if french else "Your request about your data",
        body=text + "\n",
        now=now,
        ref_type="privacy_request",
        ref_id=request.id,
    )


# --- the staff's queue ----------------------------------------------------------------


def privacy_queue(
    session: Session, *, actor: Actor, include_closed: bool = False
) -> list[PrivacyRequest]:
    """Requests by due day, soonest first (the open ones only unless asked)."""
    actor.require(Permission.GDPR_EXPORT)
    query = select(PrivacyRequest).order_by(PrivacyRequest.due_on, PrivacyRequest.id)
    if not include_closed:
        query = query.where(PrivacyRequest.status.in_([str(s) for s in OPEN_PRIVACY]))
    return list(session.scalars(query.limit(500)))


def _open_request(session: Session, request_id: int) -> PrivacyRequest:
    request = session.get(PrivacyRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(
            N_("privacy request {request_id} not found"), request_id=request_id, field="request_id"
        )
    return request


def extend_privacy(
    session: Session, *, actor: Actor, request_id: int, reason: str, mail_from: str, now: datetime
) -> PrivacyRequest:
    """Two more months, once, with the reason the customer is sent."""
    actor.require(Permission.GDPR_EXPORT)
    request = _open_request(session, request_id)
    reason = domain.check_extension(request.status, reason)
    before = request.due_on
    request.status = PrivacyStatus.EXTENDED
    request.extension_reason = reason
    request.due_on = privacy_due(request.received_at.astimezone(PARIS).date(), extended=True)
    audit.record(
        session,
        actor=actor,
        action="privacy.extended",
        entity_type="privacy_request",
        entity_id=request.id,
        customer_id=request.customer_id,
        before={"due_on": before.isoformat()},
        after={"due_on": request.due_on.isoformat()},
        reason=reason,
    )
    customers.record_event(
        session,
        actor=actor,
        customer_id=request.customer_id,
        kind="privacy.extended",
        summary=message(N_("Privacy request extended to {due}"), due=day(request.due_on)),
        ref_type="privacy_request",
        ref_id=str(request.id),
        occurred_at=now,
    )
    _tell(session, request, mail_from=mail_from, now=now, event="extended")
    session.flush()
    return request


def decide_privacy(
    session: Session,
    *,
    actor: Actor,
    request_id: int,
    done: bool,
    outcome: str,
    mail_from: str,
    now: datetime,
) -> PrivacyRequest:
    """Close a request: carried out, or refused with the reason the customer is sent. (An
    erasure itself is done on the customer's file, `POST /customers/{id}/erase`.)"""
    actor.require(Permission.GDPR_EXPORT)
    request = _open_request(session, request_id)
    if request.status not in OPEN_PRIVACY:
        raise InvalidInput(N_("this request is already closed"), field="status")
    outcome = " ".join(outcome.split())
    if not done and len(outcome) < 10:
        raise InvalidInput(
            N_("give the customer the reason (10 characters or more)"), field="outcome"
        )
    request.status = PrivacyStatus.DONE if done else PrivacyStatus.REFUSED
    request.outcome = outcome or None
    request.decided_at = now
    request.decided_by = actor.label
    _tell(session, request, mail_from=mail_from, now=now, event=str(request.status))
    audit.record(
        session,
        actor=actor,
        action=f"privacy.{request.status}",
        entity_type="privacy_request",
        entity_id=request.id,
        customer_id=request.customer_id,
        after={"status": str(request.status)},
        reason=outcome or None,
    )
    if customers.statuses(session, [request.customer_id]).get(request.customer_id) == "active":
        customers.record_event(
            session,
            actor=actor,
            customer_id=request.customer_id,
            kind=f"privacy.{request.status}",
            summary=message(
                N_("Privacy request {number} done")
                if request.status == PrivacyStatus.DONE
                else N_("Privacy request {number} refused"),
                number=str(request.id),
            ),
            ref_type="privacy_request",
            ref_id=str(request.id),
            occurred_at=now,
        )
    session.flush()
    return request


# --- GDPR hooks -----------------------------------------------------------------------


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """Sign-ins and privacy requests, for the customer's export."""
    links = session.scalars(select(SignInLink).where(SignInLink.customer_id == customer_id))
    sessions = session.scalars(
        select(PortalSession).where(PortalSession.customer_id == customer_id)
    )
    return {
        "sign_in_links": [
            {"sent_at": link.created_at.isoformat(), "used_at": _iso(link.used_at)}
            for link in links
        ],
        "sessions": [
            {"started_at": s.created_at.isoformat(), "ended_at": _iso(s.ended_at)} for s in sessions
        ],
        "privacy_requests": [
            {
                "kind": r.kind,
                "details": r.details,
                "status": r.status,
                "received_at": r.received_at.isoformat(),
                "due_on": r.due_on.isoformat(),
                "extension_reason": r.extension_reason,
                "outcome": r.outcome,
            }
            for r in my_privacy_requests(session, customer_id=customer_id)
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Links and sessions go (every session ends with them); a privacy request keeps its
    kind, status and dates, as the record that it was answered, and loses its texts."""
    ids = erasure.customer_ids
    session.execute(delete(SignInLink).where(SignInLink.customer_id.in_(ids)))
    session.execute(delete(PortalSession).where(PortalSession.customer_id.in_(ids)))
    session.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.customer_id.in_(ids))
        .values(details=ERASED, extension_reason=None, outcome=None)
        .execution_options(synchronize_session=False)
    )
