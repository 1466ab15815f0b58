"""The catalogue of gestures and the letter templates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.errors import InvalidInput
from egards.i18n import N_
from egards.recovery import letters, service
from egards.recovery.api import CODE, LANG
from egards.recovery.pages._common import (
    _cents,
    _int,
    router,
)
from egards.web.deps import CurrentActor, DbSession
from egards.web.forms import refused, submit
from egards.web.templating import render

# --------------------------------------------------------------------------------------
# The catalogue and the letter templates
# --------------------------------------------------------------------------------------


def _catalogue_context(session: Session, actor: Actor) -> dict[str, Any]:
    actor.require(Permission.RECOVERY_GRANT)
    return {
        "catalogue": service.catalogue(session),
        "letter_templates": service.letter_templates(session),
        "editable": actor.can(Permission.RECOVERY_ADMIN),
        "variables": letters.TEMPLATE_VARIABLES,
        "error": None,
    }


@router.get("/recovery/catalogue")
def catalogue_page(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    context = _catalogue_context(session, actor)
    context["saved"] = request.query_params.get("saved")
    return render(request, "recovery/catalogue.html", context)


NUMBERS = ("amount", "min_amount", "max_amount", "cost_per_thousand_cents", "cost_percent")
NUMBERS += ("valid_days",)


@router.post("/recovery/catalogue/{code}")
async def save_gesture(
    request: Request, session: DbSession, actor: CurrentActor, code: Annotated[str, CODE]
) -> Response:
    form = await request.form()

    def action() -> Any:
        changes: dict[str, Any] = {
            name: str(form.get(name) or "").strip()
            for name in ("name_fr", "name_en", "text_fr", "text_en")
        }
        changes["cost_cents"] = _cents(form.get("cost_euros"), "cost_cents") or 0
        for name in NUMBERS:
            changes[name] = _int(form.get(name), name)
        if changes["cost_percent"] is None:
            changes["cost_percent"] = 100
        changes["active"] = form.get("active") == "on"
        changes["requires_approval"] = form.get("requires_approval") == "on"
        return service.save_gesture_type(
            session, actor=actor, code=code, kind=None, changes=changes
        )

    return await run_in_threadpool(
        submit,
        session,
        action,
        done=lambda _: f"/recovery/catalogue?saved={code}#gesture-{code}",
        again=lambda exc: refused(
            request, "recovery/catalogue.html", _catalogue_context(session, actor), exc, code=code
        ),
    )


@router.post("/recovery/letter-templates/{code}/{language}")
def save_letter_template(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    code: Annotated[str, CODE],
    language: Annotated[str, LANG],
    name: Annotated[str, Form(max_length=200)] = "",
    subject: Annotated[str, Form(max_length=300)] = "",
    body: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:

    def action() -> Any:
        if not name.strip():
            raise InvalidInput(N_("a template needs a name"), field="name")
        return service.save_letter_template(
            session,
            actor=actor,
            code=code,
            language=language,
            name=name.strip(),
            subject=subject,
            body=body,
        )

    return submit(
        session,
        action,
        done=lambda _: f"/recovery/catalogue?saved={code}#template-{code}-{language}",
        again=lambda exc: refused(
            request,
            "recovery/catalogue.html",
            _catalogue_context(session, actor),
            exc,
            template=f"{code}/{language}",
            subject=subject,
            body=body,
        ),
    )
