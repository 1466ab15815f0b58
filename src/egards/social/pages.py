"""Console pages of the social feature: the link review queue (evidence first, the score
only after the decision), the influence-vs-value page (a scatter drawn server-side, the
silent loyal and the loud tourists, CSV export), and the customer 360's social panel."""

from __future__ import annotations

import csv
import io
import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.customers import service as customers
from egards.db import utcnow
from egards.social import service
from egards.social.domain import is_loud_tourist, is_silent_loyal
from egards.web.deps import CurrentActor, DbSession, Id
from egards.web.panels import Panel
from egards.web.templating import render

router = APIRouter()


NAV_GROUP = "Customers"  # the menu group its entries join
NAV = [
    ("/social/reviews", "Link review", Permission.CUSTOMERS_WRITE),
    ("/social/influence", "Influence vs value", Permission.ANALYTICS_READ),
    ("/social/duplicates", "Duplicates", Permission.CUSTOMERS_MERGE),
]
LOUD_FOLLOWERS = 10_000
QUIET_FOLLOWERS = 500


@router.get("/social/reviews")
def reviews(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    pending = service.review_queue(session, actor=actor)
    profiles = {p.id: service.profile(session, p.profile_id) for p in pending}
    names = customers.names(session, {p.customer_id for p in pending})
    return render(
        request,
        "social/reviews.html",
        {
            "pending": pending,
            "profiles": profiles,
            "names": names,
            "model": service.current_model(session),
            "may_retrain": actor.can(Permission.CASES_SUPERVISE) and not actor.is_partner,
        },
    )


@router.post("/social/reviews/retrain")
def retrain(session: DbSession, actor: CurrentActor) -> Response:
    service.retrain(session, actor=actor, now=utcnow())
    return RedirectResponse("/social/reviews", status_code=303)


@router.post("/social/reviews/{link_id}")
def decide(
    session: DbSession,
    actor: CurrentActor,
    link_id: Id,
    decision: Annotated[str, Form(pattern="^(accept|reject)$")],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    service.decide_review(
        session,
        actor=actor,
        link_id=link_id,
        accept=decision == "accept",
        reason=reason or None,
        now=utcnow(),
    )
    return RedirectResponse("/social/reviews", status_code=303)


@router.get("/social/duplicates")
def duplicates(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    pending = service.duplicates_queue(session, actor=actor)
    ids = {d.customer_a for d in pending} | {d.customer_b for d in pending}
    return render(
        request,
        "social/duplicates.html",
        {"pending": pending, "names": customers.names(session, ids)},
    )


@router.post("/social/duplicates/{duplicate_id}")
def decide_duplicate(
    session: DbSession,
    actor: CurrentActor,
    duplicate_id: Id,
    decision: Annotated[str, Form(pattern="^(merge|distinct)$")],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    service.decide_duplicate(
        session,
        actor=actor,
        duplicate_id=duplicate_id,
        merge=decision == "merge",
        reason=reason or None,
        now=utcnow(),
    )
    return RedirectResponse("/social/duplicates", status_code=303)


def _scatter(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Points of an SVG scatter: audience (log scale) across, lifetime value up."""
    top = max((r["clv_cents"] or 0 for r in rows), default=0) or 1
    points = []
    for r in rows:
        x = 40 + 540 * min(math.log10(1 + r["followers"]) / 7, 1.0)
        y = 260 - 240 * ((r["clv_cents"] or 0) / top)
        points.append({**r, "x": round(x, 1), "y": round(y, 1)})
    return points


def _groups(rows: list[dict[str, Any]]) -> tuple[list, list]:
    silent = [
        r
        for r in rows
        if r["customer_id"]
        and is_silent_loyal(
            followers=r["followers"], value_decile=r["value_decile"], max_followers=QUIET_FOLLOWERS
        )
    ]
    loud = [
        r
        for r in rows
        if is_loud_tourist(
            followers=r["followers"], value_decile=r["value_decile"], min_followers=LOUD_FOLLOWERS
        )
    ]
    return silent, loud


@router.get("/social/influence")
def influence(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    rows = service.influence_vs_value(session, actor=actor)
    silent, loud = _groups(rows)
    return render(
        request,
        "social/influence.html",
        {"points": _scatter(rows), "silent": silent, "loud": loud},
    )


@router.get("/social/influence.csv")
def influence_csv(session: DbSession, actor: CurrentActor) -> Response:
    rows = service.influence_vs_value(session, actor=actor)
    silent, loud = _groups(rows)
    marks = {id(r): "silent_loyal" for r in silent} | {id(r): "loud_tourist" for r in loud}
    out = io.StringIO()
    columns = ["network", "handle", "followers", "customer_id", "clv_cents", "value_decile"]
    writer = csv.writer(out)
    writer.writerow([*columns, "group"])
    for r in rows:
        writer.writerow(
            [*(r[c] if r[c] is not None else "" for c in columns), marks.get(id(r), "")]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="influence-vs-value.csv"'},
    )


def social_panel(session: Session, actor: Actor, customer: Any) -> Panel | None:
    """On the 360: the customer's profiles and audience, beside value (analytics' panel)."""
    if actor.is_partner:
        return None
    profiles = service.profiles_of(session, actor=actor, customer_id=customer.id)
    return Panel(
        template="social/_customer_panel.html",
        context={"profiles": profiles, "customer": customer},
        column="side",
    )


customer_panels = [social_panel]
