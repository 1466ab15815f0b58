"""The customer's own space (``/my``) and the staff's queue of privacy requests.

The portal session lives in a cookie of its own (``egards_portal``, path ``/my``, HttpOnly),
whose secret is looked up in ``portal_sessions``: the console and the API never read it, and
the console's session cookie never signs a customer in. Forms carry the CSRF token of the
shared cookie session, as the console's do (``web.deps.check_csrf``). The survey and idea
pages live in ``survey_pages`` and ``idea_pages``; this router includes them, so the
application (and the isolation walk over ``router.routes``) sees one portal router.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from egards.accounts.domain import Permission
from egards.cases import service as cases
from egards.cases.intake import CATEGORIES
from egards.cases.service import AttachmentIn
from egards.customers import service as customers
from egards.customers.domain import CONSENT_CHANNELS, CONSENT_PURPOSES
from egards.errors import DomainError
from egards.features import modules
from egards.i18n import N_
from egards.loyalty import service as loyalty
from egards.portal import common, idea_pages, service, survey_pages
from egards.portal.common import COOKIE, COOKIE_PATH, LABELS, Me
from egards.portal.domain import LinkRefused, SlidingWindow, TooManyRequests, safe_next
from egards.portal.settings import PortalSettings, get_portal_settings
from egards.web.deps import CurrentActor, DbSession, Id, check_csrf
from egards.web.i18n import readable
from egards.web.panels import PortalPanel
from egards.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(survey_pages.router)
router.include_router(idea_pages.router)
NAV_GROUP = "Customers"  # the menu group its entries join
NAV = [("/privacy-requests", "Privacy requests", str(Permission.GDPR_EXPORT))]


def _settings(request: Request) -> PortalSettings:
    return getattr(request.app.state, "portal_settings", None) or get_portal_settings()


def _key(request: Request) -> bytes:
    return request.app.state.settings.resolved_secret_key.encode()


def _mail_from(request: Request) -> str:
    return request.app.state.settings.mail_from


def _client_limiter(request: Request) -> SlidingWindow:
    limiter = getattr(request.app.state, "portal_client_limiter", None)
    if limiter is None:
        settings = _settings(request)
        limiter = request.app.state.portal_client_limiter = SlidingWindow(
            settings.links_per_client, timedelta(minutes=settings.rate_window_minutes)
        )
    return limiter


# --------------------------------------------------------------------------------------
# Signing in and out
# --------------------------------------------------------------------------------------


@router.get("/my/sign-in")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    return common.page(request, "portal/sign_in.html", {"next": safe_next(next), "sent": False})


@router.post("/my/sign-in")
async def ask_for_link(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form(max_length=320)],
    loyalty_number: Annotated[str | None, Form(max_length=40)] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    await check_csrf(request)
    now = common.now(request)
    client = request.client.host if request.client else "unknown"
    if not _client_limiter(request).allow(client, now):
        raise TooManyRequests(N_("too many sign-in requests from here; try again in a few minutes"))
    await run_in_threadpool(
        partial(
            service.request_link,
            session,
            email=email,
            loyalty_number=(loyalty_number or "").strip() or None,
            key=_key(request),
            settings=_settings(request),
            mail_from=_mail_from(request),
            now=now,
        )
    )
    # The same answer whether the address is known, unknown, limited or refused.
    context = {"next": safe_next(next), "sent": True, "minutes": _settings(request).link_minutes}
    return common.page(request, "portal/sign_in.html", context)


@router.get("/my/link/{token}")
def link_page(request: Request, session: DbSession, token: str) -> Response:
    """Opening the link only shows a button: mail scanners that follow links must not use
    the single use up."""
    try:
        service.check_link(session, token=token, key=_key(request), now=common.now(request))
    except LinkRefused:
        return common.page(request, "portal/link.html", {"token": None}, status_code=410)
    return common.page(request, "portal/link.html", {"token": token})


@router.post("/my/link")
async def use_link(
    request: Request, session: DbSession, token: Annotated[str, Form(max_length=200)]
) -> Response:
    await check_csrf(request)
    if previous := request.cookies.get(COOKIE):  # a new sign-in ends this browser's last one
        await run_in_threadpool(
            partial(service.end_session, session, secret=previous, now=common.now(request))
        )
    try:
        secret = await run_in_threadpool(
            partial(
                service.redeem_link,
                session,
                token=token,
                key=_key(request),
                settings=_settings(request),
                now=common.now(request),
            )
        )
    except LinkRefused:
        return common.page(request, "portal/link.html", {"token": None}, status_code=410)
    response = RedirectResponse("/my", status_code=303)
    response.set_cookie(
        COOKIE,
        secret,
        max_age=_settings(request).session_hours * 3600,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
    )
    return response


@router.post("/my/sign-out")
async def sign_out(request: Request, session: DbSession) -> Response:
    await check_csrf(request)
    if secret := request.cookies.get(COOKIE):
        await run_in_threadpool(
            partial(service.end_session, session, secret=secret, now=common.now(request))
        )
    response = RedirectResponse("/my/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@router.post("/my/locale")
async def switch_locale(
    request: Request,
    locale: Annotated[str, Form(pattern="^(en|fr)$")],
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    await check_csrf(request)
    request.session["locale"] = locale
    return RedirectResponse(safe_next(next), status_code=303)


# --------------------------------------------------------------------------------------
# Overview, loyalty
# --------------------------------------------------------------------------------------


def contributed_panels(session: Session, customer_id: int, locale: str) -> list[PortalPanel]:
    """What other features show the customer, through their ``portal.panels``."""
    found = []
    for _, module in modules("portal"):
        for make in getattr(module, "panels", ()):
            panel = make(session, customer_id, locale)
            if panel is not None:
                found.append(panel)
    return sorted(found, key=lambda p: (p.order, p.key))


@router.get("/my")
def overview(request: Request, session: DbSession, me: Me) -> Response:
    locale = request.state.locale
    my_cases = service.my_cases(session, customer_id=me.id)
    return common.page(
        request,
        "portal/overview.html",
        {
            "me": me.me,
            "cards": service.loyalty_cards(session, customer_id=me.id, lang=locale),
            "open_cases": [c for c in my_cases if c.status not in ("resolved", "closed")],
            "promise": service.promise,
            "panels": contributed_panels(session, me.id, locale),
        },
    )


@router.get("/my/loyalty")
def loyalty_page(request: Request, session: DbSession, me: Me) -> Response:
    locale = request.state.locale
    return common.page(
        request,
        "portal/loyalty.html",
        {"me": me.me, "cards": service.loyalty_cards(session, customer_id=me.id, lang=locale)},
    )


@router.get("/my/loyalty/{member_id}/statement")
def statement_page(
    request: Request,
    session: DbSession,
    me: Me,
    member_id: Id,
    currency: Annotated[str | None, Query(max_length=20)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    member, lines = service.statement(
        session,
        customer_id=me.id,
        member_id=member_id,
        currency=currency,
        kind=kind,
        start=start,
        end=end,
    )
    programme = loyalty.get_programme(member.programme)
    return common.page(
        request,
        "portal/statement.html",
        {
            "me": me.me,
            "member": member,
            "programme": programme,
            "lines": lines,
            "filters": {"currency": currency or "", "kind": kind or "", "start": start, "end": end},
            "kinds": ("earn", "redemption", "goodwill", "expiry", "reversal"),
        },
    )


# --------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------


async def _files(form: Any) -> list[AttachmentIn]:
    files = []
    for item in form.getlist("attachments"):
        if isinstance(item, UploadFile) and item.filename:
            files.append(
                AttachmentIn(
                    filename=item.filename,
                    content_type=item.content_type or "application/octet-stream",
                    content=await item.read(),
                )
            )
    return files


@router.get("/my/requests")
def requests_page(request: Request, session: DbSession, me: Me) -> Response:
    return common.page(
        request,
        "portal/requests.html",
        {
            "me": me.me,
            "cases": service.my_cases(session, customer_id=me.id),
            "promise": service.promise,
        },
    )


@router.get("/my/requests/new")
def new_request_form(request: Request, me: Me) -> Response:
    return common.page(
        request,
        "portal/new_request.html",
        {"me": me.me, "categories": CATEGORIES, "values": {}, "error": None},
    )


@router.post("/my/requests/new")
async def new_request(request: Request, session: DbSession, me: Me) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("subject", "message", "category")}
    try:
        opened = await run_in_threadpool(
            partial(
                service.open_request,
                session,
                customer_id=me.id,
                subject=values["subject"],
                body=values["message"],
                category=values["category"] if values["category"] in CATEGORIES else None,
                attachments=await _files(form),
                language=request.state.locale,
                config=cases.config_from_settings(request.app.state.settings),
                now=common.now(request),
            )
        )
    except DomainError as exc:
        context = {
            "me": me.me,
            "categories": CATEGORIES,
            "values": values,
            "error": readable(request.state.locale, exc),
        }
        return common.page(request, "portal/new_request.html", context, status_code=422)
    return RedirectResponse(f"/my/requests/{opened.case.id}?sent=1", status_code=303)


@router.get("/my/requests/{case_id}")
def request_page(
    request: Request, session: DbSession, me: Me, case_id: Id, sent: bool = False
) -> Response:
    case, messages = service.conversation(session, customer_id=me.id, case_id=case_id)
    return common.page(
        request,
        "portal/request.html",
        {
            "me": me.me,
            "case": case,
            "messages": messages,
            "promise": service.promise(case),
            "sent": sent,
            "error": None,
            "limit_mb": request.app.state.settings.max_attachment_bytes // 1_000_000,
        },
    )


@router.post("/my/requests/{case_id}/reply")
async def reply(request: Request, session: DbSession, me: Me, case_id: Id) -> Response:
    form = await request.form()
    opened = await run_in_threadpool(
        partial(
            service.reply,
            session,
            customer_id=me.id,
            case_id=case_id,
            body=str(form.get("message") or ""),
            attachments=await _files(form),
            config=cases.config_from_settings(request.app.state.settings),
            now=common.now(request),
        )
    )
    return RedirectResponse(f"/my/requests/{opened.case.id}?sent=1", status_code=303)


@router.get("/my/requests/{case_id}/attachments/{attachment_id}")
def attachment(
    request: Request, session: DbSession, me: Me, case_id: Id, attachment_id: Id
) -> Response:
    found = service.attachment(
        session, customer_id=me.id, case_id=case_id, attachment_id=attachment_id
    )
    return Response(
        found.content,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{_ascii(found.filename)}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def _ascii(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in name)[:120] or "file"


# --------------------------------------------------------------------------------------
# Consents, my data
# --------------------------------------------------------------------------------------


@router.get("/my/consents")
def consents_page(request: Request, session: DbSession, me: Me, saved: bool = False) -> Response:
    return common.page(
        request,
        "portal/consents.html",
        {
            "me": me.me,
            "current": service.consents(session, customer_id=me.id),
            "purposes": CONSENT_PURPOSES,
            "channels": [c for c in CONSENT_CHANNELS if c != "any"],
            "saved": saved,
        },
    )


@router.post("/my/consents")
async def change_consents(request: Request, session: DbSession, me: Me) -> Response:
    form = await request.form()
    current = service.consents(session, customer_id=me.id)
    now = common.now(request)
    for purpose in CONSENT_PURPOSES:
        for channel in CONSENT_CHANNELS:
            if channel == "any":
                continue
            wanted = form.get(f"{purpose}:{channel}") == "on"
            known = current.get((purpose, channel))
            if known is None and not wanted:
                continue  # never asked, still not given: nothing to record
            if known is None or known.granted != wanted:
                service.change_consent(
                    session,
                    customer_id=me.id,
                    purpose=purpose,
                    channel=channel,
                    granted=wanted,
                    now=now,
                )
    return RedirectResponse("/my/consents?saved=1", status_code=303)


@router.get("/my/data")
def data_page(request: Request, session: DbSession, me: Me, asked: bool = False) -> Response:
    return common.page(
        request,
        "portal/data.html",
        {
            "me": me.me,
            "requests": service.my_privacy_requests(session, customer_id=me.id),
            "asked": asked,
            "error": None,
        },
    )


@router.get("/my/data/export.json")
def download_export(request: Request, session: DbSession, me: Me) -> Response:
    bundle = service.export(session, customer_id=me.id)
    return Response(
        json.dumps(bundle, ensure_ascii=False, indent=2, default=str),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/my/data/requests")
async def ask_privacy(
    request: Request,
    session: DbSession,
    me: Me,
    kind: Annotated[str, Form(max_length=20)],
    details: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        service.ask_privacy(
            session,
            customer_id=me.id,
            kind=kind,
            details=details,
            mail_from=_mail_from(request),
            now=common.now(request),
        )
    except DomainError as exc:
        context = {
            "me": me.me,
            "requests": service.my_privacy_requests(session, customer_id=me.id),
            "asked": False,
            "error": readable(request.state.locale, exc),
        }
        return common.page(request, "portal/data.html", context, status_code=422)
    return RedirectResponse("/my/data?asked=1", status_code=303)


# --------------------------------------------------------------------------------------
# The staff's queue of privacy requests (console)
# --------------------------------------------------------------------------------------


@router.get("/privacy-requests")
def privacy_queue(
    request: Request, session: DbSession, actor: CurrentActor, all: bool = False
) -> Response:
    rows = service.privacy_queue(session, actor=actor, include_closed=all)
    names = customers.names(session, {r.customer_id for r in rows})
    return render(
        request,
        "portal/privacy_queue.html",
        {
            "rows": rows,
            "names": names,
            "all": all,
            "today": common.now(request).date(),
            "labels": LABELS,
        },
    )


@router.post("/privacy-requests/{request_id}/extend")
def extend(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    request_id: Id,
    reason: Annotated[str, Form(max_length=2000)],
) -> Response:
    service.extend_privacy(
        session,
        actor=actor,
        request_id=request_id,
        reason=reason,
        mail_from=_mail_from(request),
        now=common.now(request),
    )
    return RedirectResponse("/privacy-requests", status_code=303)


@router.post("/privacy-requests/{request_id}/decide")
def decide(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    request_id: Id,
    decision: Annotated[str, Form(pattern="^(done|refused)$")],
    outcome: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    service.decide_privacy(
        session,
        actor=actor,
        request_id=request_id,
        done=decision == "done",
        outcome=outcome,
        mail_from=_mail_from(request),
        now=common.now(request),
    )
    return RedirectResponse("/privacy-requests", status_code=303)
