"""JSON routes of the voice of the customer: analyses and their corrections, text analysis on
demand, the CSAT report, and the survey answer by link (no sign-in: the link is the key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from egards.accounts.domain import Permission
from egards.voice import service
from egards.voice.schemas import (
    AnalysisRead,
    AnswerIn,
    CorrectionIn,
    CsatReport,
    InvitationRead,
    NpsReport,
    RootCauses,
    TextAnalysisRead,
    TextIn,
)
from egards.web.deps import CurrentActor, DbSession, Id, now_of

router = APIRouter(prefix="/voice", tags=["voice"])
TOKEN = Path(min_length=10, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")


@router.post("/analyse", response_model=TextAnalysisRead)
def analyse(actor: CurrentActor, data: TextIn) -> TextAnalysisRead:
    """Language, sentiment, churn threat and topic of a text, stored nowhere."""
    actor.require(Permission.CASES_READ)
    result = service.analyse_text(data.text)
    return TextAnalysisRead.model_validate(result, from_attributes=True)


@router.get("/analyses", response_model=list[AnalysisRead])
def list_analyses(
    session: DbSession,
    actor: CurrentActor,
    case_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[AnalysisRead]:
    rows = service.analyses(
        session, actor=actor, case_id=case_id, customer_id=customer_id, limit=limit
    )
    return [AnalysisRead.model_validate(r) for r in rows]


@router.post("/analyses/{analysis_id}/correction", response_model=AnalysisRead)
def correct(
    request: Request, session: DbSession, actor: CurrentActor, analysis_id: Id, data: CorrectionIn
) -> AnalysisRead:
    """An agent's correction of a message's labels, kept for the next training."""
    row = service.correct(
        session, actor=actor, analysis_id=analysis_id, now=now_of(request), **data.model_dump()
    )
    return AnalysisRead.model_validate(row)


@router.get("/csat", response_model=CsatReport)
def csat(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
) -> CsatReport:
    """CSAT (share of 4–5), response rate and NPS overall and by agent, team, channel,
    category and tier."""
    return CsatReport.model_validate(
        service.csat_report(session, actor=actor, days=days, now=now_of(request))
    )


@router.get("/nps", response_model=NpsReport)
def nps(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
) -> NpsReport:
    """The relationship NPS over the waves sent in the last ``days``: overall, by month, by
    language and by loyalty programme (a customer in several counts in each), with
    promoters, passives and detractors."""
    locale = "fr" if getattr(request.state, "locale", "en") == "fr" else "en"
    return NpsReport.model_validate(
        service.nps_report(session, actor=actor, days=days, now=now_of(request), locale=locale)
    )


@router.get("/root-causes", response_model=RootCauses)
def root_causes(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
) -> RootCauses:
    """Per topic: volume, negative share, churn threats, CSAT and volume by month."""
    return RootCauses.model_validate(
        service.root_causes(session, actor=actor, days=days, now=now_of(request))
    )


@router.get("/cases/{case_id}/survey", response_model=InvitationRead | None)
def case_survey(session: DbSession, actor: CurrentActor, case_id: Id) -> InvitationRead | None:
    found = service.case_survey(session, actor=actor, case_id=case_id)
    return None if found is None else InvitationRead.model_validate(found)


@router.post("/surveys/{token}/answer", response_model=InvitationRead)
def answer(
    request: Request, session: DbSession, data: AnswerIn, token: Annotated[str, TOKEN]
) -> InvitationRead:
    """The customer's answer through their link: once, before it expires."""
    found = service.answer_survey(
        session,
        token=token,
        rating=data.rating,
        answers=data.answers,
        comment=data.comment,
        now=now_of(request),
    )
    return InvitationRead.model_validate(found)
