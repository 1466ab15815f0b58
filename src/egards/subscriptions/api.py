"""JSON routes of subscriptions (thin: parse, call the service, shape)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from egards.subscriptions import service
from egards.subscriptions.schemas import (
    CancellationCreate,
    CancellationRead,
    OutcomeCreate,
    StatusChangeRead,
    SubscriptionCreate,
    SubscriptionRead,
    SubscriptionUpdate,
    SuspensionCreate,
)
from egards.web.deps import CurrentActor, DbSession, Id, now_of

router = APIRouter(tags=["subscriptions"])


@router.get("/subscriptions", response_model=list[SubscriptionRead])
def list_subscriptions(
    session: DbSession,
    actor: CurrentActor,
    customer_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    status: Annotated[str | None, Query(pattern="^(active|notice_given|ended|won_back)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[Any]:
    """Contracts, newest first; of one customer with `customer_id`."""
    return service.list_subscriptions(
        session, actor=actor, customer_id=customer_id, status=status, limit=limit, offset=offset
    )


@router.post("/subscriptions", response_model=SubscriptionRead, status_code=201)
def create_subscription(
    request: Request, session: DbSession, actor: CurrentActor, data: SubscriptionCreate
) -> Any:
    """A signed contract (customers:write)."""
    return service.create_subscription(session, actor=actor, data=data, now=now_of(request))


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionRead)
def get_subscription(session: DbSession, actor: CurrentActor, subscription_id: Id) -> Any:
    return service.get_subscription(session, actor=actor, subscription_id=subscription_id)


@router.patch("/subscriptions/{subscription_id}", response_model=SubscriptionRead)
def update_subscription(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    subscription_id: Id,
    data: SubscriptionUpdate,
) -> Any:
    """A change of plan, price, lines or equipment (customers:write)."""
    return service.update_subscription(
        session,
        actor=actor,
        subscription_id=subscription_id,
        changes=data.model_dump(exclude_unset=True),
        now=now_of(request),
    )


@router.post("/subscriptions/{subscription_id}/suspension", response_model=SubscriptionRead)
def suspend_subscription(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    subscription_id: Id,
    data: SuspensionCreate,
) -> Any:
    """Pause a running contract until ``resumes_on`` (7 days to six months): not billed
    meanwhile, the commitment moves by as many days; the worker resumes it on that day
    (customers:write)."""
    return service.suspend_subscription(
        session, actor=actor, subscription_id=subscription_id, data=data, now=now_of(request)
    )


@router.get("/subscriptions/{subscription_id}/history", response_model=list[StatusChangeRead])
def subscription_history(session: DbSession, actor: CurrentActor, subscription_id: Id) -> Any:
    """The contract's statuses: active, notice given, ended, won back."""
    return service.status_history(session, actor=actor, subscription_id=subscription_id)


@router.get("/cancellations", response_model=list[CancellationRead])
def list_cancellations(
    session: DbSession,
    actor: CurrentActor,
    customer_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    case_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[Any]:
    """Cancellation requests from every channel, newest first."""
    return service.list_requests(
        session, actor=actor, customer_id=customer_id, case_id=case_id, limit=limit, offset=offset
    )


@router.post("/cancellations", response_model=CancellationRead, status_code=201)
def log_cancellation(
    request: Request, session: DbSession, actor: CurrentActor, data: CancellationCreate
) -> Any:
    """A cancellation request taken by an agent (phone, shop, letter, e-mail): the same
    acknowledgement, reason capture and case in the cancellations queue as the public page."""
    registered = service.request_cancellation(
        session,
        actor=actor,
        data=data,
        settings=request.app.state.settings,
        now=now_of(request),
    )
    return registered.request


@router.get("/cancellations/{request_id}", response_model=CancellationRead)
def get_cancellation(session: DbSession, actor: CurrentActor, request_id: Id) -> Any:
    return service.get_request(session, actor=actor, request_id=request_id)


@router.get("/cancellations/{request_id}/acknowledgement.pdf")
def acknowledgement_pdf(session: DbSession, actor: CurrentActor, request_id: Id) -> Response:
    """The acknowledgement sent, as kept (the proof)."""
    name, pdf = service.acknowledgement_pdf(session, actor=actor, request_id=request_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.post("/cancellations/{request_id}/outcome", response_model=CancellationRead)
def record_outcome(
    request: Request, session: DbSession, actor: CurrentActor, request_id: Id, data: OutcomeCreate
) -> Any:
    """Cancelled, stayed with the offer (granted through recovery's budgets), stayed without."""
    return service.record_outcome(
        session,
        actor=actor,
        request_id=request_id,
        outcome=data.outcome,
        note=data.note,
        settings=request.app.state.settings,
        now=now_of(request),
    )


@router.get("/cancellations-report")
def cancellations_report(session: DbSession, actor: CurrentActor) -> dict[str, Any]:
    """Cancellations by reason, channel and month; save rates; win-back; time to acknowledge."""
    return service.report(session, actor=actor)
