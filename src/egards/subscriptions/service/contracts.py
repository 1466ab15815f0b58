"""Contracts: signed (a new contract after a win-back contact counts the customer won back),
read, listed, changed, suspended and resumed, and their status history.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.customers import service as customers
from egards.customers.domain import customer_status
from egards.db import utcnow
from egards.errors import N_, Conflict, NotFound
from egards.formats import BUSINESS_ZONE
from egards.i18n import day, listed, message, plural_message
from egards.subscriptions import domain
from egards.subscriptions.domain import Outcome, Status
from egards.subscriptions.models import (
    CancellationRequest,
    Subscription,
    SubscriptionStatusChange,
)
from egards.subscriptions.schemas import SubscriptionCreate, SuspensionCreate
from egards.subscriptions.service._common import (
    WORKER,
    _change_status,
    _record,
)


def create_subscription(
    session: Session, *, actor: Actor, data: SubscriptionCreate, now: datetime | None = None
) -> Subscription:
    """A signed contract: on the customer's file, the timeline and the audit trail. A new
    contract for a customer whose earlier one ended after a win-back contact counts as won
    back."""
    actor.require(Permission.CUSTOMERS_WRITE)
    now = now or utcnow()
    customer = customers.get_customer(session, actor=actor, customer_id=data.customer_id)
    if customer.status != "active":
        raise Conflict(
            N_("customer {customer_id} is {status}: no contract can be added"),
            field="customer_id",
            customer_id=customer.id,
            status=customer_status(customer.status),
        )
    if session.scalar(select(Subscription.id).where(Subscription.reference == data.reference)):
        raise Conflict(
            N_("reference {reference} already exists"), field="reference", reference=data.reference
        )
    domain.check_terms(
        domain.Terms(
            data.start_date,
            data.notice_days,
            data.price_cents,
            data.commitment_end,
            data.early_fee_percent,
        )
    )
    organisation_id = actor.organisation_id if actor.is_partner else data.organisation_id
    subscription = Subscription(
        **data.model_dump(exclude={"organisation_id"}),
        organisation_id=organisation_id,
        status=str(Status.ACTIVE),
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    session.add(
        SubscriptionStatusChange(
            subscription_id=subscription.id,
            at=now,
            from_status=None,
            to_status=str(Status.ACTIVE),
            actor_label=actor.label,
            note=f"signed ({data.sold_channel})",
        )
    )
    _record(
        session,
        actor=actor,
        action="subscription.signed",
        entity=("subscription", subscription.id),
        customer_id=customer.id,
        summary=message(
            N_("Contract {reference} signed: {offer} ({channel})"),
            reference=subscription.reference,
            offer=subscription.offer,
            channel=message(subscription.sold_channel),
        ),
        after={"reference": subscription.reference, "offer": subscription.offer},
        channel=data.sold_channel,
        now=now,
    )
    _count_win_back(session, actor=actor, customer_id=customer.id, now=now)
    session.flush()
    return subscription


def _count_win_back(session: Session, *, actor: Actor, customer_id: int, now: datetime) -> None:
    contacted = session.scalars(
        select(CancellationRequest).where(
            CancellationRequest.customer_id == customer_id,
            CancellationRequest.outcome == str(Outcome.CANCELLED),
            CancellationRequest.winback_done_at.is_not(None),
            CancellationRequest.won_back_at.is_(None),
        )
    ).all()
    for request in contacted:
        request.won_back_at = now
        subscription = session.get(Subscription, request.subscription_id)
        if subscription is not None and subscription.status == Status.ENDED:
            _change_status(session, subscription, Status.WON_BACK, actor, now, "won back")
        _record(
            session,
            actor=actor,
            action="subscription.won_back",
            entity=("cancellation", request.id),
            customer_id=customer_id,
            summary=message(N_("Won back after cancellation {number}"), number=request.number),
            now=now,
        )


def get_subscription(session: Session, *, actor: Actor, subscription_id: int) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFound(
            N_("subscription {subscription_id} not found"),
            field="subscription_id",
            subscription_id=subscription_id,
        )
    try:
        customers.check_visible(session, actor=actor, customer_id=subscription.customer_id)
    except NotFound:
        raise NotFound(
            N_("subscription {subscription_id} not found"),
            field="subscription_id",
            subscription_id=subscription_id,
        ) from None
    return subscription


def list_subscriptions(
    session: Session,
    *,
    actor: Actor,
    customer_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Subscription]:
    actor.require(Permission.CUSTOMERS_READ)
    query = select(Subscription).order_by(Subscription.id.desc())
    if customer_id is not None:
        customers.check_visible(session, actor=actor, customer_id=customer_id)
        query = query.where(Subscription.customer_id == customer_id)
    elif actor.is_partner:
        query = query.where(Subscription.organisation_id == actor.organisation_id)
    if status:
        query = query.where(Subscription.status == status)
    rows = list(session.scalars(query.limit(limit).offset(offset)))
    if actor.is_partner and customer_id is None:
        visible = []
        for row in rows:
            try:
                customers.check_visible(session, actor=actor, customer_id=row.customer_id)
                visible.append(row)
            except NotFound:
                pass
        return visible
    return rows


def status_history(
    session: Session, *, actor: Actor, subscription_id: int
) -> list[SubscriptionStatusChange]:
    get_subscription(session, actor=actor, subscription_id=subscription_id)
    return list(
        session.scalars(
            select(SubscriptionStatusChange)
            .where(SubscriptionStatusChange.subscription_id == subscription_id)
            .order_by(SubscriptionStatusChange.at, SubscriptionStatusChange.id)
        )
    )


def customer_subscriptions(session: Session, *, customer_id: int) -> list[Subscription]:
    """A customer's contracts (the caller has checked the reader may see them)."""
    return list(
        session.scalars(
            select(Subscription)
            .where(Subscription.customer_id == customer_id)
            .order_by(Subscription.start_date.desc(), Subscription.id.desc())
        )
    )


def holder_of_reference(session: Session, reference: str) -> int | None:
    """The customer holding the contract of this reference (as people type it: case, spaces
    and dashes do not matter), or ``None``. For other features' deterministic links."""
    return session.scalar(
        select(Subscription.customer_id).where(
            Subscription.reference == domain.normalise_reference(reference)
        )
    )


def update_subscription(
    session: Session,
    *,
    actor: Actor,
    subscription_id: int,
    changes: dict[str, Any],
    now: datetime | None = None,
) -> Subscription:
    """A change of plan, price, lines or equipment, on the audit trail and the timeline."""
    actor.require(Permission.CUSTOMERS_WRITE)
    now = now or utcnow()
    subscription = get_subscription(session, actor=actor, subscription_id=subscription_id)
    if subscription.status == Status.ENDED:
        raise Conflict(
            N_("contract {reference} has ended; it can no longer change"),
            field="subscription_id",
            reference=subscription.reference,
        )
    before = {name: getattr(subscription, name) for name in changes}
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.updated_at = now
    changed = sorted(name for name in changes if before[name] != changes[name])
    if changed:
        _record(
            session,
            actor=actor,
            action="subscription.changed",
            entity=("subscription", subscription.id),
            customer_id=subscription.customer_id,
            summary=message(
                N_("Contract {reference} changed: {fields}"),
                reference=subscription.reference,
                fields=listed([message(FIELD_WORDS[name]) for name in changed]),
            ),
            after={name: changes[name] for name in changed},
            now=now,
        )
    session.flush()
    return subscription


def suspend_subscription(
    session: Session,
    *,
    actor: Actor,
    subscription_id: int,
    data: SuspensionCreate,
    now: datetime | None = None,
) -> Subscription:
    """Pause a running contract from today until ``data.resumes_on``
    (:func:`domain.plan_suspension`: 7 days to six months, the commitment moves by as many
    days); on the status history, the audit trail and the timeline. The worker resumes it on
    that day (:func:`resume_due`)."""
    actor.require(Permission.CUSTOMERS_WRITE)
    now = now or utcnow()
    subscription = get_subscription(session, actor=actor, subscription_id=subscription_id)
    plan = domain.plan_suspension(
        status=subscription.status,
        starts_on=now.astimezone(BUSINESS_ZONE).date(),
        resumes_on=data.resumes_on,
        commitment_end=subscription.commitment_end,
    )
    _change_status(session, subscription, Status.SUSPENDED, actor, now, data.note)
    subscription.resumes_on = plan.resumes_on
    subscription.commitment_end = plan.commitment_end
    _record(
        session,
        actor=actor,
        action="subscription.suspended",
        entity=("subscription", subscription.id),
        customer_id=subscription.customer_id,
        summary=plural_message(
            "Contract {reference} suspended until {day} ({count} day)",
            "Contract {reference} suspended until {day} ({count} days)",
            plan.days,
            reference=subscription.reference,
            day=day(plan.resumes_on),
        ),
        after={
            "resumes_on": plan.resumes_on.isoformat(),
            "commitment_end": plan.commitment_end.isoformat() if plan.commitment_end else None,
        },
        now=now,
    )
    session.flush()
    return subscription


def resume_due(session: Session, *, today: date, now: datetime | None = None) -> int:
    """Suspended contracts whose resume date has come run again (a worker job). Returns how
    many resumed."""
    now = now or utcnow()
    due = session.scalars(
        select(Subscription).where(
            Subscription.status == Status.SUSPENDED, Subscription.resumes_on <= today
        )
    ).all()
    for subscription in due:
        _change_status(session, subscription, Status.ACTIVE, WORKER, now, "suspension over")
        subscription.resumes_on = None
        _record(
            session,
            actor=WORKER,
            action="subscription.resumed",
            entity=("subscription", subscription.id),
            customer_id=subscription.customer_id,
            summary=message(N_("Contract {reference} resumed"), reference=subscription.reference),
            after={"status": str(Status.ACTIVE)},
            now=now,
        )
    session.flush()
    return len(due)


FIELD_WORDS = {
    "offer": N_("offer"),
    "plan": N_("plan"),
    "line_numbers": N_("line numbers"),
    "price_cents": N_("price"),
    "equipment": N_("equipment"),
}
"""The words of the contract's fields a change names on the timeline."""
