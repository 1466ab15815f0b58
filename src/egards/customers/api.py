"""JSON routes of the customer file: thin, they parse, call the service and shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from egards.customers import service
from egards.customers.schemas import (
    ConsentCreate,
    ConsentRead,
    CustomerCreate,
    CustomerPage,
    CustomerRead,
    CustomerUpdate,
    EraseRequest,
    IdentityCreate,
    IdentityRead,
    MergeRead,
    MergeRequest,
    NoteCreate,
    NoteRead,
    OrganisationAssign,
    TimelineEventCreate,
    TimelineEventRead,
)
from egards.web.deps import CurrentActor, DbSession, Id, SmallId

router = APIRouter(tags=["customers"])


def _region(request: Request) -> str:
    return request.app.state.settings.default_phone_region


@router.get("/customers", response_model=CustomerPage)
def search_customers(
    session: DbSession,
    actor: CurrentActor,
    request: Request,
    q: Annotated[
        str,
        Query(max_length=200, description="Name prefix, e-mail, phone, loyalty number or @handle"),
    ] = "",
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(active|merged|erased)$")
    ] = "active",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> CustomerPage:
    """Search the customer file; accents and case are ignored, phones match in any format."""
    items, has_more = service.search_customers(
        session,
        actor=actor,
        text=q,
        status=status_,
        limit=limit,
        offset=offset,
        region=_region(request),
    )
    return CustomerPage(
        items=[CustomerRead.model_validate(c) for c in items],
        limit=limit,
        offset=offset,
        has_more=has_more,
    )


@router.post("/customers", response_model=CustomerRead, status_code=status.HTTP_201_CREATED)
def create_customer(
    session: DbSession, actor: CurrentActor, request: Request, data: CustomerCreate
) -> Any:
    """Open a customer file with its identities."""
    return service.create_customer(session, actor=actor, data=data, region=_region(request))


@router.get("/customers/{customer_id}", response_model=CustomerRead)
def get_customer(session: DbSession, actor: CurrentActor, customer_id: Id) -> Any:
    return service.get_customer(session, actor=actor, customer_id=customer_id)


@router.patch("/customers/{customer_id}", response_model=CustomerRead)
def update_customer(
    session: DbSession, actor: CurrentActor, customer_id: Id, data: CustomerUpdate
) -> Any:
    return service.update_customer(session, actor=actor, customer_id=customer_id, data=data)


@router.post(
    "/customers/{customer_id}/identities",
    response_model=IdentityRead,
    status_code=201,
)
def add_identity(
    session: DbSession,
    actor: CurrentActor,
    request: Request,
    customer_id: Id,
    data: IdentityCreate,
) -> Any:
    """Attach an identity; it must not belong to anyone else."""
    return service.add_identity(
        session, actor=actor, customer_id=customer_id, data=data, region=_region(request)
    )


@router.delete("/customers/{customer_id}/identities/{identity_id}", status_code=204)
def remove_identity(
    session: DbSession, actor: CurrentActor, customer_id: Id, identity_id: Id
) -> None:
    service.remove_identity(session, actor=actor, customer_id=customer_id, identity_id=identity_id)


@router.get("/customers/{customer_id}/consents", response_model=list[ConsentRead])
def consent_history(session: DbSession, actor: CurrentActor, customer_id: Id) -> Any:
    """Every consent decision, newest first; a withdrawal is a new entry."""
    return service.consent_history(session, actor=actor, customer_id=customer_id)


@router.post(
    "/customers/{customer_id}/consents",
    response_model=ConsentRead,
    status_code=201,
)
def record_consent(
    session: DbSession, actor: CurrentActor, customer_id: Id, data: ConsentCreate
) -> Any:
    return service.record_consent(session, actor=actor, customer_id=customer_id, data=data)


@router.get("/customers/{customer_id}/timeline", response_model=list[TimelineEventRead])
def timeline(
    session: DbSession,
    actor: CurrentActor,
    customer_id: Id,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    silo: Annotated[str | None, Query(max_length=20)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
) -> Any:
    """Everything that happened with this customer, newest first, from every silo."""
    return service.list_timeline(
        session,
        actor=actor,
        customer_id=customer_id,
        limit=limit,
        before_id=before_id,
        silo=silo,
        channel=channel,
    )


@router.post(
    "/customers/{customer_id}/timeline",
    response_model=TimelineEventRead,
    status_code=201,
)
def add_timeline_event(
    session: DbSession, actor: CurrentActor, customer_id: Id, data: TimelineEventCreate
) -> Any:
    """Record an interaction from any channel or silo (partners write here too)."""
    return service.add_timeline_event(session, actor=actor, customer_id=customer_id, event=data)


@router.get("/customers/{customer_id}/notes", response_model=list[NoteRead])
def notes(session: DbSession, actor: CurrentActor, customer_id: Id) -> Any:
    return service.list_notes(session, actor=actor, customer_id=customer_id)


@router.post("/customers/{customer_id}/notes", response_model=NoteRead, status_code=201)
def add_note(session: DbSession, actor: CurrentActor, customer_id: Id, data: NoteCreate) -> Any:
    """A note on the file: internal unless shared with an organisation assigned to it."""
    return service.add_note(
        session,
        actor=actor,
        customer_id=customer_id,
        body=data.body,
        shared_with=data.shared_with_id,
    )


@router.post("/customers/{customer_id}/organisations", status_code=204)
def assign_organisation(
    session: DbSession, actor: CurrentActor, customer_id: Id, data: OrganisationAssign
) -> None:
    """Give a partner organisation access to this customer."""
    service.assign_organisation(
        session,
        actor=actor,
        customer_id=customer_id,
        organisation_id=data.organisation_id,
        purpose=data.purpose,
    )


@router.post("/customer-merges", response_model=MergeRead, status_code=201)
def merge(session: DbSession, actor: CurrentActor, data: MergeRequest) -> Any:
    """Merge a duplicate into a survivor. Reversible with the unmerge route."""
    return service.merge_customers(
        session,
        actor=actor,
        survivor_id=data.survivor_id,
        merged_id=data.merged_id,
        reason=data.reason,
    )


@router.get("/customers/{customer_id}/merges", response_model=list[MergeRead])
def merges(session: DbSession, actor: CurrentActor, customer_id: Id) -> Any:
    return service.list_merges(session, actor=actor, customer_id=customer_id)


@router.post("/customer-merges/{merge_id}/unmerge", response_model=MergeRead)
def unmerge(session: DbSession, actor: CurrentActor, merge_id: SmallId) -> Any:
    return service.unmerge(session, actor=actor, merge_id=merge_id, reason=None)


@router.get("/customers/{customer_id}/export")
def export(session: DbSession, actor: CurrentActor, customer_id: Id) -> dict[str, Any]:
    """Everything held about one person, as JSON (GDPR access and portability)."""
    return service.export_customer(session, actor=actor, customer_id=customer_id)


@router.post("/customers/{customer_id}/erase", response_model=CustomerRead)
def erase(session: DbSession, actor: CurrentActor, customer_id: Id, data: EraseRequest) -> Any:
    """Erase personal data for good (GDPR art. 17); the erasure itself is recorded."""
    return service.erase_customer(session, actor=actor, customer_id=customer_id, reason=data.reason)
