"""Console pages of cases: the inbox with live SLA timers, the case page, the "no silence"
view, contact logging, reports with charts and CSV, and the panel on the customer 360 page."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from egards.accounts.domain import Actor, Permission
from egards.cases import channels, service
from egards.cases.api import config_of
from egards.cases.domain import (
    CHURN_THREAT_CATEGORIES,
    CaseStatus,
    ChurnBand,
    Priority,
    ValueBand,
    churn_band,
    format_case_number,
    parse_case_number,
    value_band,
)
from egards.cases.intake import CATEGORIES, TEAMS
from egards.cases.labels import case_label
from egards.cases.mail import displayed_html
from egards.cases.schemas import CaseLogCreate
from egards.cases.service import AttachmentIn, CasesConfig, Opened
from egards.customers import service as customers
from egards.customers.service import Customer
from egards.errors import N_, InvalidInput
from egards.features import modules
from egards.i18n import C_, translate, translate_context
from egards.web import csp
from egards.web.deps import CurrentActor, DbSession, Id, csrf_token, now_of
from egards.web.forms import refused, submit, validate
from egards.web.i18n import readable
from egards.web.panels import Panel
from egards.web.templating import render, templates

router = APIRouter(include_in_schema=False)
# The customer 360 panel is rendered by the customers page: the helper must be global.
templates.env.globals["case_label"] = case_label
NAV_GROUP = "Requests"  # the menu that holds the entries below
NAV = [
    ("/cases", "Cases", str(Permission.CASES_READ)),
    ("/no-silence", "No silence", str(Permission.CASES_READ)),
    ("/case-reports", "Case reports", str(Permission.CASES_READ)),
]

# Reply macros (title, text), offered in each language whatever the console's, with the
# greeting and the case's number filled in that language.
MACROS: tuple[tuple[str, str], ...] = (
    (
        C_("reply macro", "Taking it"),
        N_(
            "{greeting}\n\nI am taking care of your request {number} and will come back to"
            " you as soon as possible.\n\nKind regards,"
        ),
    ),
    (
        C_("reply macro", "Asking for details"),
        N_(
            "{greeting}\n\nTo move forward with your request {number}, could you tell us:"
            " \n\nKind regards,"
        ),
    ),
    (
        C_("reply macro", "Resolved"),
        N_(
            "{greeting}\n\nYour request {number} is resolved: \n\nJust reply to this message"
            " if anything is still wrong.\n\nKind regards,"
        ),
    ),
    (
        C_("reply macro", "Apology"),
        N_("{greeting}\n\nPlease accept our apologies for the inconvenience. \n\nKind regards,"),
    ),
)


def greeting(lang: str, name: str | None) -> str:
    """How a reply in ``lang`` greets the customer: by name, else as a letter greets someone
    unnamed ("Dear Sir or Madam," / "Madame, Monsieur,")."""
    if name:
        return translate(lang, "Hello {name},", name=name)
    return translate_context(lang, "salutation", C_("salutation", "Dear Sir or Madam,"))


def macros(*, name: str | None, number: str) -> dict[str, list[tuple[str, str]]]:
    """The reply macros in each language, French first (the house language), greeting
    ``name`` (or nobody by name) about the case ``number``."""
    return {
        lang: [
            (
                translate_context(lang, "reply macro", title),
                translate(lang, text, greeting=greeting(lang, name), number=number),
            )
            for title, text in MACROS
        ]
        for lang in ("fr", "en")
    }


def _hx(request: Request) -> bool:
    return bool(request.headers.get("HX-Request"))


@router.get("/cases")
def inbox(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    view: Annotated[str, Query(pattern="^(mine|team|unassigned|all)$")] = "all",
    team: Annotated[str | None, Query(max_length=40)] = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    team = team or None
    cases, has_more = service.list_cases(
        session, actor=actor, view=view, team=team, limit=50, offset=offset
    )
    context = {
        "cases": cases,
        "has_more": has_more,
        "offset": offset,
        "view": view,
        "team": team or "",
        "teams": TEAMS,
        "names": service.display_names(session, cases),
        "now": now_of(request),
    }
    template = "cases/_inbox_rows.html" if _hx(request) else "cases/inbox.html"
    return render(request, template, context)


@router.get("/no-silence")
def no_silence(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    after: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    now = now_of(request)
    view = service.no_silence(session, actor=actor, now=now, limit=50, after=after or None)
    locale = getattr(request.state, "locale", "fr")
    ids = [row.case.customer_id for row in view.rows]
    context = {
        "view": view,
        "after": after or "",
        "columns": service.customer_columns(session, actor=actor, customer_ids=ids, locale=locale),
        "names": service.display_names(session, [row.case for row in view.rows]),
        "now": now,
        "unreadable": service.unreadable_messages(session, actor=actor, limit=20)
        if actor.can(Permission.CASES_SUPERVISE)
        else [],
    }
    template = "cases/_silence_rows.html" if _hx(request) else "cases/no_silence.html"
    return render(request, template, context)


@router.get("/contact")
def contact_form(request: Request) -> Response:
    """The public contact form: no account needed."""
    csrf_token(request)  # for its language switch, a form like the console's
    return render(
        request, "cases/contact.html", {"sent": None, "values": {}, "categories": CATEGORIES}
    )


@router.post("/contact")
async def contact(request: Request) -> Response:
    from egards.cases.api import web_form_limiter

    now = now_of(request)
    web_form_limiter(request).check(request.client.host if request.client else "unknown", now)
    raw = await request.body()
    try:
        opened = await run_in_threadpool(
            channels.web_form,
            request.app.state.db,
            raw=raw,
            content_type=request.headers.get("content-type", ""),
            config=config_of(request),
            now=now,
        )
    except InvalidInput as exc:
        values = channels.parse_form_body(raw, request.headers.get("content-type", ""))
        context = {
            "sent": None,
            "error": readable(getattr(request.state, "locale", "fr"), exc),
            "values": values,
            "categories": CATEGORIES,
        }
        return render(request, "cases/contact.html", context, status_code=422)
    sent = {
        "number": format_case_number(opened.case.id) if opened else None,
        "acknowledgement": opened.acknowledgement.body_text
        if opened and opened.acknowledgement
        else None,
    }
    return render(request, "cases/contact.html", {"sent": sent, "values": {}})


@router.get("/cases/new")
def new_case_form(
    request: Request, actor: CurrentActor, customer_id: int | None = None
) -> Response:
    actor.require(Permission.CASES_WRITE)
    return render(request, "cases/new.html", _new_case_context(customer_id))


def _new_case_context(customer_id: int | str | None) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "teams": TEAMS,
        "categories": CATEGORIES,
        "priorities": list(Priority),
    }


@router.post("/cases/new")
async def log_contact(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    form = await request.form()
    config, now = config_of(request), now_of(request)
    values = {name: value for name, value in form.items() if isinstance(value, str)}
    scan = form.get("scan")
    if values.get("channel") == "letter" and isinstance(scan, UploadFile) and scan.filename:
        attachment = AttachmentIn(
            filename=scan.filename,
            content_type=scan.content_type or "application/octet-stream",
            content=await scan.read(),
        )
        action = partial(
            channels.letter,
            session,
            actor=actor,
            subject=values.get("subject", ""),
            transcription=values.get("message", ""),
            scan=attachment,
            customer_id=_whole_number(values.get("customer_id"), "customer_id"),
            sender_name=values.get("contact_name") or None,
            category=values.get("category") or None,
            config=config,
            now=now,
        )
    else:
        names = (
            "channel", "customer_id", "contact_name", "contact_phone", "contact_email",
            "subject", "message", "category", "priority", "team", "language",
        )  # fmt: skip
        data: dict[str, Any] = {n: values[n] for n in names if values.get(n)}
        data["answered_on_the_spot"] = values.get("answered_on_the_spot") == "on"

        action = partial(_log_contact, session, actor, data, config, now)

    context = {**_new_case_context(values.get("customer_id")), "values": values}
    return await run_in_threadpool(
        submit,
        session,
        action,
        done=lambda opened: f"/cases/{opened.case.id}",
        again=lambda exc: refused(request, "cases/new.html", context, exc),
    )


def _log_contact(
    session: Session, actor: Actor, data: dict[str, Any], config: CasesConfig, now: datetime
) -> Opened:
    """The console's contact through the API's schema, inside the form's savepoint."""
    return channels.log_contact(
        session, actor=actor, data=validate(CaseLogCreate, data), config=config, now=now
    )


def _whole_number(text: str | None, field: str) -> int | None:
    if not (text or "").strip():
        return None
    try:
        return int(str(text))
    except ValueError:
        raise InvalidInput(N_("must be a whole number"), field=field) from None


@router.get("/cases/{case_id}")
def case_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    images: Annotated[bool, Query(description="Load the messages' remote images.")] = False,
) -> Response:
    case = service.get_case(session, actor=actor, case_id=case_id)
    config, now = config_of(request), now_of(request)
    customer = None
    if case.customer_id:
        try:
            customer = customers.get_customer(session, actor=actor, customer_id=case.customer_id)
        except Exception:  # a partner may see the case but not that file
            customer = None
    suggestions = []
    if case.customer_id is None and actor.can(Permission.CUSTOMERS_READ):
        suggestions = service.suggest_customers(session, actor=actor, case_id=case.id)
    agents = []
    if actor.can(Permission.CASES_SUPERVISE):
        agents = service.assignable_agents(session)
    messages = service.thread(session, actor=actor, case_id=case.id)
    context = {
        "case": case,
        "case_number": format_case_number(case.id),
        "messages": messages,
        "deliveries": service.deliveries(session, messages=messages),
        "bodies": {
            m.id: displayed_html(m.body_html, remote_images=images) for m in messages if m.body_html
        },
        "history": service.status_history(session, actor=actor, case_id=case.id),
        "escalations": service.escalations(session, actor=actor, case_id=case.id),
        "links": service.links(session, actor=actor, case_id=case.id),
        "clocks": service.read_clocks(case, config, now=now),
        "customer": customer,
        "suggestions": suggestions,
        "names": service.display_names(session, [case]),
        "agents": agents,
        "macros": macros(
            name=customer.first_name if customer else case.sender_name,
            number=format_case_number(case.id),
        ),
        "statuses": list(CaseStatus),
        "teams": TEAMS,
        "categories": CATEGORIES,
        "priorities": list(Priority),
        "now": now,
        "can": actor.can,
        "P": Permission,
        "panels": case_panels(session, actor, case),
        **_standing(session, actor, case),
    }
    response = render(request, "cases/case.html", context)
    if images:
        response.headers["Content-Security-Policy"] = csp.REMOTE_IMAGES
    return response


_VALUE_NAMES = {
    ValueBand.NONE: "Not a customer",
    ValueBand.LOW: "Low value",
    ValueBand.MEDIUM: "Medium value",
    ValueBand.HIGH: "High value",
    ValueBand.TOP: "Top value",
}
_CHURN_NAMES = {
    ChurnBand.UNKNOWN: "Not scored",
    ChurnBand.LOW: "Low risk",
    ChurnBand.MEDIUM: "Medium risk",
    ChurnBand.HIGH: "High risk",
}


def _standing(session: Session, actor: Actor, case: Any) -> dict[str, Any]:
    """The sender's live tier, value band and churn risk (not what intake recorded); value
    stays inside the company."""
    if actor.is_partner or case.customer_id is None:
        return {"standing": None}
    standing = service.standing_of(session, case.customer_id)
    threat = (case.category or "").casefold() in CHURN_THREAT_CATEGORIES
    return {
        "standing": standing,
        "value_band_name": _VALUE_NAMES[value_band(standing)],
        "churn_name": _CHURN_NAMES[churn_band(standing.churn_risk, threat=threat)],
    }


def case_panels(session: Session, actor: Actor, case: Any) -> list[Panel]:
    """What other features show beside a case (``pages.case_panels``, like the 360's panels)."""
    panels: list[Panel] = []
    for feature, pages in modules("pages"):
        if feature != "cases":
            for provide in getattr(pages, "case_panels", ()):
                panel = provide(session, actor, case)
                if panel is not None:
                    panels.append(panel)
    return panels


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def download(session: DbSession, actor: CurrentActor, case_id: Id, attachment_id: Id) -> Response:
    from egards.cases.api import attachment_response

    found = service.attachment(session, actor=actor, case_id=case_id, attachment_id=attachment_id)
    return attachment_response(found)


def _back(case_id: int) -> Response:
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/reply")
def reply(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    body: Annotated[str, Form(min_length=1, max_length=20_000)],
    then_status: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    service.reply(
        session,
        actor=actor,
        case_id=case_id,
        body=body,
        then_status=CaseStatus(then_status) if then_status else None,
        config=config_of(request),
        now=now_of(request),
    )
    return _back(case_id)


@router.post("/cases/{case_id}/note")
def note(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    body: Annotated[str, Form(min_length=1, max_length=20_000)],
) -> Response:
    service.add_note(session, actor=actor, case_id=case_id, body=body, now=now_of(request))
    return _back(case_id)


@router.post("/cases/{case_id}/status")
def status(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    target: Annotated[CaseStatus, Form(alias="status")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    service.change_status(
        session,
        actor=actor,
        case_id=case_id,
        target=target,
        reason=reason or None,
        config=config_of(request),
        now=now_of(request),
    )
    return _back(case_id)


@router.post("/cases/{case_id}/assign")
def assign(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    assignee_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    target = actor.user_id if assignee_id == "me" else (int(assignee_id) if assignee_id else None)
    service.assign(session, actor=actor, case_id=case_id, assignee_id=target, now=now_of(request))
    return _back(case_id)


@router.post("/cases/{case_id}/update")
async def update(
    request: Request, session: DbSession, actor: CurrentActor, case_id: Id
) -> Response:
    form = await request.form()
    changes: dict[str, Any] = {}
    for name in ("category", "priority", "team"):
        if name in form:
            changes[name] = str(form[name]) or None
    if "tags" in form:
        changes["tags"] = [t.strip() for t in str(form["tags"]).split(",") if t.strip()]
    if changes.get("priority") is None:
        changes.pop("priority", None)
    if changes.get("team") is None:
        changes.pop("team", None)
    await run_in_threadpool(
        service.update_case,
        session,
        actor=actor,
        case_id=case_id,
        changes=changes,
        config=config_of(request),
        now=now_of(request),
    )
    return _back(case_id)


@router.post("/cases/{case_id}/customer")
def link_customer(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    customer_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
) -> Response:
    service.link_customer(
        session, actor=actor, case_id=case_id, customer_id=customer_id, now=now_of(request)
    )
    return _back(case_id)


@router.post("/cases/{case_id}/links")
def link_case(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    linked_case: Annotated[str, Form(max_length=20)],
    kind: Annotated[str, Form(pattern="^(related|duplicate_of)$")] = "related",
) -> Response:
    service.link_cases(
        session,
        actor=actor,
        case_id=case_id,
        linked_case_id=parse_case_number(linked_case)
        if not linked_case.strip().isdigit()
        else int(linked_case),
        kind=kind,
        now=now_of(request),
    )
    return _back(case_id)


# --------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------


def _report_period(days: int, request: Request) -> tuple[Any, Any]:
    now = now_of(request)
    return now - timedelta(days=days), now + timedelta(seconds=1)


@router.get("/case-reports")
def reports(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    days: Annotated[int, Query(ge=1, le=730)] = 30,
) -> Response:
    now = now_of(request)
    since, until = _report_period(days, request)
    figures = service.report_figures(
        session, actor=actor, since=since, until=until, now=now, backlog_days=min(days, 90)
    )
    context = {"days": days, **figures}
    return render(request, "cases/reports.html", context)


@router.get("/case-reports/export.csv")
def export_csv(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    days: Annotated[int, Query(ge=1, le=730)] = 30,
) -> Response:
    """One row per case opened in the period."""
    since, until = _report_period(days, request)
    rows = service.report_rows(session, actor=actor, since=since, until=until, now=now_of(request))
    buffer = io.StringIO()
    fields = list(rows[0]) if rows else ["number"]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cases-{days}d.csv"'},
    )


# --------------------------------------------------------------------------------------
# Customer 360 panel
# --------------------------------------------------------------------------------------


def cases_panel(session: Session, actor: Actor, customer: Customer) -> Panel | None:
    if not actor.can(Permission.CASES_READ):
        return None
    cases, has_more = service.list_cases(
        session, actor=actor, customer_id=customer.id, include_closed=True, limit=10
    )
    return Panel(
        template="cases/_customer_panel.html",
        context={"cases": cases, "has_more": has_more, "customer_id": customer.id},
        column="main",
    )


customer_panels = [cases_panel]
