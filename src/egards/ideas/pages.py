"""Console pages of the idea box: the list (by status and category, most voted first) and an
idea's page, where a supervisor sets the status, answers publicly, merges a duplicate and
hides what breaks the rules."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from egards.accounts.domain import Permission
from egards.errors import NotFound
from egards.i18n import N_, pick_locale
from egards.ideas import domain, service
from egards.voice.settings import get_voice_settings
from egards.web.deps import CurrentActor, DbSession, Id, now_of
from egards.web.templating import render

router = APIRouter(include_in_schema=False)
NAV_GROUP = "Customers"  # the menu group its entries join
NAV = [("/ideas", "Idea box", Permission.CASES_READ)]


def _shown(request: Request) -> dict:
    """What every idea page shares: the reader's locale and how it shows a title."""
    locale = pick_locale(getattr(request.state, "locale", None))
    return {"ideas_locale": locale, "title_of": partial(service.shown_title, locale=locale)}


@router.get("/ideas")
def ideas_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    status: str | None = None,
    category: str | None = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    status = status if status in (*domain.STATUSES, domain.MERGED) else None
    category = category if category in service.categories() else None
    rows = service.list_ideas(session, actor=actor, status=status, category=category, tag=tag)
    return render(
        request,
        "ideas/list.html",
        {
            "ideas": rows,
            "status": status,
            "category": category,
            "statuses": (*domain.STATUSES, domain.MERGED),
            "categories": service.categories(),
            "tag": tag,
            "tags": service.tags_in_use(session, actor=actor),
            **_shown(request),
        },
    )


@router.get("/public/ideas")
def public_list(request: Request, session: DbSession, category: str | None = None) -> Response:
    """The idea box for anyone, without signing in, when ``EGARDS_VOICE_PUBLIC_IDEAS`` is on
    (off: 404): what signed-in customers see, read-only, and never who proposed an idea."""
    settings = getattr(request.app.state, "voice_settings", None) or get_voice_settings()
    if not settings.public_ideas:
        raise NotFound(N_("the public idea list is not open"))
    category = category if category in service.categories() else None
    response = render(
        request,
        "ideas/public.html",
        {
            "ideas": service.public_ideas(session, category=category),
            "category": category,
            "categories": service.categories(),
            **_shown(request),
        },
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/ideas/{idea_id}")
def idea_page(request: Request, session: DbSession, actor: CurrentActor, idea_id: Id) -> Response:
    idea = service.get_idea(session, actor=actor, idea_id=idea_id)
    others = [
        i for i in service.list_ideas(session, actor=actor, include_hidden=False) if i.id != idea.id
    ]
    return render(
        request,
        "ideas/idea.html",
        {
            "idea": idea,
            "others": [i for i in others if i.status != domain.MERGED],
            "statuses": domain.STATUSES,
            "categories": service.categories(),
            **_shown(request),
            "voter_count": len(service.voters(session, idea.id)),
            "comments": service.list_comments(session, actor=actor, idea_id=idea.id),
        },
    )


@router.post("/ideas/{idea_id}/status")
def status_form(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    idea_id: Id,
    status: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=1000)] = "",
    answer: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    service.set_status(
        session,
        actor=actor,
        idea_id=idea_id,
        status=status,
        reason=reason or None,
        answer=answer or None,
        now=now_of(request),
    )
    return RedirectResponse(f"/ideas/{idea_id}", status_code=303)


@router.post("/ideas/{idea_id}/tags")
def tags_form(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    idea_id: Id,
    tags: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The tags as typed, separated by commas."""
    service.set_tags(
        session, actor=actor, idea_id=idea_id, tags=tags.split(","), now=now_of(request)
    )
    return RedirectResponse(f"/ideas/{idea_id}", status_code=303)


@router.post("/ideas/{idea_id}/merge")
def merge_form(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    idea_id: Id,
    into_id: Annotated[int, Form(ge=1, le=2**62)],
) -> Response:
    target = service.merge(
        session, actor=actor, idea_id=idea_id, into_id=into_id, now=now_of(request)
    )
    return RedirectResponse(f"/ideas/{target.id}", status_code=303)


@router.post("/ideas/{idea_id}/hide")
def hide_form(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    idea_id: Id,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    service.hide(session, actor=actor, idea_id=idea_id, reason=reason, now=now_of(request))
    return RedirectResponse(f"/ideas/{idea_id}", status_code=303)


@router.post("/ideas/{idea_id}/comments/{comment_id}/hide")
def hide_comment_form(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    idea_id: Id,
    comment_id: Id,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    service.hide_comment(
        session,
        actor=actor,
        idea_id=idea_id,
        comment_id=comment_id,
        reason=reason,
        now=now_of(request),
    )
    return RedirectResponse(f"/ideas/{idea_id}#comment-{comment_id}", status_code=303)
