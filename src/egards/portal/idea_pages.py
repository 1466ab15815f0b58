"""The idea box in the customer's own space (``/my/ideas``): propose, vote, comment, see
where each idea stands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from egards.errors import Conflict, DomainError, InvalidInput
from egards.ideas import service as ideas
from egards.portal import common
from egards.portal.common import Customer, Me
from egards.web.deps import DbSession, Id

router = APIRouter(include_in_schema=False)


def _ideas_page(
    request: Request,
    session: Session,
    me: Customer,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    category = request.query_params.get("category") or None
    context = {
        "me": me.me,
        "ideas": ideas.public_ideas(
            session, category=category if category in ideas.categories() else None
        ),
        "voted": ideas.voted_by(session, customer_id=me.id),
        "categories": ideas.categories(),
        "open_categories": ideas.categories_for(session, me.id),
        "category": category,
        "values": values or {},
        "error": error,
        "proposed": request.query_params.get("proposed") == "1",
    }
    return common.page(request, "portal/ideas.html", context, status_code=status_code)


@router.get("/my/ideas")
def ideas_page(request: Request, session: DbSession, me: Me) -> Response:
    return _ideas_page(request, session, me)


@router.post("/my/ideas")
def propose_idea(
    request: Request,
    session: DbSession,
    me: Me,
    title: Annotated[str, Form(max_length=400)] = "",
    body: Annotated[str, Form(max_length=8000)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    values = {"title": title, "body": body, "category": category}
    try:
        idea = ideas.propose(
            session,
            customer_id=me.id,
            title=title,
            body=body,
            category=category,
            language=request.state.locale,
            now=common.now(request),
        )
    except DomainError as exc:
        return _ideas_page(request, session, me, values=values, error=exc.template, status_code=422)
    return RedirectResponse(f"/my/ideas?proposed=1#idea-{idea.id}", status_code=303)


@router.post("/my/ideas/{idea_id}/vote")
def vote_idea(request: Request, session: DbSession, me: Me, idea_id: Id) -> Response:
    try:
        ideas.vote(session, customer_id=me.id, idea_id=idea_id, now=common.now(request))
    except Conflict as exc:  # voted already, or closed: said on the list (unknown: 404)
        return _ideas_page(request, session, me, error=exc.template, status_code=409)
    return RedirectResponse(f"/my/ideas#idea-{idea_id}", status_code=303)


def _idea_page(
    request: Request,
    session: Session,
    me: Customer,
    idea_id: int,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    status_code: int = 200,
) -> Response:
    idea = ideas.visible_idea(session, idea_id)  # hidden or merged: 404
    context = {
        "me": me.me,
        "idea": idea,
        "comments": ideas.public_comments(session, idea_id=idea.id),
        "me_id": me.id,
        "voted": ideas.voted_by(session, customer_id=me.id),
        "categories": ideas.categories(),
        "values": values or {},
        "error": error,
        "error_field": error_field,
    }
    return common.page(request, "portal/idea.html", context, status_code=status_code)


@router.get("/my/ideas/{idea_id}")
def idea_page(request: Request, session: DbSession, me: Me, idea_id: Id) -> Response:
    return _idea_page(request, session, me, idea_id)


@router.post("/my/ideas/{idea_id}/comments")
def comment_idea(
    request: Request,
    session: DbSession,
    me: Me,
    idea_id: Id,
    body: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        comment = ideas.add_comment(
            session, customer_id=me.id, idea_id=idea_id, body=body, now=common.now(request)
        )
    except InvalidInput as exc:  # unknown or hidden idea: NotFound, answered 404
        return _idea_page(
            request,
            session,
            me,
            idea_id,
            values={"body": body},
            error=exc.template,
            error_field=exc.field,
            status_code=422,
        )
    return RedirectResponse(f"/my/ideas/{idea_id}#comment-{comment.id}", status_code=303)
