"""Pages of subscriptions.

Public, without an account: the cancellation path, three pages and two submits whatever else
happens (the form, the recap with corrections, the confirmation with the acknowledgement). A
retention offer may sit beside it for a holder who came through the portal's signed link, never
as a step. Console: the cancellations queue from every channel, a request's page with value,
reason, proportionate offer and outcome, logging a request taken by phone, in a shop, by
letter or e-mail, the reports with charts, and the panels on the customer 360 and the case.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from egards.accounts.domain import Actor, Permission
from egards.cases.domain import format_case_number
from egards.customers import service as customers
from egards.errors import N_, DomainError, InvalidInput
from egards.subscriptions import domain, service
from egards.subscriptions.acknowledgement import format_day, format_money
from egards.subscriptions.api import now_of
from egards.subscriptions.schemas import CancellationCreate
from egards.web.deps import CurrentActor, DbSession, Id, check_csrf, csrf_token
from egards.web.i18n import translate
from egards.web.templating import render, templates

router = APIRouter(include_in_schema=False)
NAV_GROUP = "Requests"  # the menu group its entries join
NAV = [
    ("/cancellations", "Cancellations", str(Permission.CASES_READ)),
    ("/cancellation-reports", "Cancellation reports", str(Permission.ANALYTICS_READ)),
]
templates.env.globals["subs_money"] = format_money
templates.env.globals["subs_day"] = format_day
templates.env.globals["subs_reason"] = domain.reason_label
templates.env.globals["subs_case"] = format_case_number

FIELDS = (
    "name", "reference", "email", "postal_address", "line_number", "desired_end", "reason",
    "reason_text", "legitimate_reason", "language", "ref_token",
)  # fmt: skip


@dataclass
class Panel:
    """A block on the customer 360 or beside a case (same shape as the customers' Panel)."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    column: str = "main"


def _values(form: Any) -> dict[str, str]:
    return {name: str(form.get(name) or "").strip() for name in FIELDS}


def _parse(values: dict[str, str], channel: str) -> CancellationCreate:
    data = {k: v for k, v in values.items() if k != "ref_token" and v != ""}
    data["channel"] = channel
    try:
        return CancellationCreate.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(
            N_("{where}: {reason}"), field=where, where=where, reason=first["msg"]
        ) from None


def _public_context(request: Request, values: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "values": values,
        "reasons": domain.REASONS,
        "legitimate": domain.LEGITIMATE_REASONS,
        "today": now_of(request).date(),
        **extra,
    }


def _locale_from(request: Request, lang: str | None) -> None:
    if lang in ("fr", "en"):
        request.session["locale"] = lang
        request.state.locale = lang


def _offer_beside(
    session: Session, request: Request, reference: str, token: str
) -> dict[str, Any] | None:
    return service.offer_for_token(
        session,
        settings=request.app.state.settings,
        reference=reference,
        token=token,
        lang=getattr(request.state, "locale", "fr"),
        today=now_of(request).date(),
    )


@router.get("/cancel")
def cancel_form(
    request: Request,
    session: DbSession,
    ref: str | None = None,
    t: str | None = None,
    lang: str | None = None,
) -> Response:
    """Step 1 of 3: « Résilier votre contrat », no account needed."""
    _locale_from(request, lang)
    csrf_token(request)
    values = {name: "" for name in FIELDS}
    values["reference"] = (ref or "")[:60]
    values["ref_token"] = (t or "")[:64]
    values["language"] = getattr(request.state, "locale", "fr")
    offer = _offer_beside(session, request, values["reference"], values["ref_token"])
    return render(
        request, "subscriptions/cancel.html", _public_context(request, values, offer=offer)
    )


@router.post("/cancel/review")
async def cancel_review(request: Request, session: DbSession) -> Response:
    """Step 2 of 3: the recap, where the customer checks and corrects."""
    await check_csrf(request)
    form = await request.form()
    values = _values(form)
    offer = await run_in_threadpool(
        _offer_beside, session, request, values["reference"], values["ref_token"]
    )
    try:
        data = _parse(values, "web")
        if not (data.email or data.postal_address):
            raise InvalidInput(
                N_("give an e-mail or a postal address for the acknowledgement"), field="email"
            )
    except DomainError as exc:
        context = _public_context(request, values, offer=offer, error=exc)
        return render(request, "subscriptions/cancel.html", context, status_code=exc.status)
    if form.get("correct"):
        return render(
            request, "subscriptions/cancel.html", _public_context(request, values, offer=offer)
        )
    found = await run_in_threadpool(
        service.preview, session, data=data, today=now_of(request).date()
    )
    context = _public_context(request, values, offer=offer, data=data, preview=found)
    return render(request, "subscriptions/review.html", context)


@router.post("/cancel/confirm")
async def cancel_confirm(request: Request, session: DbSession) -> Response:
    """Step 3 of 3: « Confirmer ma demande de résiliation » notifies the company; the page
    shows the acknowledgement sent on a durable medium."""
    from egards.cases.api import web_form_limiter

    await check_csrf(request)
    now = now_of(request)
    web_form_limiter(request).check(request.client.host if request.client else "unknown", now)
    form = await request.form()
    values = _values(form)
    upload = form.get("proof")
    proof = None
    if isinstance(upload, UploadFile) and upload.filename:
        proof = service.ProofIn(
            filename=upload.filename,
            content_type=upload.content_type or "application/octet-stream",
            content=await upload.read(),
        )
    channel = "portal" if values["ref_token"] else "web"

    def register() -> service.Registered:
        with session.begin_nested():
            return service.request_cancellation(
                session,
                actor=service.PUBLIC,
                data=_parse(values, channel),
                settings=request.app.state.settings,
                now=now,
                proof=proof,
            )

    try:
        registered = await run_in_threadpool(register)
    except DomainError as exc:
        data = None
        with contextlib.suppress(DomainError):
            data = _parse(values, channel)
        page = "subscriptions/review.html" if data is not None else "subscriptions/cancel.html"
        context = _public_context(request, values, data=data, preview=None, error=exc)
        return render(request, page, context, status_code=exc.status)
    return render(
        request,
        "subscriptions/confirmed.html",
        {"registered": registered, "request_row": registered.request},
    )


# --------------------------------------------------------------------------------------
# Console
# --------------------------------------------------------------------------------------


def _names(session: Session, rows: list[Any]) -> dict[int, str]:
    return customers.names(session, [r.customer_id for r in rows if r.customer_id])


@router.get("/cancellations")
def queue(request: Request, session: DbSession, actor: CurrentActor, offset: int = 0) -> Response:
    """Cancellation requests from every channel, with reasons, offers and outcomes."""
    offset = max(0, min(offset, 1_000_000))
    rows = service.list_requests(session, actor=actor, limit=100, offset=offset)
    return render(
        request,
        "subscriptions/queue.html",
        {"rows": rows, "names": _names(session, rows), "offset": offset},
    )


@router.get("/cancellations/new")
def new_request_form(
    request: Request,
    actor: CurrentActor,
    customer_id: int | None = None,
    case_id: int | None = None,
) -> Response:
    actor.require(Permission.CASES_WRITE)
    return render(
        request,
        "subscriptions/new.html",
        {
            "values": {},
            "reasons": domain.REASONS,
            "legitimate": domain.LEGITIMATE_REASONS,
            "case_id": case_id,
            "customer_id": customer_id,
        },
    )


@router.post("/cancellations/new")
async def log_request(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    """A request taken by an agent: a call, a shop visit, a scanned letter, an e-mail."""
    form = await request.form()
    values = _values(form)
    channel = str(form.get("channel") or "phone")
    case_id = int(str(form["case_id"])) if str(form.get("case_id") or "").isdigit() else None
    scan_upload = form.get("scan")
    scan = None
    if isinstance(scan_upload, UploadFile) and scan_upload.filename:
        scan = service.ProofIn(
            scan_upload.filename,
            scan_upload.content_type or "application/octet-stream",
            await scan_upload.read(),
        )

    def register() -> service.Registered:
        with session.begin_nested():
            return service.request_cancellation(
                session,
                actor=actor,
                data=_parse(values, channel),
                settings=request.app.state.settings,
                now=now_of(request),
                scan=scan,
                case_id=case_id,
            )

    try:
        registered = await run_in_threadpool(register)
    except DomainError as exc:
        context = {
            "values": {**values, "channel": channel},
            "reasons": domain.REASONS,
            "legitimate": domain.LEGITIMATE_REASONS,
            "case_id": case_id,
            "error": exc,
        }
        return render(request, "subscriptions/new.html", context, status_code=exc.status)
    return RedirectResponse(f"/cancellations/{registered.request.id}", status_code=303)


@router.get("/cancellations/{request_id}")
def request_page(
    request: Request, session: DbSession, actor: CurrentActor, request_id: Id
) -> Response:
    row = service.get_request(session, actor=actor, request_id=request_id)
    subscription = customer = score = None
    tier = None
    others: list[Any] = []
    if row.subscription_id:
        subscription = service.get_subscription(
            session, actor=actor, subscription_id=row.subscription_id
        )
    if row.customer_id:
        customer = customers.get_customer(session, actor=actor, customer_id=row.customer_id)
        others = [
            r
            for r in service.list_requests(session, actor=actor, customer_id=row.customer_id)
            if r.id != row.id
        ]
        tier, _points = service.loyalty_facts(session, row.customer_id, request.state.locale)
        score = service.score_of(session, actor=actor, customer_id=row.customer_id)
    return render(
        request,
        "subscriptions/request.html",
        {
            "row": row,
            "subscription": subscription,
            "customer": customer,
            "others": others,
            "tier": tier,
            "score": score,
            "outcomes": list(domain.Outcome),
        },
    )


@router.post("/cancellations/{request_id}/outcome")
async def outcome(
    request: Request, session: DbSession, actor: CurrentActor, request_id: Id
) -> Response:
    form = await request.form()
    chosen = str(form.get("outcome") or "")
    if chosen not in tuple(domain.Outcome):
        raise InvalidInput(N_("unknown outcome {outcome}"), field="outcome", outcome=repr(chosen))

    def record() -> Any:
        with session.begin_nested():
            return service.record_outcome(
                session,
                actor=actor,
                request_id=request_id,
                outcome=chosen,
                note=str(form.get("note") or "")[:300] or None,
                settings=request.app.state.settings,
                now=now_of(request),
            )

    await run_in_threadpool(record)
    return RedirectResponse(f"/cancellations/{request_id}", status_code=303)


@router.get("/cancellation-reports")
def reports(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    figures = service.report(session, actor=actor, lang=request.state.locale)
    charts = {
        "reasons": {
            "labels": [label for _, label, _ in figures["by_reason"]],
            "values": [n for _, _, n in figures["by_reason"]],
        },
        "channels": {
            "labels": [translate(request.state.locale, c) for c, _ in figures["by_channel"]],
            "values": [n for _, n in figures["by_channel"]],
        },
        "months": {
            "labels": [m for m, _ in figures["by_month"]],
            "values": [n for _, n in figures["by_month"]],
        },
        "saves": {
            "labels": [label for _, label, _, _ in figures["save_rate_by_reason"]],
            "values": [
                round(100 * rate) if rate is not None else 0
                for _, _, rate, _ in figures["save_rate_by_reason"]
            ],
        },
    }
    return render(request, "subscriptions/reports.html", {"figures": figures, "charts": charts})


def contracts_panel(session: Session, actor: Actor, customer: Any) -> Panel | None:
    rows = service.customer_subscriptions(session, customer_id=customer.id)
    requests = (
        []
        if actor.is_partner or not actor.can(Permission.CASES_READ)
        else service.list_requests(session, actor=actor, customer_id=customer.id, limit=20)
    )
    if not rows and not requests:
        return None
    return Panel(
        template="subscriptions/_customer_panel.html",
        context={"customer": customer, "rows": rows, "requests": requests},
    )


customer_panels = [contracts_panel]


def cancellation_panel(session: Session, actor: Actor, case: Any) -> Panel | None:
    """Beside a case: its cancellation request, or for a message that reads like one, the way
    to register it (the same request as from the public page)."""
    if actor.is_partner or not actor.can(Permission.CASES_WRITE):
        return None
    linked = service.list_requests(session, actor=actor, case_id=case.id, limit=5)
    looks_like = case.category == "cancellation" or domain.looks_like_cancellation(
        case.subject or ""
    )
    if not linked and not looks_like:
        return None
    return Panel(
        template="subscriptions/_case_panel.html",
        context={"case": case, "linked": linked},
        column="side",
    )


case_panels = [cancellation_panel]
