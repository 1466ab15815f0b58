"""The cancellation request: one use case for every channel, with its acknowledgement on a
durable medium and its case in the cancellations queue; reading requests.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.cases import service as cases
from egards.cases.domain import Channel, Priority
from egards.config import Settings
from egards.customers import service as customers
from egards.db import utcnow
from egards.errors import N_, InvalidInput, NotFound, PermissionDenied
from egards.i18n import day, message
from egards.outbox import service as outbox
from egards.subscriptions import acknowledgement as ack
from egards.subscriptions import domain
from egards.subscriptions.domain import RequestStatus, Status
from egards.subscriptions.models import (
    CancellationRequest,
    Subscription,
)
from egards.subscriptions.schemas import CancellationCreate
from egards.subscriptions.service._common import (
    PROOF_TYPES,
    _change_status,
    _offer,
    _record,
    loyalty_facts,
    terms_of,
)
from egards.subscriptions.service.matching import (
    _match,
)
from egards.subscriptions.settings import get_subscriptions_settings


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
            N_("the proof is {size} bytes; the limit is {limit}"),
            field="proof",
            size=len(proof.content),
            limit=max_bytes,
        )
    signatures = PROOF_TYPES.get(declared)
    if signatures is None:
        raise InvalidInput(N_("the proof must be a PDF, PNG or JPEG file"), field="proof")
    if not proof.content.startswith(signatures):
        raise InvalidInput(
            N_("the proof is not the {declared} it claims to be"), field="proof", declared=declared
        )


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
            raise PermissionDenied(N_("partners do not take cancellation requests"))
    now = now or utcnow()
    received = data.received_at or now
    if received > now + timedelta(minutes=5):
        raise InvalidInput(N_("a request cannot be received in the future"), field="received_at")
    config = get_subscriptions_settings()
    _check_proof(proof, config.proof_max_bytes)
    if data.legitimate_reason and proof is None and data.channel in ("web", "portal"):
        raise InvalidInput(
            N_("a legitimate reason needs its proof (a PDF or a picture)"), field="proof"
        )
    if data.channel in ("web", "portal") and not (data.email or data.postal_address):
        raise InvalidInput(
            N_("give an e-mail or a postal address for the acknowledgement"), field="email"
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
        assert subscription is not None, "only a request for a contract stands"
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
        assert subscription is not None, "only a contract can have ended"
        request.end_date = subscription.ends_on
    session.add(request)
    session.flush()
    if open_request is not None:
        open_request.attempts += 1
    offer = None
    if admission.stands:
        assert subscription is not None and plan is not None, "a standing request has both"
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
    channel = message(data.channel)
    if admission.status == RequestStatus.REGISTERED and subscription and request.end_date:
        summary = message(
            N_("Cancellation requested ({channel}) for contract {reference}: ends on {day}"),
            channel=channel,
            reference=subscription.reference,
            day=day(request.end_date),
        )
    elif admission.status == RequestStatus.DUPLICATE and open_request:
        summary = message(
            N_("Second cancellation request ({channel}); the first ({number}) stands"),
            channel=channel,
            number=open_request.number,
        )
    elif admission.status == RequestStatus.ALREADY_ENDED:
        summary = message(
            N_("Cancellation request ({channel}) for a contract already ended"), channel=channel
        )
    else:
        summary = message(N_("Cancellation request ({channel})"), channel=channel)
    _record(
        session,
        actor=actor,
        action=f"subscription.cancellation_{admission.status}",
        entity=("cancellation", request.id),
        customer_id=request.customer_id,
        summary=summary,
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
        raise NotFound(N_("no acknowledgement was sent for this request"), field="request_id")
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
            # The request's number and the contract: the same words in every language (the
            # category, shown beside it, says "cancellation" in the reader's language).
            subject=" – ".join(
                [request.number, *([subscription.reference] if subscription else [])]
            ),
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


def get_request(session: Session, *, actor: Actor, request_id: int) -> CancellationRequest:
    actor.require(Permission.CASES_READ)
    request = session.get(CancellationRequest, request_id)
    if request is None or actor.is_partner:  # what a customer says when leaving is internal
        raise NotFound(
            N_("cancellation request {request_id} not found"),
            field="request_id",
            request_id=request_id,
        )
    if request.customer_id is not None:
        try:
            customers.check_visible(session, actor=actor, customer_id=request.customer_id)
        except NotFound:
            raise NotFound(
                N_("cancellation request {request_id} not found"),
                field="request_id",
                request_id=request_id,
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
        raise PermissionDenied(N_("partners do not see cancellation requests"))
    query = select(CancellationRequest).order_by(CancellationRequest.id.desc())
    if customer_id is not None:
        customers.check_visible(session, actor=actor, customer_id=customer_id)
        query = query.where(CancellationRequest.customer_id == customer_id)
    if case_id is not None:
        query = query.where(CancellationRequest.case_id == case_id)
    return list(session.scalars(query.limit(limit).offset(offset)))
