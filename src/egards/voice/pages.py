"""Console pages of the voice of the customer (the CSAT report, panels on the case and the
360, label corrections) and the customer's survey page, opened from the e-mailed link without
signing in."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.errors import DomainError
from egards.features import hooks
from egards.voice import charts, service
from egards.web.deps import CurrentActor, DbSession, Id, now_of
from egards.web.i18n import translate
from egards.web.templating import render

router = APIRouter(include_in_schema=False)
NAV_GROUP = "Analytics"  # the menu group its entries join
NAV = [
    ("/voice/surveys", "Satisfaction", Permission.CASES_SUPERVISE),
    ("/voice/nps", "NPS", Permission.CASES_SUPERVISE),
    ("/voice/root-causes", "Root causes", Permission.CASES_SUPERVISE),
]
TOKEN = Path(min_length=10, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")


@dataclass(frozen=True)
class Panel:
    """A block beside a case or on the 360 (the shape ``customers.pages.Panel`` renders)."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    column: str = "main"


def _locale(request: Request) -> str:
    return "en" if getattr(request.state, "locale", "fr") == "en" else "fr"


@router.get("/voice/surveys")
def report_page(
    request: Request, session: DbSession, actor: CurrentActor, days: int = 365
) -> Response:
    actor.require(Permission.CASES_SUPERVISE)
    days = min(max(days, 1), 3660)
    report = service.csat_report(session, actor=actor, days=days, now=now_of(request))
    return render(request, "voice/report.html", {"report": report, "groups": service.GROUPS})


@router.get("/voice/nps")
def nps_page(
    request: Request, session: DbSession, actor: CurrentActor, days: int = 365
) -> Response:
    actor.require(Permission.CASES_SUPERVISE)
    days = min(max(days, 1), 3660)
    locale = "fr" if getattr(request.state, "locale", "fr") == "fr" else "en"
    report = service.nps_report(session, actor=actor, days=days, now=now_of(request), locale=locale)
    return render(
        request,
        "voice/nps.html",
        {"report": report, "last_wave": service.last_wave_at(session)},
    )


@router.get("/voice/root-causes")
def root_causes_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    days: int = 365,
    topic: str | None = None,
) -> Response:
    days = min(max(days, 1), 3660)
    report = service.root_causes(session, actor=actor, days=days, now=now_of(request))
    messages = (
        [
            (row, service.labels(row))
            for row in service.topic_messages(
                session, actor=actor, topic=topic, days=days, now=now_of(request)
            )
        ]
        if topic
        else []
    )
    peak = max((t["messages"] for t in report["topics"]), default=0) or 1
    locale = _locale(request)
    bars = charts.topic_bars(
        [
            (
                service.topic_label(t["topic"], locale),
                t["messages"],
                t["negative"],
                t["churn_threats"],
            )
            for t in report["topics"]
        ],
        title=translate(locale, "Messages by root cause"),
        legend=(
            translate(locale, "Messages"),
            translate(locale, "Negative"),
            translate(locale, "Churn threats"),
        ),
    )
    busiest = [t for t in report["topics"] if t["messages"]][:5]
    lines = charts.monthly_lines(
        report["months"][-12:],
        [(service.topic_label(t["topic"], locale), t["months"][-12:]) for t in busiest],
        title=translate(locale, "Messages by month, busiest root causes"),
    )
    # The most voted ideas, from the idea box above voice (its ``top_ideas`` hook).
    top = [idea for _, hook in hooks("service", "top_ideas") for idea in hook(session, actor=actor)]
    return render(
        request,
        "voice/root_causes.html",
        {
            "report": report,
            "topic": topic,
            "messages": messages,
            "peak": peak,
            "topic_label": service.topic_label,
            "bars_chart": bars,
            "top_ideas": top[:10],
            "lines_chart": lines,
        },
    )


@router.get("/voice/root-causes.csv")
def root_causes_csv(
    request: Request, session: DbSession, actor: CurrentActor, days: int = 365
) -> Response:
    days = min(max(days, 1), 3660)
    report = service.root_causes(session, actor=actor, days=days, now=now_of(request))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "topic",
            "messages",
            "negative_share",
            "churn_threats",
            "csat",
            "ratings",
            *report["months"],
        ]
    )
    for t in report["topics"]:
        writer.writerow(
            [
                t["topic"],
                t["messages"],
                t["negative_share"],
                t["churn_threats"],
                t["csat"],
                t["ratings"],
                *t["months"],
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="root-causes.csv"'},
    )


@router.post("/voice/analyses/{analysis_id}/correct")
def correct_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    analysis_id: Id,
    sentiment: Annotated[str, Form()] = "",
    topic: Annotated[str, Form()] = "",
    churn_threat: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/cases",
) -> Response:
    service.correct(
        session,
        actor=actor,
        analysis_id=analysis_id,
        sentiment=sentiment or None,
        topic=topic or None,
        language=language or None,
        churn_threat=None if churn_threat == "" else churn_threat == "yes",
        now=now_of(request),
    )
    target = back if back.startswith("/") and not back.startswith("//") else "/cases"
    return RedirectResponse(target, status_code=303)


def _survey_context(invitation: Any, survey: Any, locale: str) -> dict[str, Any]:
    return {
        "invitation": invitation,
        "survey": survey,
        "questions": [
            {"key": q.key, "kind": q.kind, "text": q.text(locale), "choices": q.choices}
            for q in survey.questions
        ],
    }


@router.get("/survey/{token}")
def survey_page(
    request: Request, session: DbSession, token: Annotated[str, TOKEN], rating: int | None = None
) -> Response:
    """The customer's page: the rating their click chose, a comment box and the extra
    questions. Opening it records nothing (mail scanners open links too)."""
    try:
        invitation, survey = service.open_survey(session, token=token, now=now_of(request))
    except DomainError as error:
        return render(request, "voice/survey_closed.html", {"error": error}, status_code=410)
    request.state.locale = invitation.language if invitation.language in ("fr", "en") else "en"
    context = _survey_context(invitation, survey, request.state.locale)
    context.update(token=token, rating=rating if rating in survey.scores else None)
    return render(request, "voice/survey.html", context)


@router.post("/survey/{token}")
async def survey_answer(
    request: Request, session: DbSession, token: Annotated[str, TOKEN]
) -> Response:
    form = await request.form()
    answers = {
        key[2:]: value for key, value in form.items() if key.startswith("q_") and value != ""
    }
    try:
        rating = int(str(form.get("rating", "")))
    except ValueError:
        rating = -1
    try:
        invitation = service.answer_survey(
            session,
            token=token,
            rating=rating,
            answers=answers,
            comment=str(form.get("comment", "")),
            now=now_of(request),
        )
    except DomainError as error:
        return render(request, "voice/survey_closed.html", {"error": error}, status_code=409)
    request.state.locale = invitation.language if invitation.language in ("fr", "en") else "en"
    return render(request, "voice/survey_thanks.html", {"invitation": invitation})


def case_panel(session: Session, actor: Actor, case: Any) -> Panel | None:
    if not actor.can(Permission.CASES_READ):
        return None
    rows = service.analyses(session, actor=actor, case_id=case.id, limit=20)
    invitation = (
        None if actor.is_partner else service.case_survey(session, actor=actor, case_id=case.id)
    )
    return Panel(
        template="voice/_case_panel.html",
        context={
            "analyses": [(row, service.labels(row)) for row in rows],
            "invitation": invitation,
            "case_id": case.id,
            "topics": list(service.TOPIC_LABELS),
            "topic_label": service.topic_label,
        },
        column="side",
    )


def customer_panel(session: Session, actor: Actor, customer: Any) -> Panel | None:
    if not actor.can(Permission.CASES_READ) or actor.is_partner:
        return None
    rows = service.analyses(session, actor=actor, customer_id=customer.id, limit=10)
    surveys = service.customer_surveys(session, actor=actor, customer_id=customer.id, limit=10)
    threats = [(row, service.labels(row)) for row in rows if service.labels(row)["churn_threat"]]
    return Panel(
        template="voice/_customer_panel.html",
        context={
            "analyses": [(row, service.labels(row)) for row in rows],
            "threats": threats,
            "surveys": surveys,
            "topic_label": service.topic_label,
            "describe_threat": service.describe_threat,
        },
        column="main",
    )


case_panels = [case_panel]
customer_panels = [customer_panel]
