"""Events and invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.customers import service as customers
from egards.errors import DomainError, InvalidInput
from egards.i18n import N_
from egards.recovery import service
from egards.recovery.pages._common import (
    PARIS,
    router,
)
from egards.recovery.schemas import EventCreate
from egards.web.deps import CurrentActor, DbSession, Id
from egards.web.forms import refused, submit, validate
from egards.web.templating import render

# --------------------------------------------------------------------------------------
# Events and invitations
# --------------------------------------------------------------------------------------


def _events_context(session: Session, actor: Actor) -> dict[str, Any]:
    actor.require(Permission.RECOVERY_GRANT)
    rows = service.events(session)
    invitations = {e.id: service.invitations(session, actor=actor, event_id=e.id) for e in rows}
    ids = {i.customer_id for found in invitations.values() for i in found}
    return {
        "events": rows,
        "invitations": invitations,
        "names": customers.names(session, ids),
        "moves": service.INVITATION_MOVES,
        "error": None,
        "values": {},
    }


@router.get("/recovery/events")
def events_page(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    return render(request, "recovery/events.html", _events_context(session, actor))


@router.post("/recovery/events")
async def create_event(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        name: str(form.get(name) or "").strip() for name in EventCreate.model_fields
    }

    def action() -> Any:
        if values["starts_at"]:
            values["starts_at"] = _local_moment(values["starts_at"])
        data = validate(EventCreate, {k: v for k, v in values.items() if v != ""})
        return service.create_event(session, actor=actor, **data.model_dump())

    def again(exc: DomainError) -> Response:
        context = _events_context(session, actor)
        context["values"] = {name: str(value) for name, value in form.items()}
        return refused(request, "recovery/events.html", context, exc)

    return await run_in_threadpool(
        submit, session, action, done=lambda _: "/recovery/events", again=again
    )


def _local_moment(text: str) -> datetime:
    """A date and time typed in the console, in Paris time unless it says otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(N_("must be a date and time"), field="starts_at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


@router.post("/recovery/invitations/{invitation_id}")
def update_invitation(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    invitation_id: Id,
    status: Annotated[str, Form(max_length=20)],
) -> Response:
    return submit(
        session,
        lambda: service.update_invitation(
            session, actor=actor, invitation_id=invitation_id, status=status
        ),
        done=lambda row: f"/recovery/events#event-{row.event_id}",
        again=lambda exc: refused(
            request,
            "recovery/events.html",
            _events_context(session, actor),
            exc,
            invitation_id=invitation_id,
        ),
    )
