"""Console pages shared by every feature: sign in and out, language, the audit trail."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from egards.accounts import service as accounts
from egards.audit import service as audit
from egards.errors import NotAuthenticated
from egards.web.deps import CurrentActor, DbSession, check_csrf, csrf_token
from egards.web.i18n import N_
from egards.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a link send agents elsewhere after login.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/customers"


@router.get("/")
def home() -> Response:
    return RedirectResponse("/customers", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    csrf_token(request)
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    await check_csrf(request)
    try:
        # In the thread pool: a database wait must not hold up the event loop.
        user = await run_in_threadpool(
            partial(accounts.authenticate, session, email=email, password=password)
        )
        secret = await run_in_threadpool(partial(accounts.start_session, session, user=user))
    except NotAuthenticated:
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": N_("Wrong e-mail or password"), "email": email},
            status_code=401,
        )
    locale = request.session.get("locale") or user.locale
    request.session.clear()  # a fresh session on login: no fixation
    request.session.update({"sid": secret, "locale": locale})
    csrf_token(request)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, session: DbSession) -> Response:
    await check_csrf(request)
    if secret := request.session.get("sid"):
        await run_in_threadpool(partial(accounts.end_session, session, secret=str(secret)))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/locale")
async def switch_locale(
    request: Request,
    locale: Annotated[str, Form(pattern="^(en|fr)$")],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    await check_csrf(request)
    request.session["locale"] = locale
    return RedirectResponse(_safe_next(next), status_code=303)


@router.get("/audit")
def audit_page(
    request: Request, session: DbSession, actor: CurrentActor, before_id: int | None = None
) -> Response:
    records = audit.list_records(session, actor=actor, limit=100, before_id=before_id)
    return render(request, "audit.html", {"records": records})
