"""Offering a gesture: the recommender's proposals and any gesture of the catalogue, the letter
draft, the grant."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.cases import service as cases
from egards.customers import service as customers
from egards.errors import DomainError
from egards.recovery import domain, service
from egards.recovery.pages._common import (
    _cents,
    _int,
    _locale,
    router,
)
from egards.recovery.schemas import GrantCreate
from egards.web.deps import CurrentActor, DbSession, now_of
from egards.web.forms import problem_of, submit, validate
from egards.web.templating import render

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
        context = _offer_again(
            request, session, actor, customer_id, case_id, values, problem_of(request, exc)
        )
        return render(request, "recovery/offer.html", context, status_code=exc.status)

    return await run_in_threadpool(
        submit,
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
