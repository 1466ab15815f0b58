"""Console pages of service recovery: the panel on a case and on the customer 360, the offer
page (the recommender's three proposals and any gesture of the catalogue), the agent's home
(budget, requests, letters to post, signature), the supervisors' approvals, budgets, returns,
exceptions, events, and the catalogue with its letter templates.

Every write runs inside a savepoint: a refused request (a ``DomainError``) is shown on the
page that was filled in, naming the field, and leaves nothing half-done behind it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from egards.accounts.domain import Actor, Permission
from egards.cases import pages as cases_pages
from egards.cases import service as cases
from egards.cases.domain import format_case_number
from egards.customers import service as customers
from egards.customers.service import Customer
from egards.errors import DomainError, InvalidInput
from egards.recovery import domain, letters, service
from egards.recovery.api import CODE, LANG
from egards.recovery.schemas import EventCreate, GrantCreate
from egards.web.deps import CurrentActor, DbSession, Id, now_of
from egards.web.forms import validate
from egards.web.i18n import translate
from egards.web.panels import Panel
from egards.web.templating import render, templates

router = APIRouter(include_in_schema=False)
NAV = [
    ("/recovery", "Recovery", str(Permission.RECOVERY_GRANT)),
    ("/recovery/approvals", "Approvals", str(Permission.RECOVERY_APPROVE)),
    ("/recovery/returns", "Returns on gestures", str(Permission.RECOVERY_APPROVE)),
]

# English labels of the stable codes (kinds, statuses, reasons); French in translations/fr.json.
LABELS = {
    "letter": "Personal letter",
    "points": "Bonus points",
    "voucher": "Voucher",
    "upgrade": "Upgrade",
    "lounge_pass": "Lounge pass",
    "event_invitation": "Event invitation",
    "credit": "Credit",
    "status_exception": "Status exception",
    "all": "All gestures",
    "granted": "granted",
    "pending": "awaiting approval",
    "rejected": "turned down",
    "approved": "approved",
    "proposed": "proposed",
    "invited": "invited",
    "accepted": "accepted",
    "declined": "declined",
    "attended": "attended",
    "absent": "absent",
    "queued": "queued",
    "posted": "posted",
    "email": "by e-mail",
    "post": "by post",
    "stayed": "stayed",
    "left": "left",
    "unknown": "not known yet",
    "keep": "keep the current tier",
    "restore": "restore the tier lost",
    "broken_promise": "Broken promise",
    "service_failure": "Service failure",
    "downgrade": "Downgrade",
    "repeated_incidents": "Repeated incidents",
    "loyalty_thanks": "Thanks for loyalty",
    "other": "Other",
    "within_budget": "within budget",
    "over_agent_budget": "over the agent's budget",
    "over_team_budget": "over the team's budget",
    "approval_required": "this gesture needs approval",
    "agent": "Agent",
    "team": "Team",
}
# The fields a refusal can name, as the forms call them.
FIELDS = {
    "amount": "Amount",
    "gesture_code": "Gesture",
    "reason_code": "Reason",
    "reason_text": "Why",
    "event_id": "Event",
    "tier_action": "Tier",
    "letter.template_code": "Template",
    "letter.subject": "Subject",
    "letter.body": "Letter",
    "letter.delivery": "Delivery",
    "customer_id": "Customer",
    "case_id": "Case",
    "recommendation_id": "Recommendation",
    "key": "This form",
    "rule": "Rule",
    "why": "Why",
    "remedy": "Remedy",
    "reason": "Reason",
    "approval_id": "Request",
    "exception_id": "Exception",
    "outcome": "Outcome",
    "limit_cents": "Monthly limit (€)",
    "owner": "Agent number or team name",
    "month": "Month",
    "scope": "For",
    "name": "Name",
    "place": "Place",
    "starts_at": "Date and time (Paris)",
    "capacity": "Seats",
    "description": "Description",
    "status": "Status",
    "invitation_id": "Invitation",
    "letter_id": "Letter",
    "title": "Title",
    "image": "Signature (PNG)",
    "user_id": "Signature (PNG)",
    "subject": "Subject",
    "body": "Letter",
    "language": "Language",
    "name_fr": "Name (French)",
    "name_en": "Name (English)",
    "cost_cents": "Cost (€)",
    "min_amount": "Minimum",
    "max_amount": "Maximum",
    "cost_per_thousand_cents": "Cost per 1,000 points (cents)",
    "cost_percent": "Cost as % of the value",
    "valid_days": "Valid for (days)",
    "kind": "Kind",
}
PARIS = ZoneInfo("Europe/Paris")


def recovery_label(code: str | None, locale: str) -> str:
    return translate(locale, LABELS.get(code or "", code or ""))


def recovery_field(field: str | None, locale: str) -> str:
    return translate(locale, FIELDS.get(field or "", field or ""))


def recovery_money(cents: int | float | None, locale: str) -> str:
    return domain.format_money(round(cents or 0), locale)


# Panels are rendered by the case and customer pages: their helpers must be global.
templates.env.globals["recovery_label"] = recovery_label
templates.env.globals["recovery_money"] = recovery_money
templates.env.globals["recovery_field"] = recovery_field
templates.env.globals["case_number"] = format_case_number

T = TypeVar("T")


def _submit(
    session: Session,
    action: Callable[[], T],
    *,
    done: Callable[[T], str],
    again: Callable[[DomainError], Response],
) -> Response:
    """Every console form: ``action`` reads the form and calls the use case in a savepoint, so
    a refusal leaves nothing it flushed in the transaction the unit of work commits; refused,
    ``again(error)`` shows the form again with the field named and the reason; done, the
    browser is sent on to ``done(result)`` (303: a reload does not post the form twice)."""
    try:
        with session.begin_nested():
            result = action()
    except DomainError as exc:
        return again(exc)
    return RedirectResponse(done(result), status_code=303)


def _refused(
    request: Request, page: str, context: dict[str, Any], exc: DomainError, /, **error: Any
) -> Response:
    """The form's page again, with the refusal (field, reason, status) and ``error`` details."""
    context["error"] = {**_problem(exc), **error}
    return render(request, page, context, status_code=exc.status)


def _problem(exc: DomainError) -> dict[str, Any]:
    return {"field": exc.field, "message": exc.message, "status": exc.status}


def _locale(request: Request) -> str:
    return getattr(request.state, "locale", "fr")


def _gesture_names(session: Session) -> dict[str, Any]:
    return {row.code: row for row in service.catalogue(session)}


def _int(value: Any, field: str) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput("must be a whole number", field=field) from None


# Euros as a person types them: "12", "12,50", "1 234.5"; never a float on the way, so no
# "inf", no "1e3", and no third decimal quietly rounded away.
EUROS = re.compile(r"(\d{1,9})(?:[.,](\d{1,2}))?")


def _cents(value: Any, field: str) -> int | None:
    """Euros typed in a form as integer cents (``None`` when left empty): every money field
    of the console is read through here."""
    text = re.sub(r"\s", "", str(value or ""))  # spaces group thousands, in French too
    if not text:
        return None
    found = EUROS.fullmatch(text)
    if found is None:
        raise InvalidInput(
            "must be an amount in euros with at most two decimals, e.g. 12,50", field=field
        )
    return int(Decimal(f"{found.group(1)}.{found.group(2) or 0}") * 100)


# --------------------------------------------------------------------------------------
# The panel on the case page
# --------------------------------------------------------------------------------------


def broken_promises(case: Any) -> list[tuple[str, int]]:
    """The promises of a case that were not kept, as (what, how many times)."""
    found = []
    if case.first_response_breached:
        found.append(("First response late", 1))
    elif case.first_response_breached is None and case.sla_state == "breached":
        found.append(("First response late (still unanswered)", 1))
    if case.next_response_breaches:
        found.append(("Later answers late", case.next_response_breaches))
    if case.resolution_breached:
        found.append(("Resolution late", 1))
    if case.reply_overdue:
        found.append(("The customer's reply went unanswered", 1))
    return found


def case_panel(session: Session, actor: Actor, case: Any) -> Panel | None:
    if not actor.can(Permission.RECOVERY_GRANT) or actor.is_partner:
        return None
    grants = service.list_grants(session, actor=actor, case_id=case.id, limit=50)
    return Panel(
        template="recovery/_case_panel.html",
        context={
            "case": case,
            "broken": broken_promises(case),
            "grants": [(g, service.approval_of(session, g.id)) for g in grants],
            "gestures": _gesture_names(session),
            "exceptions": service.case_exceptions(session, actor=actor, case_id=case.id),
        },
        column="side",
    )


case_panels = [case_panel]


@router.post("/recovery/cases/{case_id}/exceptions")
def propose_exception(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    rule: Annotated[str, Form(max_length=60)] = "",
    why: Annotated[str, Form(max_length=5000)] = "",
    remedy: Annotated[str, Form(max_length=5000)] = "",
) -> Response:

    def again(exc: DomainError) -> Response:
        # The case page again, the form as it was filled in and the refusal beside it.
        request.state.recovery_error = {
            **_problem(exc),
            "values": {"rule": rule, "why": why, "remedy": remedy},
        }
        page = cases_pages.case_page(request, session, actor, case_id)
        page.status_code = exc.status
        return page

    return _submit(
        session,
        lambda: service.propose_exception(
            session, actor=actor, case_id=case_id, rule=rule, why=why, remedy=remedy
        ),
        done=lambda _: f"/cases/{case_id}?recovery=exception#recovery",
        again=again,
    )


# --------------------------------------------------------------------------------------
# The panel on the customer 360
# --------------------------------------------------------------------------------------


def gestures_panel(session: Session, actor: Actor, customer: Customer) -> Panel | None:
    if not actor.can(Permission.RECOVERY_GRANT) or actor.is_partner:
        return None
    grants = service.customer_gestures(session, actor=actor, customer_id=customer.id)
    return Panel(
        template="recovery/_customer_panel.html",
        context={
            "customer": customer,
            "grants": [(g, service.approval_of(session, g.id)) for g in grants[:30]],
            "gestures": _gesture_names(session),
            **service.customer_fulfilment(session, actor=actor, customer_id=customer.id),
        },
        column="main",
    )


customer_panels = [gestures_panel]


# --------------------------------------------------------------------------------------
# Offering a gesture
# --------------------------------------------------------------------------------------


def _default_reason_code(signals: dict[str, Any]) -> str:
    case = signals.get("case") or {}
    if case.get("lost_after_service_failure") or case.get("tier_lost"):
        return "downgrade"
    if case.get("broken_promises"):
        return "broken_promise"
    if case.get("repeated_incidents"):
        return "repeated_incidents"
    return "service_failure" if case.get("category") else "loyalty_thanks"


def _draft(session: Session, actor: Actor, customer_id: int, case_id: int | None, code: str):
    try:
        return service.draft_letter(
            session, actor=actor, customer_id=customer_id, case_id=case_id, template_code=code
        )
    except DomainError:
        return None


def _offer_context(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    customer_id: int,
    case_id: int | None,
    recommendation: Any | None = None,
    gesture: str | None = None,
    values: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    locale = _locale(request)
    customer = customers.get_customer(session, actor=actor, customer_id=customer_id)
    case = cases.get_case(session, actor=actor, case_id=case_id) if case_id else None
    if recommendation is None:
        recommendation = service.recommend(
            session, actor=actor, customer_id=customer_id, case_id=case_id, lang=locale
        )
    catalogue = service.catalogue(session, active_only=True)
    by_code = {row.code: row for row in catalogue}
    values = dict(values or {})
    proposals = recommendation.proposals
    chosen = gesture or values.get("gesture_code") or (proposals[0]["code"] if proposals else "")
    if chosen not in by_code and catalogue:
        chosen = catalogue[0].code
    reasons = {p["code"]: p["reason"].get(locale) or p["reason"].get("en", "") for p in proposals}
    values.setdefault("reason_code", _default_reason_code(recommendation.signals))
    values.setdefault("reason_text", reasons.get(chosen) or "")
    language = customer.preferred_language if customer.preferred_language in ("fr", "en") else "fr"
    letter_templates = [t for t in service.letter_templates(session) if t.language == language]
    template_code = values.get("template_code") or (
        letter_templates[0].code if letter_templates else ""
    )
    draft = None
    if "letter_subject" not in values and template_code:
        draft = _draft(session, actor, customer.id, case_id, template_code)
    return {
        "customer": customer,
        "case": case,
        "recommendation": recommendation,
        "proposals": proposals,
        "reasons": reasons,
        "catalogue": catalogue,
        "by_code": by_code,
        "chosen": chosen,
        "budgets": service.my_budgets(session, actor=actor, now=now_of(request)),
        "events": service.events(session),
        "letter_templates": letter_templates,
        "template_code": template_code,
        "draft": draft,
        "reason_codes": service.REASON_CODES,
        "values": values,
        "error": error,
        "key": values.get("key") or f"console:{secrets.token_hex(12)}",
        "has_email": customers.primary_email(session, customer.id) is not None,
    }


@router.get("/recovery/offer")
def offer_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    customer_id: Annotated[int, Query(ge=1, le=2**63 - 1)],
    case_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    gesture: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    """The recommender's three proposals (recorded), the agent's budgets, any other gesture."""
    actor.require(Permission.RECOVERY_GRANT)
    context = _offer_context(
        request, session, actor, customer_id=customer_id, case_id=case_id, gesture=gesture
    )
    return render(request, "recovery/offer.html", context)


@router.get("/recovery/offer/letter")
def letter_draft(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    customer_id: Annotated[int, Query(ge=1, le=2**63 - 1)],
    template_code: Annotated[str, Query(min_length=1, max_length=60)],
    case_id: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The letter's subject and body drafted from a template (htmx fragment)."""
    draft = service.draft_letter(
        session,
        actor=actor,
        customer_id=customer_id,
        case_id=int(case_id) if case_id.isdigit() else None,
        template_code=template_code,
    )
    return render(request, "recovery/_letter_fields.html", {"draft": draft, "values": {}})


OFFER_FIELDS = ("customer_id", "case_id", "recommendation_id", "gesture_code", "key")


def _grant_data(session: Session, form: Any) -> GrantCreate:
    """The form as the API's ``GrantCreate``, with only what the chosen kind needs."""
    data: dict[str, Any] = {
        name: str(form.get(name) or "").strip() or None for name in OFFER_FIELDS
    }
    data["reason_code"] = str(form.get("reason_code") or "")
    data["reason_text"] = str(form.get("reason_text") or "")
    kind = service.get_gesture_type(session, data["gesture_code"] or "").kind
    if kind in domain.AMOUNT_KINDS:
        if kind == "points":
            data["amount"] = _int(form.get("amount"), "amount")
        else:
            data["amount"] = _cents(form.get("amount_euros"), "amount")
    if kind == "event_invitation":
        data["event_id"] = _int(form.get("event_id"), "event_id")
    if kind == "status_exception":
        data["tier_action"] = str(form.get("tier_action") or "") or None
    if kind == "letter":
        data["letter"] = {
            "template_code": str(form.get("template_code") or ""),
            "subject": str(form.get("letter_subject") or ""),
            "body": str(form.get("letter_body") or ""),
            "delivery": str(form.get("delivery") or "email"),
        }
    data = {k: v for k, v in data.items() if v is not None}
    return validate(GrantCreate, data)


@router.post("/recovery/offer")
async def offer(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    """Grant the gesture (once per form, by its key) and go back to the case or the file."""
    form = await request.form()
    now, sender = now_of(request), request.app.state.settings.mail_from

    def done(row: Any) -> str:
        outcome = "granted" if row.status == service.GRANTED else "pending"
        if row.case_id:
            return f"/cases/{row.case_id}?recovery={outcome}#recovery"
        return f"/customers/{row.customer_id}?recovery={outcome}#gestures"

    def again(exc: DomainError) -> Response:
        values = {name: str(value) for name, value in form.items()}
        customer_id = _int(form.get("customer_id"), "customer_id")
        case_id = _int(form.get("case_id"), "case_id")
        if customer_id is None:
            raise exc
        context = _offer_again(request, session, actor, customer_id, case_id, values, _problem(exc))
        return render(request, "recovery/offer.html", context, status_code=exc.status)

    return await run_in_threadpool(
        _submit,
        session,
        lambda: service.grant(
            session, actor=actor, data=_grant_data(session, form), now=now, sender=sender
        ),
        done=done,
        again=again,
    )


def _offer_again(request, session, actor, customer_id, case_id, values, error) -> dict[str, Any]:
    recommendation = None
    recommendation_id = _int(values.get("recommendation_id"), "recommendation_id")
    if recommendation_id:
        recommendation = service.get_recommendation(
            session, actor=actor, recommendation_id=recommendation_id
        )
    return _offer_context(
        request,
        session,
        actor,
        customer_id=customer_id,
        case_id=case_id,
        recommendation=recommendation,
        values=values,
        error=error,
    )


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
    return _submit(
        session,
        lambda: service.mark_posted(session, actor=actor, letter_id=letter_id),
        done=lambda _: "/recovery?saved=posted#to-post",
        again=lambda exc: _refused(
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
        _submit,
        session,
        lambda: service.save_signature(session, actor=actor, title=title, image=image),
        done=lambda _: "/recovery?saved=signature#signature",
        again=lambda exc: _refused(
            request, "recovery/home.html", _home_context(request, session, actor), exc
        ),
    )


# --------------------------------------------------------------------------------------
# Approvals
# --------------------------------------------------------------------------------------


def _approvals_context(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    actor.require(Permission.RECOVERY_APPROVE)
    pending = service.approvals(session, actor=actor)
    decided = service.approvals(session, actor=actor, status="approved") + service.approvals(
        session, actor=actor, status="rejected"
    )
    decided.sort(key=lambda pair: pair[0].decided_at or pair[0].requested_at, reverse=True)
    decided = decided[:30]
    ids = {grant.customer_id for _, grant in pending + decided}
    return {
        "pending": pending,
        "decided": decided,
        "names": customers.names(session, ids),
        "gestures": _gesture_names(session),
        "now": now,
        "error": None,
    }


@router.get("/recovery/approvals")
def approvals_page(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    context = _approvals_context(session, actor, now_of(request))
    context["done"] = request.query_params.get("done")
    return render(request, "recovery/approvals.html", context)


@router.post("/recovery/approvals/{approval_id}")
def decide(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    approval_id: Id,
    decision: Annotated[str, Form(pattern="^(approve|refuse)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    done = "approved" if decision == "approve" else "rejected"
    return _submit(
        session,
        lambda: service.decide(
            session,
            actor=actor,
            approval_id=approval_id,
            approve=decision == "approve",
            reason=reason,
            sender=request.app.state.settings.mail_from,
            now=now_of(request),
        ),
        done=lambda _: f"/recovery/approvals?done={done}",
        again=lambda exc: _refused(
            request,
            "recovery/approvals.html",
            _approvals_context(session, actor, now_of(request)),
            exc,
            approval_id=approval_id,
        ),
    )


# --------------------------------------------------------------------------------------
# Budgets
# --------------------------------------------------------------------------------------


def _budgets_context(
    request: Request, session: Session, actor: Actor, month: str | None, filters: dict[str, Any]
) -> dict[str, Any]:
    actor.require(Permission.RECOVERY_APPROVE)
    month = month or service.month_now(now_of(request))
    used = service.consumption(session, actor=actor, month=month)
    grants = service.list_grants(
        session,
        actor=actor,
        month=month,
        team=filters.get("team") or None,
        agent_id=filters.get("agent_id") or None,
        kind=filters.get("kind") or None,
        status=filters.get("status") or None,
    )
    teams = sorted({*cases.TEAMS, "general", *(t["name"] for t in used["teams"])})
    return {
        "month": month,
        "used": used,
        "grants": grants,
        "filters": filters,
        "names": customers.names(session, {g.customer_id for g in grants}),
        "gestures": _gesture_names(session),
        "kinds": domain.KINDS,
        "teams": teams,
        "error": None,
        "values": {},
        "saved": request.query_params.get("saved"),
        "chart": {
            "agents": [a["name"] for a in used["agents"]],
            "agent_spent": [a["budget"].spent_cents / 100 for a in used["agents"]],
            "agent_limit": [a["budget"].limit_cents / 100 for a in used["agents"]],
            "teams": [t["name"] for t in used["teams"]],
            "team_spent": [t["budget"].spent_cents / 100 for t in used["teams"]],
            "team_limit": [t["budget"].limit_cents / 100 for t in used["teams"]],
            "kinds": [recovery_label(k["kind"], _locale(request)) for k in used["kinds"]],
            "kind_cost": [k["cost_cents"] / 100 for k in used["kinds"]],
        },
    }


MONTH = Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


@router.get("/recovery/budgets")
def budgets_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    month: Annotated[str | None, MONTH] = None,
    team: Annotated[str, Query(max_length=40)] = "",
    agent_id: Annotated[str, Query(max_length=12)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """Consumption by agent and team for a month, and the gestures granted, with filters."""
    filters = {
        "team": team,
        "agent_id": int(agent_id) if agent_id.isdigit() else None,
        "kind": kind,
        "status": status,
    }
    return render(
        request, "recovery/budgets.html", _budgets_context(request, session, actor, month, filters)
    )


@router.post("/recovery/budgets")
def set_budget(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    scope: Annotated[str, Form(max_length=10)] = "",
    owner: Annotated[str, Form(max_length=60)] = "",
    month: Annotated[str, Form(max_length=7)] = "",
    limit_euros: Annotated[str, Form(max_length=20)] = "",
) -> Response:

    def action() -> Any:
        limit = _cents(limit_euros, "limit_cents")
        if limit is None:
            raise InvalidInput("give the monthly limit in euros", field="limit_cents")
        return service.set_budget(
            session, actor=actor, scope=scope, owner=owner.strip(), month=month, limit_cents=limit
        )

    def again(exc: DomainError) -> Response:
        good_month = month if len(month) == 7 and month[4] == "-" else None
        context = _budgets_context(request, session, actor, good_month, {})
        context["values"] = {"scope": scope, "owner": owner, "limit_euros": limit_euros}
        return _refused(request, "recovery/budgets.html", context, exc)

    return _submit(
        session, action, done=lambda _: f"/recovery/budgets?month={month}&saved=1", again=again
    )


# --------------------------------------------------------------------------------------
# Returns on gestures
# --------------------------------------------------------------------------------------


@router.get("/recovery/returns")
def returns_page(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    """Cost by kind, retention and spend after, against matched cases with no gesture."""
    report = service.returns(session, actor=actor)
    locale = _locale(request)
    kinds = report.kinds
    chart = {
        "labels": [recovery_label(k.kind, locale) for k in kinds],
        "cost": [k.cost_cents / 100 for k in kinds],
        "stayed_treated": [round(100 * k.stayed_treated, 1) for k in kinds],
        "stayed_control": [round(100 * k.stayed_control, 1) for k in kinds],
        "spend_treated": [round(k.spend_180_treated_cents / 100, 2) for k in kinds],
        "spend_control": [round(k.spend_180_control_cents / 100, 2) for k in kinds],
    }
    return render(
        request,
        "recovery/returns.html",
        {
            "report": report,
            "chart": chart,
            "followed": service.recommendation_stats(session, actor=actor),
        },
    )


# --------------------------------------------------------------------------------------
# Exceptions to the rules
# --------------------------------------------------------------------------------------


def _exceptions_context(session: Session, actor: Actor, status: str, rule: str) -> dict[str, Any]:
    rows = service.exceptions(session, actor=actor, status=status or None, rule=rule or None)
    report = service.exception_report(session, actor=actor)
    return {
        "rows": rows,
        "report": report,
        "rules": [r["rule"] for r in report],
        "status": status,
        "rule": rule,
        "names": customers.names(session, {r.customer_id for r in rows if r.customer_id}),
        "error": None,
    }


@router.get("/recovery/exceptions")
def exceptions_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    status: Annotated[str, Query(pattern="^(|proposed|approved|rejected)$")] = "",
    rule: Annotated[str, Query(max_length=60)] = "",
) -> Response:
    context = _exceptions_context(session, actor, status, rule)
    return render(request, "recovery/exceptions.html", context)


@router.post("/recovery/exceptions/{exception_id}/decision")
def decide_exception(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    exception_id: Id,
    decision: Annotated[str, Form(pattern="^(approve|refuse)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _submit(
        session,
        lambda: service.decide_exception(
            session,
            actor=actor,
            exception_id=exception_id,
            approve=decision == "approve",
            reason=reason,
        ),
        done=lambda _: f"/recovery/exceptions#exception-{exception_id}",
        again=lambda exc: _exception_refused(request, session, actor, exc, exception_id),
    )


def _exception_refused(
    request: Request, session: Session, actor: Actor, exc: DomainError, exception_id: int
) -> Response:
    """The exceptions page again, with the refused decision's or outcome's reason."""
    return _refused(
        request,
        "recovery/exceptions.html",
        _exceptions_context(session, actor, "", ""),
        exc,
        exception_id=exception_id,
    )


@router.post("/recovery/exceptions/{exception_id}/outcome")
def exception_outcome(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    exception_id: Id,
    outcome: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _submit(
        session,
        lambda: service.record_exception_outcome(
            session,
            actor=actor,
            exception_id=exception_id,
            outcome=outcome,
            note=note,
        ),
        done=lambda _: f"/recovery/exceptions#exception-{exception_id}",
        again=lambda exc: _exception_refused(request, session, actor, exc, exception_id),
    )


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
        return _refused(request, "recovery/events.html", context, exc)

    return await run_in_threadpool(
        _submit, session, action, done=lambda _: "/recovery/events", again=again
    )


def _local_moment(text: str) -> datetime:
    """A date and time typed in the console, in Paris time unless it says otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("must be a date and time", field="starts_at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


@router.post("/recovery/invitations/{invitation_id}")
def update_invitation(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    invitation_id: Id,
    status: Annotated[str, Form(max_length=20)],
) -> Response:
    return _submit(
        session,
        lambda: service.update_invitation(
            session, actor=actor, invitation_id=invitation_id, status=status
        ),
        done=lambda row: f"/recovery/events#event-{row.event_id}",
        again=lambda exc: _refused(
            request,
            "recovery/events.html",
            _events_context(session, actor),
            exc,
            invitation_id=invitation_id,
        ),
    )


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
        _submit,
        session,
        action,
        done=lambda _: f"/recovery/catalogue?saved={code}#gesture-{code}",
        again=lambda exc: _refused(
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
            raise InvalidInput("a template needs a name", field="name")
        return service.save_letter_template(
            session,
            actor=actor,
            code=code,
            language=language,
            name=name.strip(),
            subject=subject,
            body=body,
        )

    return _submit(
        session,
        action,
        done=lambda _: f"/recovery/catalogue?saved={code}#template-{code}-{language}",
        again=lambda exc: _refused(
            request,
            "recovery/catalogue.html",
            _catalogue_context(session, actor),
            exc,
            template=f"{code}/{language}",
            subject=subject,
            body=body,
        ),
    )
