"""Vouchers and events: a voucher or pass used once, events created by supervisors, and the
invitations to them, whose replies and attendance free or take a seat.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.db import rowcount, utcnow
from egards.errors import Conflict, InvalidInput, NotFound
from egards.i18n import N_, message
from egards.recovery.domain.status_words import invitation_status
from egards.recovery.models import (
    Event,
    Invitation,
    Voucher,
)

from ._common import _record, _zone


def redeem_voucher(
    session: Session, *, actor: Actor, code: str, reference: str, now: datetime | None = None
) -> Voucher:
    """Use a voucher or pass once (a till, a booking); a second use is refused."""
    actor.require(Permission.LOYALTY_WRITE)
    now = now or utcnow()
    voucher = session.scalar(select(Voucher).where(Voucher.code == code.strip().upper()))
    if voucher is None:
        raise NotFound(N_("no voucher {code}"), code=code, field="code")
    if voucher.expires_on < now.astimezone(_zone()).date():
        raise Conflict(
            N_("voucher {voucher_code} expired on {expires_on}"),
            voucher_code=voucher.code,
            expires_on=voucher.expires_on,
            field="code",
        )
    done = session.execute(
        update(Voucher)
        .where(Voucher.id == voucher.id, Voucher.redeemed_at.is_(None))
        .values(redeemed_at=now, redeemed_ref=reference.strip()[:200])
    )
    if rowcount(done) != 1:
        session.refresh(voucher)
        raise Conflict(
            N_("voucher {voucher_code} was already used ({redeemed_ref})"),
            voucher_code=voucher.code,
            redeemed_ref=voucher.redeemed_ref,
            field="code",
        )
    session.refresh(voucher)
    _record(
        session,
        actor=actor,
        action="recovery.voucher_redeemed",
        entity=("recovery_voucher", voucher.id),
        customer_id=voucher.customer_id,
        summary=message(
            N_("Voucher {code} used: {reference}"),
            code=voucher.code,
            reference=voucher.redeemed_ref,
        ),
        after={"reference": voucher.redeemed_ref},
        now=now,
    )
    return voucher


def create_event(
    session: Session,
    *,
    actor: Actor,
    name: str,
    place: str,
    starts_at: datetime,
    capacity: int,
    description: str = "",
) -> Event:
    actor.require(Permission.RECOVERY_APPROVE)
    if starts_at <= utcnow():
        raise InvalidInput(N_("must be in the future"), field="starts_at")
    if not 1 <= capacity <= 100_000:
        raise InvalidInput(N_("must be between 1 and 100,000"), field="capacity")
    event = Event(
        name=name.strip(),
        place=place.strip(),
        starts_at=starts_at,
        capacity=capacity,
        seats_taken=0,
        description=description,
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="recovery.event",
        entity_type="recovery_event",
        entity_id=event.id,
        after={"name": event.name, "capacity": capacity, "starts_at": starts_at.isoformat()},
    )
    return event


def events(session: Session, *, upcoming_only: bool = True) -> list[Event]:
    query = select(Event).order_by(Event.starts_at)
    if upcoming_only:
        query = query.where(Event.starts_at > utcnow())
    return list(session.scalars(query))


def invitations(session: Session, *, actor: Actor, event_id: int) -> list[Invitation]:
    actor.require(Permission.RECOVERY_GRANT)
    return list(
        session.scalars(
            select(Invitation).where(Invitation.event_id == event_id).order_by(Invitation.id)
        )
    )


INVITATION_MOVES = {
    "invited": {"accepted", "declined"},
    "accepted": {"declined", "attended", "absent"},
    "declined": {"accepted"},
    "attended": set(),
    "absent": set(),
}


def update_invitation(
    session: Session, *, actor: Actor, invitation_id: int, status: str
) -> Invitation:
    """Record the customer's reply or attendance; a declined seat frees up for someone else."""
    actor.require(Permission.RECOVERY_GRANT)
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(
            N_("invitation {invitation_id} not found"),
            invitation_id=invitation_id,
            field="invitation_id",
        )
    if status not in INVITATION_MOVES.get(invitation.status, set()):
        raise Conflict(
            N_("an invitation {invitation_status} cannot become {status}"),
            invitation_status=invitation_status(invitation.status),
            status=invitation_status(status),
            field="status",
        )
    if status == "declined":
        session.execute(
            update(Event)
            .where(Event.id == invitation.event_id)
            .values(seats_taken=Event.seats_taken - 1)
        )
    elif invitation.status == "declined":
        taken = session.execute(
            update(Event)
            .where(Event.id == invitation.event_id, Event.seats_taken < Event.capacity)
            .values(seats_taken=Event.seats_taken + 1)
        )
        if rowcount(taken) != 1:
            raise Conflict(N_("the event is full"), field="status")
    before = invitation.status
    invitation.status, invitation.updated_at = status, utcnow()
    audit.record(
        session,
        actor=actor,
        action="recovery.invitation",
        entity_type="recovery_invitation",
        entity_id=invitation.id,
        customer_id=invitation.customer_id,
        before={"status": before},
        after={"status": status},
    )
    session.flush()
    return invitation
