"""Use cases of subscriptions: contracts and their status history, cancellation requests from
every channel (one use case whatever the channel: the same acknowledgement, reason capture,
promise and case in the cancellations queue), retention offers, outcomes, win-back, reports
and the GDPR hooks. Each takes a session and keyword arguments and only flushes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission, Role
from egards.analytics import service as analytics
from egards.audit import service as audit
from egards.cases import service as cases
from egards.cases.domain import Channel, Priority
from egards.config import Settings
from egards.customers import service as customers
from egards.customers.domain import ERASED, Erasure
from egards.db import utcnow
from egards.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from egards.loyalty import service as loyalty
from egards.outbox import service as outbox
from egards.subscriptions import acknowledgement as ack
from egards.subscriptions import domain
from egards.subscriptions.domain import Outcome, RequestStatus, Status
from egards.subscriptions.models import (
    CancellationRequest,
    Subscription,
    SubscriptionStatusChange,
)
from egards.subscriptions.schemas import CancellationCreate, SubscriptionCreate
from egards.subscriptions.settings import get_subscriptions_settings

# Who acts when nobody is signed in: the public page, the worker.
PUBLIC = Actor(label="cancellation page", role=Role.ADMIN)
WORKER = Actor(label="subscriptions worker", role=Role.ADMIN)
SILO = "cancellation"
PROOF_TYPES = {
    "application/pdf": (b"%PDF",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


def _record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: tuple[str, int],
    customer_id: int | None,
    summary: str,
    after: dict[str, Any] | None = None,
    channel: str = "console",
    now: datetime | None = None,
) -> None:
    """The audit record of a change and, when it concerns a customer, their timeline entry."""
    entity_type, entity_id = entity
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        customer_id=customer_id,
        after=after,
    )
    if customer_id is not None:
        customers.record_event(
            session,
            actor=actor,
            customer_id=customer_id,
            kind=action,
            summary=summary,
            channel=channel if channel in _TIMELINE_CHANNELS else "console",
            silo=SILO,
            ref_type=entity_type,
            ref_id=str(entity_id),
            occurred_at=now,
        )


_TIMELINE_CHANNELS = ("email", "phone", "web", "social", "shop", "letter", "partner", "api")


# --------------------------------------------------------------------------------------
# Contracts
# --------------------------------------------------------------------------------------


def terms_of(subscription: Subscription) -> domain.Terms:
    return domain.Terms(
        start_date=subscription.start_date,
        notice_days=subscription.notice_days,
        monthly_price_cents=subscription.price_cents,
        commitment_end=subscription.commitment_end,
        early_fee_percent=subscription.early_fee_percent,
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
            f"customer {customer.id} is {customer.status}: no contract can be added",
            field="customer_id",
        )
    if session.scalar(select(Subscription.id).where(Subscription.reference == data.reference)):
        raise Conflict(f"reference {data.reference} already exists", field="reference")
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
        summary=f"Contract {subscription.reference} signed: {subscription.offer}"
        f" ({subscription.sold_channel})",
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
            summary=f"Won back after cancellation {request.number}",
            now=now,
        )


def _change_status(
    session: Session,
    subscription: Subscription,
    target: Status,
    actor: Actor,
    now: datetime,
    note: str | None = None,
) -> None:
    domain.check_transition(subscription.status, target)
    session.add(
        SubscriptionStatusChange(
            subscription_id=subscription.id,
            at=now,
            from_status=subscription.status,
            to_status=str(target),
            actor_label=actor.label,
            note=note and note[:300],
        )
    )
    subscription.status = str(target)
    subscription.updated_at = now


def get_subscription(session: Session, *, actor: Actor, subscription_id: int) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFound(f"subscription {subscription_id} not found", field="subscription_id")
    try:
        customers.check_visible(session, actor=actor, customer_id=subscription.customer_id)
    except NotFound:
        raise NotFound(
            f"subscription {subscription_id} not found", field="subscription_id"
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


# --------------------------------------------------------------------------------------
# Finding the contract of a request, without telling a stranger anything
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    subscription: Subscription | None
    customer: Any
    holder_confirmed: bool  # the e-mail given is the holder's: the page may show the details


def _match(session: Session, data: CancellationCreate) -> Match:
    reference = domain.normalise_reference(data.reference)
    subscription = session.scalar(select(Subscription).where(Subscription.reference == reference))
    if subscription is None:
        return Match(None, None, False)
    customer = customers.get_customer(session, actor=PUBLIC, customer_id=subscription.customer_id)
    if customer.status != "active" or not domain.name_matches(
        data.name, customer.first_name, customer.last_name
    ):
        return Match(None, None, False)
    if data.line_number and subscription.line_numbers:
        given = domain.normalise_line(data.line_number)
        if given not in {domain.normalise_line(n) for n in subscription.line_numbers}:
            return Match(None, None, False)
    emails = {i.value.casefold() for i in customer.identities if i.kind == "email"}
    confirmed = bool(data.email) and str(data.email).casefold() in emails
    return Match(subscription, customer, confirmed)


@dataclass(frozen=True)
class Preview:
    """What the recap page may say: the end date and fee only to the contract's holder."""

    plan: domain.EndPlan | None
    subscription: Subscription | None


def preview(session: Session, *, data: CancellationCreate, today: date) -> Preview:
    found = _match(session, data)
    if found.subscription is None or not found.holder_confirmed:
        return Preview(None, None)
    plan = domain.plan_end(
        terms_of(found.subscription),
        received_on=today,
        desired=data.desired_end,
        legitimate_reason=data.legitimate_reason,
    )
    return Preview(plan, found.subscription)


def portal_token(settings: Settings, reference: str) -> str:
    """What the portal's link carries to show the holder their retention offer beside the
    path (the page shows no offer to a visitor without it)."""
    key = settings.resolved_secret_key.encode()
    message = f"cancel:{domain.normalise_reference(reference)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def offer_for_token(
    session: Session, *, settings: Settings, reference: str, token: str, lang: str, today: date
) -> dict[str, Any] | None:
    """The customer-facing offer shown beside the path, for a valid portal link only."""
    if not reference or not token:
        return None
    if not hmac.compare_digest(portal_token(settings, reference), token):
        return None
    subscription = session.scalar(
        select(Subscription).where(Subscription.reference == domain.normalise_reference(reference))
    )
    if subscription is None or subscription.status not in (Status.ACTIVE, Status.WON_BACK):
        return None
    offer = _offer(session, subscription, None, today)
    if not offer.chases:
        return None
    return {
        "kind": offer.kind,
        "amount_cents": offer.amount_cents,
        "text": _public_offer(offer, lang),
    }


def _public_offer(offer: domain.RetentionOffer, lang: str) -> str:
    amount = ack.format_money(offer.amount_cents, lang)
    if lang == "fr":
        return (
            f"Avant de partir : en tant que client fidèle, nous pouvons vous accorder {amount}"
            " sur vos prochaines factures ou vous proposer une offre mieux adaptée."
            " Appelez-nous ou répondez à notre message ; rien ne vous y oblige."
        )
    return (
        f"Before you go: as a loyal customer we can give you {amount} off your next bills or"
        " find you a better-suited plan. Call us or answer our message; nothing obliges you."
    )


# --------------------------------------------------------------------------------------
# The cancellation request: one use case, every channel
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofIn:
    filename: str
    content_type: str
    content: bytes


@dataclass
class Registered:
    request: CancellationRequest
    plan: domain.EndPlan | None
    holder_confirmed: bool
    first: CancellationRequest | None = None  # for a second request: the one that stands


def _check_proof(proof: ProofIn | None, max_bytes: int) -> None:
    if proof is None:
        return
    declared = (proof.content_type or "").split(";")[0].strip().casefold()
    if len(proof.content) > max_bytes:
        raise InvalidInput(
            f"the proof is {len(proof.content):,} bytes; the limit is {max_bytes:,}", field="proof"
        )
    signatures = PROOF_TYPES.get(declared)
    if signatures is None:
        raise InvalidInput("the proof must be a PDF, PNG or JPEG file", field="proof")
    if not proof.content.startswith(signatures):
        raise InvalidInput(f"the proof is not the {declared} it claims to be", field="proof")


def _new_number(session: Session) -> str:
    while True:
        number = "RES-" + secrets.token_hex(4).upper()
        if not session.scalar(
            select(CancellationRequest.id).where(CancellationRequest.number == number)
        ):
            return number


def request_cancellation(
    session: Session,
    *,
    actor: Actor,
    data: CancellationCreate,
    settings: Settings,
    now: datetime | None = None,
    proof: ProofIn | None = None,
    scan: ProofIn | None = None,
    case_id: int | None = None,
) -> Registered:
    """Register a cancellation request from any channel.

    The contract is the one of that reference whose holder's name matches (and line, when
    given). Its notice starts at once: the end date and fee follow the contract's terms, the
    acknowledgement (text and PDF, in the customer's language) goes to the contract's own
    address and is kept as proof, the status becomes "notice given", the request becomes a
    case in the cancellations queue with the reason and a proportionate retention offer for
    the agent. A second request leaves the first standing (the customer is told); a contract
    already ended is not cancelled again; a reference that matches nothing is kept for a
    person to check, and nothing is sent to anyone.
    """
    if data.channel in ("phone", "shop", "letter", "email"):
        actor.require(Permission.CASES_WRITE)
        if actor.is_partner:
            raise PermissionDenied("partners do not take cancellation requests")
    now = now or utcnow()
    received = data.received_at or now
    config = get_subscriptions_settings()
    _check_proof(proof, config.proof_max_bytes)
    if data.legitimate_reason and proof is None and data.channel in ("web", "portal"):
        raise InvalidInput(
            "a legitimate reason needs its proof (a PDF or a picture)", field="proof"
        )
    if data.channel in ("web", "portal") and not (data.email or data.postal_address):
        raise InvalidInput(
            "give an e-mail or a postal address for the acknowledgement", field="email"
        )
    found = _match(session, data)
    subscription = found.subscription
    open_request = None
    if subscription is not None:
        open_request = session.scalar(
            select(CancellationRequest)
            .where(
                CancellationRequest.subscription_id == subscription.id,
                CancellationRequest.status == str(RequestStatus.REGISTERED),
            )
            .order_by(CancellationRequest.id)
            .limit(1)
        )
    admission = domain.admit_request(
        subscription.status if subscription else None, has_open_request=open_request is not None
    )
    plan = None
    if admission.stands:
        plan = domain.plan_end(
            terms_of(subscription),
            received_on=received.date(),
            desired=data.desired_end,
            legitimate_reason=data.legitimate_reason,
        )
    customer = found.customer
    # The language the customer wrote in on the page; for a request taken by an agent, the
    # one on the customer's file.
    language = data.language
    if (
        data.channel not in ("web", "portal")
        and customer is not None
        and customer.preferred_language[:2] in ("fr", "en")
    ):
        language = customer.preferred_language[:2]
    request = CancellationRequest(
        number=_new_number(session),
        subscription_id=subscription.id if subscription else None,
        customer_id=customer.id if customer is not None else None,
        channel=data.channel,
        status=str(admission.status),
        language=language,
        name_given=data.name,
        reference_given=data.reference,
        email_given=str(data.email) if data.email else None,
        postal_address_given=data.postal_address,
        line_number_given=data.line_number,
        desired_end=data.desired_end,
        reason=domain.check_reason(data.reason),
        reason_text=data.reason_text,
        legitimate_reason=data.legitimate_reason,
        proof_filename=proof.filename[:255] if proof else None,
        proof_type=proof.content_type[:120] if proof else None,
        proof=proof.content if proof else None,
        end_date=plan.end_date if plan else (open_request.end_date if open_request else None),
        fee_cents=plan.fee_cents if plan else 0,
        received_at=received,
        logged_by=actor.label,
        attempts=1,
    )
    if admission.status == RequestStatus.ALREADY_ENDED:
        request.end_date = subscription.ends_on
    session.add(request)
    session.flush()
    if open_request is not None:
        open_request.attempts += 1
    offer = None
    if admission.stands:
        _change_status(
            session, subscription, Status.NOTICE_GIVEN, actor, now, f"request {request.number}"
        )
        subscription.ends_on = plan.end_date
        offer = _offer(session, subscription, request.reason, received.date())
        request.offer = {
            "kind": offer.kind,
            "gesture_kind": offer.gesture_kind,
            "amount_cents": offer.amount_cents,
            "value_band": offer.value_band,
            "explanation": dict(offer.explanation),
        }
    if subscription is not None:
        _acknowledge(
            session,
            request,
            subscription,
            customer,
            plan,
            first=open_request,
            settings=settings,
            now=now,
        )
    request.case_id = _queue(
        session,
        actor=actor,
        request=request,
        subscription=subscription,
        settings=settings,
        scan=scan,
        case_id=case_id,
        now=now,
    )
    summary = {
        RequestStatus.REGISTERED: f"Cancellation requested ({data.channel}) for contract"
        f" {subscription.reference if subscription else ''}: ends on {request.end_date}",
        RequestStatus.DUPLICATE: f"Second cancellation request ({data.channel}); the first"
        f" ({open_request.number if open_request else '-'}) stands",
        RequestStatus.ALREADY_ENDED: f"Cancellation request ({data.channel}) for a contract"
        " already ended",
    }.get(admission.status, "")
    _record(
        session,
        actor=actor,
        action=f"subscription.cancellation_{admission.status}",
        entity=("cancellation", request.id),
        customer_id=request.customer_id,
        summary=summary or "Cancellation request",
        after={
            "number": request.number,
            "channel": request.channel,
            "status": request.status,
            "reason": request.reason,
            "end_date": request.end_date.isoformat() if request.end_date else None,
            "fee_cents": request.fee_cents,
        },
        channel=data.channel,
        now=now,
    )
    session.flush()
    return Registered(request, plan, found.holder_confirmed, open_request)


def loyalty_facts(session: Session, customer_id: int, lang: str) -> tuple[str | None, int | None]:
    """The customer's tier name and available points, for the acknowledgement's effects."""
    members = loyalty.members_of(session, customer_id=customer_id)
    if not members:
        return None, None
    member = members[0]
    try:
        programme = loyalty.get_programme(member.programme)
        tier = programme.tier(member.tier).name.get(lang)
        points = sum(b.available for b in loyalty.balances(session, member=member))
    except (DomainError, KeyError, AttributeError):
        return None, None
    return tier, points


def score_of(session: Session, *, actor: Actor, customer_id: int) -> dict[str, Any] | None:
    """The customer's value and churn risk, for an agent allowed to see scores."""
    if actor.is_partner or not analytics.can_see_scores(actor):
        return None
    try:
        return analytics.customer_score(session, actor=actor, customer_id=customer_id)
    except DomainError:
        return None


def _acknowledge(
    session: Session,
    request: CancellationRequest,
    subscription: Subscription,
    customer: Any,
    plan: domain.EndPlan | None,
    *,
    first: CancellationRequest | None,
    settings: Settings,
    now: datetime,
) -> None:
    """The acknowledgement on a durable medium, to the contract's own address, kept."""
    lang = request.language
    tier, points = loyalty_facts(session, customer.id, lang)
    end = request.end_date or subscription.ends_on or now.date()
    months = domain.months_between(max(now.date().replace(day=1), subscription.start_date), end)
    facts = ack.AckFacts(
        language=lang,
        company_name=get_subscriptions_settings().company_name,
        number=request.number,
        customer_name=f"{customer.first_name} {customer.last_name}".strip(),
        channel=request.channel,
        received_at=request.received_at,
        reference=subscription.reference,
        offer=subscription.offer,
        line_numbers=tuple(subscription.line_numbers or ()),
        end_date=end,
        desired_end=request.desired_end,
        moved_to_earliest=bool(plan and plan.moved_to_earliest),
        fee_cents=request.fee_cents,
        fee_waived=bool(plan and plan.fee_waived),
        legitimate_reason=request.legitimate_reason,
        equipment=subscription.equipment,
        last_bill_cents=min(months, 1) * subscription.price_cents,
        reason=request.reason,
        loyalty_tier=tier,
        loyalty_points=points,
        duplicate_of=first.number if first is not None else None,
        already_ended=request.status == RequestStatus.ALREADY_ENDED,
    )
    body = ack.text(facts)
    pdf = ack.render_pdf(facts)
    address = customers.primary_email(session, customer.id)
    if address:
        outbox.enqueue_email(
            session,
            key=f"subscriptions:ack:{request.id}",
            sender=settings.mail_from,
            to=address,
            subject=ack.subject(facts),
            body=body,
            now=now,
            ref_type="cancellation",
            ref_id=request.id,
            attachments=[(f"{request.number}.pdf", "application/pdf", pdf)],
        )
        request.acknowledgement_to = address
    else:
        postal = ", ".join(
            p for p in (customer.address_line1, customer.postal_code, customer.city) if p
        )
        request.acknowledgement_to = f"post: {postal}"[:320]
    request.acknowledgement_text = body
    request.acknowledgement_pdf = pdf
    request.acknowledgement_sha256 = hashlib.sha256(pdf).hexdigest()
    request.acknowledged_at = now


def acknowledgement_pdf(session: Session, *, actor: Actor, request_id: int) -> tuple[str, bytes]:
    request = get_request(session, actor=actor, request_id=request_id)
    if request.acknowledgement_pdf is None:
        raise NotFound("no acknowledgement was sent for this request", field="request_id")
    return f"{request.number}.pdf", request.acknowledgement_pdf


def _queue(
    session: Session,
    *,
    actor: Actor,
    request: CancellationRequest,
    subscription: Subscription | None,
    settings: Settings,
    scan: ProofIn | None,
    case_id: int | None,
    now: datetime,
) -> int | None:
    """The case in the cancellations queue (or the case the request came in on)."""
    lines = [
        f"Cancellation request {request.number} ({request.channel})",
        f"Name given: {request.name_given}",
        f"Reference given: {request.reference_given}",
    ]
    if request.status == RequestStatus.UNMATCHED:
        lines.append("No contract matches this reference and name: check it with the person.")
    elif request.status == RequestStatus.DUPLICATE:
        lines.append("A request for this contract is already registered: the first one stands.")
    if request.end_date:
        lines.append(f"End date: {request.end_date.isoformat()}")
    if request.reason:
        lines.append(f"Reason: {domain.reason_label(request.reason, 'en')}")
    if request.reason_text:
        lines.append(f"In their words: {request.reason_text}")
    if request.legitimate_reason:
        lines.append(f"Legitimate reason: {domain.reason_label(request.legitimate_reason, 'en')}")
    if request.offer:
        lines.append(f"Proposed retention: {request.offer['explanation']['en']}")
    body = "\n".join(lines)
    if case_id is not None:
        case = cases.get_case(session, actor=actor, case_id=case_id)
        if case.customer_id is None and request.customer_id is not None:
            cases.link_customer(
                session, actor=actor, case_id=case.id, customer_id=request.customer_id, now=now
            )
        cases.add_note(session, actor=actor, case_id=case.id, body=body, now=now)
        return case.id
    attachments = ()
    if scan is not None:
        attachments = (cases.AttachmentIn(scan.filename, scan.content_type, scan.content),)
    if request.proof is not None:
        attachments += (
            cases.AttachmentIn(
                request.proof_filename or "proof", request.proof_type or "", request.proof
            ),
        )
    opened = cases.open_case(
        session,
        actor=actor,
        details=cases.CaseDetails(
            channel=Channel(domain.CASE_CHANNEL[request.channel]),
            subject=f"Cancellation request {request.number}"
            + (f" – {subscription.reference}" if subscription else " – to verify"),
            category="cancellation",
            priority=Priority.HIGH,
            team="cancellations",
            language=request.language,
            customer_id=request.customer_id,
        ),
        message=cases.InboundIn(
            body_text=body,
            subject=f"Cancellation {request.number}",
            from_name=request.name_given,
            # An unmatched request from a known address still reaches that customer's file.
            from_address=request.email_given,
            address_kind="email" if request.email_given else None,
            attachments=attachments,
            received_at=request.received_at,
        ),
        config=cases.config_from_settings(settings),
        now=now,
        acknowledge=False,
    )
    return opened.case.id


def _offer(
    session: Session, subscription: Subscription, reason: str | None, today: date
) -> domain.RetentionOffer:
    clv = risk = None
    try:
        score = analytics.customer_score(
            session, actor=WORKER, customer_id=subscription.customer_id
        )
        clv, risk = int(score["clv_cents"]), float(score["churn_risk"])
    except DomainError:
        pass
    tenure = round((today - subscription.start_date).days / 365.25, 1)
    return domain.retention_offer(
        domain.Standing(
            clv_12m_cents=clv,
            churn_risk=risk,
            tenure_years=max(tenure, 0.0),
            monthly_price_cents=subscription.price_cents,
            reason=reason,
        )
    )


# --------------------------------------------------------------------------------------
# Requests: reading, outcome, end of contracts, win-back
# --------------------------------------------------------------------------------------


def get_request(session: Session, *, actor: Actor, request_id: int) -> CancellationRequest:
    actor.require(Permission.CASES_READ)
    request = session.get(CancellationRequest, request_id)
    if request is None or actor.is_partner:  # what a customer says when leaving is internal
        raise NotFound(f"cancellation request {request_id} not found", field="request_id")
    if request.customer_id is not None:
        try:
            customers.check_visible(session, actor=actor, customer_id=request.customer_id)
        except NotFound:
            raise NotFound(
                f"cancellation request {request_id} not found", field="request_id"
            ) from None
    return request


def list_requests(
    session: Session,
    *,
    actor: Actor,
    customer_id: int | None = None,
    case_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[CancellationRequest]:
    actor.require(Permission.CASES_READ)
    if actor.is_partner:
        raise PermissionDenied("partners do not see cancellation requests")
    query = select(CancellationRequest).order_by(CancellationRequest.id.desc())
    if customer_id is not None:
        customers.check_visible(session, actor=actor, customer_id=customer_id)
        query = query.where(CancellationRequest.customer_id == customer_id)
    if case_id is not None:
        query = query.where(CancellationRequest.case_id == case_id)
    return list(session.scalars(query.limit(limit).offset(offset)))


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
            f"request {request.number} is {request.status}: no outcome to record",
            field="request_id",
        )
    if request.outcome is not None:
        raise Conflict(
            f"the outcome of {request.number} is already {request.outcome}", field="outcome"
        )
    subscription = session.get(Subscription, request.subscription_id)
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
    _record(
        session,
        actor=actor,
        action=f"subscription.{outcome}",
        entity=("cancellation", request.id),
        customer_id=request.customer_id,
        summary={
            "cancelled": f"Cancellation {request.number} confirmed: ends on {request.end_date}",
            "stayed_with_offer": f"Stayed with the offer after {request.number}",
            "stayed_without": f"Stayed without an offer after {request.number}",
        }[outcome]
        + (f" ({note})" if note else ""),
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
            summary=f"Contract {subscription.reference} ended",
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
        customer = customers.get_customer(session, actor=WORKER, customer_id=request.customer_id)
        if customer.status != "active":
            request.winback_done_at = now
            continue
        fr = request.language == "fr"
        offer = request.offer or {}
        amount = ack.format_money(int(offer.get("amount_cents") or 0), request.language)
        address = customers.primary_email(session, customer.id)
        if request.winback_channel == "email" and address:
            outbox.enqueue_email(
                session,
                key=f"subscriptions:winback:{request.id}",
                sender=settings.mail_from,
                to=address,
                subject="Vous nous manquez" if fr else "We miss you",
                body=(
                    f"Bonjour {customer.first_name},\n\nVotre contrat a pris fin le"
                    f" {ack.format_day(request.end_date, 'fr')}. Si vous souhaitez revenir,"
                    f" nous vous offrons {amount} sur vos premières factures.\n\nVous ne"
                    " souhaitez plus recevoir nos offres ? Répondez simplement « STOP »."
                    if fr
                    else f"Hello {customer.first_name},\n\nYour contract ended on"
                    f" {ack.format_day(request.end_date, 'en')}. If you would like to come"
                    f" back, we offer you {amount} off your first bills.\n\nNo more offers?"
                    " Just reply STOP."
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
            summary=f"Win-back contact ({request.winback_channel}) after {request.number}",
            now=now,
        )
    session.flush()
    return len(due)


# --------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------


def report(session: Session, *, actor: Actor, lang: str = "en") -> dict[str, Any]:
    """Cancellations by reason, channel and month; save rate by reason and by offer kind
    (against the customers who were offered nothing); win-back rate; time to acknowledge."""
    if not (actor.can(Permission.ANALYTICS_READ) or actor.can(Permission.CASES_SUPERVISE)):
        actor.require(Permission.ANALYTICS_READ)
    rows = session.execute(
        select(
            CancellationRequest.reason,
            CancellationRequest.channel,
            CancellationRequest.received_at,
            CancellationRequest.acknowledged_at,
            CancellationRequest.outcome,
            CancellationRequest.offer,
            CancellationRequest.status,
            CancellationRequest.winback_done_at,
            CancellationRequest.won_back_at,
        )
    ).all()
    by_reason: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    outcomes_by_reason: dict[str, list[str]] = defaultdict(list)
    outcomes_by_offer: dict[str, list[str]] = defaultdict(list)
    waits: list[float] = []
    contacted = won = 0
    for row in rows:
        reason = row.reason or "none"
        by_reason[reason] += 1
        by_channel[row.channel] += 1
        by_month[row.received_at.strftime("%Y-%m")] += 1
        if row.outcome:
            outcomes_by_reason[reason].append(row.outcome)
            kind = (row.offer or {}).get("kind") or "none"
            outcomes_by_offer[kind].append(row.outcome)
        if row.acknowledged_at is not None:
            waits.append(max((row.acknowledged_at - row.received_at).total_seconds(), 0.0))
        contacted += row.winback_done_at is not None
        won += row.won_back_at is not None

    def label(code: str) -> str:
        return domain.reason_label(code, lang) if code != "none" else "—"

    return {
        "total": len(rows),
        "by_reason": [(code, label(code), n) for code, n in by_reason.most_common()],
        "by_channel": sorted(by_channel.items()),
        "by_month": sorted(by_month.items()),
        "save_rate_by_reason": [
            (code, label(code), domain.save_rate(v), len(v))
            for code, v in sorted(outcomes_by_reason.items())
        ],
        "save_rate_by_offer": [
            (kind, domain.save_rate(v), len(v)) for kind, v in sorted(outcomes_by_offer.items())
        ],
        "save_rate": domain.save_rate([o for v in outcomes_by_reason.values() for o in v]),
        "winback_contacted": contacted,
        "won_back": won,
        "winback_rate": won / contacted if contacted else None,
        "median_ack_seconds": domain.median_seconds(waits),
        "max_ack_seconds": max(waits) if waits else None,
    }


# --------------------------------------------------------------------------------------
# GDPR
# --------------------------------------------------------------------------------------


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


__all__ = [
    "PUBLIC",
    "WORKER",
    "ProofIn",
    "Registered",
    "SubscriptionCreate",
    "acknowledgement_pdf",
    "contact_winbacks",
    "create_subscription",
    "customer_subscriptions",
    "end_due",
    "erase_customer_data",
    "export_section",
    "get_request",
    "get_subscription",
    "list_requests",
    "list_subscriptions",
    "loyalty_facts",
    "offer_for_token",
    "portal_token",
    "preview",
    "record_outcome",
    "report",
    "request_cancellation",
    "score_of",
    "status_history",
]
