"""The panels recovery adds to the case page and the customer 360 page, and the exception proposed
from a case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.cases import pages as cases_pages
from egards.customers.service import Customer
from egards.errors import DomainError
from egards.recovery import service
from egards.recovery.pages._common import (
    _gesture_names,
    router,
)
from egards.web.deps import CurrentActor, DbSession, Id
from egards.web.forms import problem_of, submit
from egards.web.panels import Panel

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
            **problem_of(request, exc),
            "values": {"rule": rule, "why": why, "remedy": remedy},
        }
        page = cases_pages.case_page(request, session, actor, case_id)
        page.status_code = exc.status
        return page

    return submit(
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
