"""The agent's home: budget, requests, letters to post, signature."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from egards.accounts.domain import Actor, Permission
from egards.customers import service as customers
from egards.recovery import service
from egards.recovery.pages._common import (
    _gesture_names,
    router,
)
from egards.web.deps import CurrentActor, DbSession, Id, now_of
from egards.web.forms import refused, submit
from egards.web.templating import render

# --------------------------------------------------------------------------------------
# The agent's home
# --------------------------------------------------------------------------------------


def _home_context(request: Request, session: Session, actor: Actor) -> dict[str, Any]:
    actor.require(Permission.RECOVERY_GRANT)
    mine = service.list_grants(session, actor=actor, agent_id=actor.user_id, limit=20)
    pending = service.list_grants(
        session, actor=actor, agent_id=actor.user_id, status=service.PENDING, limit=50
    )
    to_post = service.letters_to_post(session, actor=actor)
    ids = {g.customer_id for g in mine + pending} | {x.customer_id for x in to_post}
    return {
        "budgets": service.my_budgets(session, actor=actor, now=now_of(request)),
        "mine": [(g, service.approval_of(session, g.id)) for g in mine],
        "pending": [(g, service.approval_of(session, g.id)) for g in pending],
        "to_post": to_post,
        "names": customers.names(session, ids),
        "gestures": _gesture_names(session),
        "signature": service.signature_of(session, actor=actor),
        "error": None,
        "saved": request.query_params.get("saved"),
    }


@router.get("/recovery")
def home(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    return render(request, "recovery/home.html", _home_context(request, session, actor))


@router.post("/recovery/letters/{letter_id}/posted")
def mark_posted(
    request: Request, session: DbSession, actor: CurrentActor, letter_id: Id
) -> Response:
    return submit(
        session,
        lambda: service.mark_posted(session, actor=actor, letter_id=letter_id),
        done=lambda _: "/recovery?saved=posted#to-post",
        again=lambda exc: refused(
            request, "recovery/home.html", _home_context(request, session, actor), exc
        ),
    )


@router.post("/recovery/signature")
async def save_signature(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    form = await request.form()
    upload = form.get("image")
    image = await upload.read() if isinstance(upload, UploadFile) and upload.filename else None
    title = str(form.get("title") or "")
    return await run_in_threadpool(
        submit,
        session,
        lambda: service.save_signature(session, actor=actor, title=title, image=image),
        done=lambda _: "/recovery?saved=signature#signature",
        again=lambda exc: refused(
            request, "recovery/home.html", _home_context(request, session, actor), exc
        ),
    )
