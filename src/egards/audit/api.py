from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from egards.audit import service
from egards.features import hooks
from egards.web.deps import CurrentActor, DbSession, Id

router = APIRouter(tags=["audit"])


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_label: str
    action: str
    entity_type: str
    entity_id: str
    customer_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    shared_with_id: int | None = Field(
        description="The organisation this record is shared with; null: internal."
    )


@router.get("/audit", response_model=list[AuditRead])
def audit_trail(
    session: DbSession,
    actor: CurrentActor,
    action: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Any:
    """The global trail, newest first (admins and supervisors)."""
    return service.list_records(
        session, actor=actor, action=action, limit=limit, before_id=before_id
    )


@router.get("/customers/{customer_id}/audit", response_model=list[AuditRead])
def customer_audit(
    session: DbSession,
    actor: CurrentActor,
    customer_id: Id,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Any:
    # The customer file, above this feature, refuses a customer the actor may not see.
    for _feature, check_visible in hooks("service", "check_visible"):
        check_visible(session, actor=actor, customer_id=customer_id)
    return service.list_records(
        session, actor=actor, customer_id=customer_id, limit=limit, before_id=before_id
    )
