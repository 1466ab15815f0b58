"""Supervisors' pages: approvals, budgets, returns on gestures, exceptions to the rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.cases import service as cases
from egards.cases.labels import case_label
from egards.customers import service as customers
from egards.errors import DomainError, InvalidInput
from egards.i18n import N_
from egards.recovery import domain, service
from egards.recovery.pages._common import (
    _cents,
    _gesture_names,
    _locale,
    recovery_label,
    router,
)
from egards.web.deps import CurrentActor, DbSession, Id, now_of
from egards.web.forms import refused, submit
from egards.web.templating import render

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
    return submit(
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
        again=lambda exc: refused(
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
            "teams": [case_label(t["name"], _locale(request)) for t in used["teams"]],
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
            raise InvalidInput(N_("give the monthly limit in euros"), field="limit_cents")
        return service.set_budget(
            session, actor=actor, scope=scope, owner=owner.strip(), month=month, limit_cents=limit
        )

    def again(exc: DomainError) -> Response:
        good_month = month if len(month) == 7 and month[4] == "-" else None
        context = _budgets_context(request, session, actor, good_month, {})
        context["values"] = {"scope": scope, "owner": owner, "limit_euros": limit_euros}
        return refused(request, "recovery/budgets.html", context, exc)

    return submit(
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
    return submit(
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
    return refused(
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
    return submit(
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
