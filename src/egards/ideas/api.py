"""JSON routes of the idea box for the staff: the list, one idea, its status and public
answer, merging a duplicate and hiding, its comments and hiding one (customers propose, vote
and comment from the portal)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from egards.ideas import service
from egards.ideas.schemas import (
    CommentIn,
    CommentRead,
    HideIn,
    IdeaRead,
    MergeIn,
    StatusIn,
    TagsIn,
)
from egards.web.deps import CurrentActor, DbSession, Id, now_of

router = APIRouter(prefix="/ideas", tags=["ideas"])


@router.get("", response_model=list[IdeaRead])
def list_ideas(
    session: DbSession,
    actor: CurrentActor,
    status: Annotated[str | None, Query(max_length=20, pattern=r"^[a-z_]+$")] = None,
    category: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z0-9_]+$")] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[IdeaRead]:
    """Ideas, most voted first (hidden and merged ones included, flagged), by status,
    category or tag."""
    rows = service.list_ideas(
        session, actor=actor, status=status, category=category, tag=tag, limit=limit
    )
    return [IdeaRead.model_validate(r) for r in rows]


@router.get("/{idea_id}", response_model=IdeaRead)
def get_idea(session: DbSession, actor: CurrentActor, idea_id: Id) -> IdeaRead:
    return IdeaRead.model_validate(service.get_idea(session, actor=actor, idea_id=idea_id))


@router.post("/{idea_id}/status", response_model=IdeaRead)
def set_status(
    request: Request, session: DbSession, actor: CurrentActor, idea_id: Id, data: StatusIn
) -> IdeaRead:
    """A new status (a refusal says why) and a public answer; the proposer and the voters
    are told by e-mail when the status changes."""
    idea = service.set_status(
        session,
        actor=actor,
        idea_id=idea_id,
        status=data.status,
        reason=data.reason,
        answer=data.answer,
        now=now_of(request),
    )
    return IdeaRead.model_validate(idea)


@router.put("/{idea_id}/tags", response_model=IdeaRead)
def set_tags(
    request: Request, session: DbSession, actor: CurrentActor, idea_id: Id, data: TagsIn
) -> IdeaRead:
    """The staff's tags of an idea, replaced as a whole; lower case, at most 10."""
    idea = service.set_tags(
        session, actor=actor, idea_id=idea_id, tags=data.tags, now=now_of(request)
    )
    return IdeaRead.model_validate(idea)


@router.post("/{idea_id}/merge", response_model=IdeaRead)
def merge(
    request: Request, session: DbSession, actor: CurrentActor, idea_id: Id, data: MergeIn
) -> IdeaRead:
    """Merge a duplicate into another idea: its votes move there; answers the target."""
    target = service.merge(
        session, actor=actor, idea_id=idea_id, into_id=data.into_id, now=now_of(request)
    )
    return IdeaRead.model_validate(target)


@router.post("/{idea_id}/hide", response_model=IdeaRead)
def hide(
    request: Request, session: DbSession, actor: CurrentActor, idea_id: Id, data: HideIn
) -> IdeaRead:
    """Moderation: out of the customers' list, with a reason kept for the staff."""
    idea = service.hide(
        session, actor=actor, idea_id=idea_id, reason=data.reason, now=now_of(request)
    )
    return IdeaRead.model_validate(idea)


@router.get("/{idea_id}/comments", response_model=list[CommentRead])
def list_comments(session: DbSession, actor: CurrentActor, idea_id: Id) -> list[CommentRead]:
    """An idea's comments, oldest first (hidden ones included, flagged)."""
    rows = service.list_comments(session, actor=actor, idea_id=idea_id)
    return [CommentRead.model_validate(r) for r in rows]


@router.post("/{idea_id}/comments", response_model=CommentRead, status_code=201)
def add_comment(
    request: Request, session: DbSession, actor: CurrentActor, idea_id: Id, data: CommentIn
) -> CommentRead:
    """A customer's comment received another way (a letter, a call), recorded by an agent
    under the customer's name; plain text only, on a visible idea."""
    comment = service.add_comment_for(
        session,
        actor=actor,
        customer_id=data.customer_id,
        idea_id=idea_id,
        body=data.body,
        now=now_of(request),
    )
    return CommentRead.model_validate(comment)


@router.post("/{idea_id}/comments/{comment_id}/hide", response_model=CommentRead)
def hide_comment(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    idea_id: Id,
    comment_id: Id,
    data: HideIn,
) -> CommentRead:
    """Moderation: the comment leaves the customers' view, with a reason kept for the staff."""
    comment = service.hide_comment(
        session,
        actor=actor,
        idea_id=idea_id,
        comment_id=comment_id,
        reason=data.reason,
        now=now_of(request),
    )
    return CommentRead.model_validate(comment)
