"""Console pages of the loyalty engine: the programme's rules, and the member panel on the 360."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.customers.service import Customer
from egards.loyalty import service
from egards.web.deps import CurrentActor, DbSession, Id
from egards.web.panels import Panel
from egards.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [("/loyalty", "Loyalty", Permission.LOYALTY_READ)]


@router.get("/loyalty")
def programmes_page(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    actor.require(Permission.LOYALTY_READ)
    counts: dict[str, dict[str, int]] = {}
    for programme, tier, count in service.tier_counts(session):
        counts.setdefault(programme, {})[tier] = count
    return render(
        request,
        "loyalty/programmes.html",
        {"programmes": service.programmes().values(), "counts": counts},
    )


def member_panel(session: Session, actor: Actor, customer: Customer) -> Panel | None:
    if not actor.can(Permission.LOYALTY_READ):
        return None
    members = service.members_of(session, customer_id=customer.id)
    cards = []
    for member in members:
        programme = service.get_programme(member.programme)
        progress = service.progress(member)
        next_threshold = (
            programme.tier(progress["next_tier"]).threshold if progress["next_tier"] else None
        )
        cards.append(
            {
                "member": member,
                "programme": programme,
                "tier": programme.tier(member.tier),
                "progress": progress,
                "percent": min(100, round(100 * member.counter / next_threshold))
                if next_threshold
                else 100,
                "balances": service.balances(session, member=member),
                "explanation": {
                    lang: service.explain_member(
                        session, actor=actor, member_id=member.id, lang=lang
                    )
                    for lang in ("en", "fr")
                },
                "statement": service.statement(session, actor=actor, member_id=member.id, limit=12),
                "history": service.tier_history(session, member_id=member.id)[:5],
            }
        )
    joined = {m.programme for m in members}
    available = [p for code, p in service.programmes().items() if code not in joined]
    return Panel(
        template="loyalty/_member_panel.html",
        context={"cards": cards, "available": available, "customer": customer},
    )


customer_panels = [member_panel]


@router.post("/customers/{customer_id}/loyalty/enrol")
def enrol(
    session: DbSession,
    actor: CurrentActor,
    customer_id: Id,
    programme: Annotated[str, Form(max_length=40)],
) -> Response:
    service.enrol(session, actor=actor, customer_id=customer_id, programme_code=programme)
    return RedirectResponse(f"/customers/{customer_id}#loyalty", status_code=303)


@router.post("/loyalty/members/{member_id}/tier-exception")
def tier_exception(
    session: DbSession,
    actor: CurrentActor,
    member_id: Id,
    tier: Annotated[str, Form(max_length=40)],
    justification: Annotated[str, Form(min_length=10, max_length=2000)],
) -> Response:
    member = service.change_tier_by_exception(
        session, actor=actor, member_id=member_id, tier=tier, justification=justification
    )
    return RedirectResponse(f"/customers/{member.customer_id}#loyalty", status_code=303)
