"""What becomes of a request: its outcome (a stay with the offer is granted through recovery's
budgets), contracts ending when their notice runs out, win-back contacts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.cases import service as cases
from egards.cases.domain import Channel
from egards.config import Settings
from egards.customers import service as customers
from egards.db import utcnow
from egards.errors import N_, Conflict
from egards.i18n import day, message, translate
from egards.outbox import service as outbox
from egards.subscriptions import acknowledgement as ack
from egards.subscriptions import domain
from egards.subscriptions.domain import Outcome, RequestStatus, Status
from egards.subscriptions.models import (
    CancellationRequest,
    Subscription,
)
from egards.subscriptions.service._common import (
    WORKER,
    _change_status,
    _record,
)
from egards.subscriptions.service.cancellation import (
    get_request,
)
from egards.subscriptions.settings import get_subscriptions_settings


def record_outcome(
    session: Session,
    *,
    actor: Actor,
    request_id: int,
    outcome: str,
    settings: Settings,
    note: str | None = None,
    now: datetime | None = None,
) -> CancellationRequest:
    """What became of a registered request: cancelled (a win-back is planned if the customer
    is worth it), stayed with the offer (the gesture is granted through the recovery
    catalogue and budgets) or stayed without; a customer who stays keeps their contract."""
    actor.require(Permission.CASES_WRITE)
    now = now or utcnow()
    request = get_request(session, actor=actor, request_id=request_id)
    if request.status != RequestStatus.REGISTERED:
        raise Conflict(
            N_("request {number} is {status}: no outcome to record"),
            field="request_id",
            number=request.number,
            status=domain.request_status(request.status),
        )
    if request.outcome is not None:
        raise Conflict(
            N_("the outcome of {number} is already {outcome}"),
            field="outcome",
            number=request.number,
            outcome=request.outcome,
        )
    # A registered request is one that stood: it has a contract, its holder and an end date.
    assert request.subscription_id is not None and request.customer_id is not None
    assert request.end_date is not None
    subscription = session.get_one(Subscription, request.subscription_id)
    request.outcome, request.outcome_at, request.outcome_by = outcome, now, actor.label
    offer = request.offer or {}
    if outcome == Outcome.CANCELLED:
        if domain.worth_winback(offer.get("kind"), request.reason):
            consent = _email_consent(session, request.customer_id)
            address = customers.primary_email(session, request.customer_id)
            request.winback_due_on = domain.winback_due(
                request.end_date, get_subscriptions_settings().winback_days
            )
            request.winback_channel = domain.winback_channel(
                email_consent=consent, has_email=bool(address)
            )
    else:
        request.status = str(RequestStatus.WITHDRAWN)
        _change_status(session, subscription, Status.ACTIVE, actor, now, f"stayed ({outcome})")
        subscription.ends_on = None
        if outcome == Outcome.STAYED_WITH_OFFER and offer.get("gesture_kind"):
            request.grant_id = _grant(session, actor, request, offer, settings, now)
    if outcome == Outcome.CANCELLED and request.end_date:
        said = message(
            N_("Cancellation {number} confirmed: ends on {day}"),
            number=request.number,
            day=day(request.end_date),
        )
    elif outcome == Outcome.STAYED_WITH_OFFER:
        said = message(N_("Stayed with the offer after {number}"), number=request.number)
    else:
        said = message(N_("Stayed without an offer after {number}"), number=request.number)
    _record(
        session,
        actor=actor,
        action=f"subscription.{outcome}",
        entity=("cancellation", request.id),
        customer_id=request.customer_id,
        summary=message(N_("{text} ({note})"), text=said, note=note) if note else said,
        after={"outcome": outcome, "winback_due_on": str(request.winback_due_on or "")},
        now=now,
    )
    session.flush()
    return request


def _grant(
    session: Session,
    actor: Actor,
    request: CancellationRequest,
    offer: dict[str, Any],
    settings: Settings,
    now: datetime,
) -> int | None:
    """The offer as a recovery gesture: within the agent's and team's budgets at once,
    above them through the approval rules of recovery."""
    from egards.recovery import service as recovery
    from egards.recovery.schemas import GrantCreate

    option = next(
        (
            row
            for row in recovery.catalogue(session, active_only=True)
            if row.kind == offer["gesture_kind"]
        ),
        None,
    )
    if option is None:
        return None
    amount = offer.get("amount_cents") or None
    if amount is not None:
        low, high = option.min_amount or amount, option.max_amount or amount
        amount = max(low, min(high, amount))
    assert request.customer_id is not None, "a registered request has its holder"
    grant = recovery.grant(
        session,
        actor=actor,
        data=GrantCreate(
            customer_id=request.customer_id,
            case_id=request.case_id,
            gesture_code=option.code,
            amount=amount,
            reason_code="other",
            reason_text=f"Retention ({request.number}): {offer['explanation']['en']}"[:2000],
            key=f"retention:{request.id}",
        ),
        sender=settings.mail_from,
        now=now,
    )
    return grant.id


def _email_consent(session: Session, customer_id: int) -> bool:
    events = customers.consent_history(session, actor=WORKER, customer_id=customer_id)
    for event in customers.current_consents(events):
        if event.purpose == "marketing" and event.channel in ("email", "any"):
            return bool(event.granted)
    return False


def end_due(session: Session, *, today: date, now: datetime | None = None) -> int:
    """Contracts whose notice has run out end (the worker runs this daily)."""
    now = now or utcnow()
    due = session.scalars(
        select(Subscription).where(
            Subscription.status == str(Status.NOTICE_GIVEN), Subscription.ends_on <= today
        )
    ).all()
    for subscription in due:
        _change_status(session, subscription, Status.ENDED, WORKER, now, "notice ran out")
        _record(
            session,
            actor=WORKER,
            action="subscription.ended",
            entity=("subscription", subscription.id),
            customer_id=subscription.customer_id,
            summary=message(N_("Contract {reference} ended"), reference=subscription.reference),
            now=now,
        )
        session.execute(
            update(CancellationRequest)
            .where(
                CancellationRequest.subscription_id == subscription.id,
                CancellationRequest.status == str(RequestStatus.REGISTERED),
                CancellationRequest.outcome.is_(None),
            )
            .values(outcome=str(Outcome.CANCELLED), outcome_at=now, outcome_by=WORKER.label)
        )
    session.flush()
    return len(due)


def contact_winbacks(
    session: Session, *, settings: Settings, today: date, now: datetime | None = None
) -> int:
    """Win-back contacts due: an e-mail with consent, else a call task in the cancellations
    queue, each once."""
    now = now or utcnow()
    due = session.scalars(
        select(CancellationRequest)
        .where(
            CancellationRequest.winback_due_on <= today,
            CancellationRequest.winback_done_at.is_(None),
            CancellationRequest.outcome == str(Outcome.CANCELLED),
        )
        .limit(500)
    ).all()
    for request in due:
        # Only a registered request that ended in a cancellation has a win-back planned.
        assert request.customer_id is not None and request.end_date is not None
        customer = customers.get_customer(session, actor=WORKER, customer_id=request.customer_id)
        if customer.status != "active":
            request.winback_done_at = now
            continue
        lang = request.language
        offer = request.offer or {}
        amount = ack.format_money(int(offer.get("amount_cents") or 0), lang)
        address = customers.primary_email(session, customer.id)
        if request.winback_channel == "email" and address:
            outbox.enqueue_email(
                session,
                key=f"subscriptions:winback:{request.id}",
                sender=settings.mail_from,
                to=address,
                subject=translate(lang, "We miss you"),
                body=translate(
                    lang,
                    "Hello {name},\n\nYour contract ended on {end}. If you would like to come"
                    " back, we offer you {amount} off your first bills.\n\nNo more offers? Just"
                    " reply STOP.",
                    name=customer.first_name,
                    end=ack.format_day(request.end_date, lang),
                    amount=amount,
                ),
                now=now,
                ref_type="cancellation",
                ref_id=request.id,
            )
        else:
            opened = cases.open_case(
                session,
                actor=WORKER,
                details=cases.CaseDetails(
                    channel=Channel.PHONE,
                    subject=f"Win-back call: {customer.first_name} {customer.last_name}"
                    f" (after {request.number})",
                    category="cancellation",
                    team="cancellations",
                    language=request.language,
                    customer_id=customer.id,
                    tags=("win-back",),
                ),
                message=cases.InboundIn(
                    body_text=f"Call to offer a return: {offer.get('explanation', {}).get('en')}",
                ),
                config=cases.config_from_settings(settings),
                now=now,
                acknowledge=False,
                answered_on_the_spot=True,
            )
            request.winback_channel = "call"
            _ = opened
        request.winback_done_at = now
        _record(
            session,
            actor=WORKER,
            action="subscription.winback_contact",
            entity=("cancellation", request.id),
            customer_id=customer.id,
            summary=message(
                N_("Win-back contact ({channel}) after {number}"),
                channel=message(request.winback_channel or "call"),
                number=request.number,
            ),
            now=now,
        )
    session.flush()
    return len(due)
