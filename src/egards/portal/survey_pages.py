"""Surveys answered in the customer's own space (``/my/surveys``), under the same rules as the
e-mailed link (``voice.service``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from egards.errors import DomainError
from egards.portal import common
from egards.portal.common import Me
from egards.voice import service as voice
from egards.web.deps import DbSession, Id

router = APIRouter(include_in_schema=False)


def _survey_page(
    request: Request, invitation: Any, survey: Any, error: str | None, status_code: int = 200
) -> Response:
    locale = request.state.locale
    questions = [
        {"key": q.key, "kind": q.kind, "text": q.text(locale), "choices": q.choices}
        for q in survey.questions
    ]
    context = {"invitation": invitation, "survey": survey, "questions": questions, "error": error}
    return common.page(request, "portal/survey.html", context, status_code=status_code)


@router.get("/my/surveys/{invitation_id}")
def survey_page(request: Request, session: DbSession, me: Me, invitation_id: Id) -> Response:
    invitation, survey = voice.survey_for_customer(
        session, customer_id=me.id, invitation_id=invitation_id, now=common.now(request)
    )
    return _survey_page(request, invitation, survey, None)


@router.post("/my/surveys/{invitation_id}")
async def answer_survey(
    request: Request, session: DbSession, me: Me, invitation_id: Id
) -> Response:
    form = await request.form()
    answers = {k[2:]: str(v) for k, v in form.items() if k.startswith("q_") and v != ""}
    try:
        rating = int(str(form.get("rating", "")))
    except ValueError:
        rating = -1
    now = common.now(request)
    try:
        await run_in_threadpool(
            partial(
                voice.answer_for_customer,
                session,
                customer_id=me.id,
                invitation_id=invitation_id,
                rating=rating,
                answers=answers,
                comment=str(form.get("comment", "")),
                now=now,
            )
        )
    except DomainError as exc:
        invitation, survey = voice.survey_for_customer(
            session, customer_id=me.id, invitation_id=invitation_id, now=now
        )
        return _survey_page(request, invitation, survey, exc.template, status_code=422)
    return RedirectResponse("/my?answered=1", status_code=303)
