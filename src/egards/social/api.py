"""Social API: profiles and their audience, links made and undone, the review queue,
influence beside value."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request

from egards.i18n import render_message
from egards.social import service
from egards.social.domain import reason_code
from egards.social.models import SocialLink
from egards.social.schemas import (
    InfluenceRow,
    LinkCreate,
    LinkModelRead,
    LinkRead,
    LinkReviewRead,
    ProfileDetailRead,
    ProfileRead,
    ReviewDecision,
    UnlinkCreate,
)
from egards.web.deps import CurrentActor, DbSession, Id, now_of
from egards.web.problems import reader_locale

router = APIRouter(prefix="/social", tags=["social"])
Shape = TypeVar("Shape", bound=LinkReviewRead)


def _read(request: Request, link: SocialLink, shape: type[Shape]) -> Shape:
    """A link as the API shows it: its reason as a stable code and in the reader's language."""
    return shape.model_validate(link).model_copy(
        update={
            "reason_code": reason_code(link.reason_message, link.reason),
            "reason": render_message(reader_locale(request), link.reason_message, link.reason or "")
            or None,
        }
    )


@router.get("/customers/{customer_id}/profiles", response_model=list[ProfileRead])
def customer_profiles(session: DbSession, actor: CurrentActor, customer_id: Id) -> Any:
    """The customer's linked social profiles, largest audience first."""
    return service.profiles_of(session, actor=actor, customer_id=customer_id)


@router.get("/profiles", response_model=ProfileRead)
def find_profile(
    session: DbSession,
    actor: CurrentActor,
    network: Annotated[str, Query(max_length=20)],
    handle: Annotated[str, Query(min_length=1, max_length=101)],
) -> Any:
    """A profile by network and handle."""
    return service.find_profile(session, actor=actor, network=network, handle=handle)


@router.get("/profiles/{profile_id}", response_model=ProfileDetailRead)
def profile(session: DbSession, actor: CurrentActor, profile_id: Id) -> Any:
    """A profile with the history of its audience."""
    found = service.get_profile(session, actor=actor, profile_id=profile_id)
    return ProfileDetailRead.model_validate(
        {
            **ProfileRead.model_validate(found).model_dump(),
            "audience": service.audience_history(session, profile_id=found.id),
        }
    )


@router.post("/profiles/{profile_id}/link", response_model=LinkRead)
def link(
    request: Request, session: DbSession, actor: CurrentActor, profile_id: Id, data: LinkCreate
) -> Any:
    """Link a profile to a customer by hand (audited, reversible)."""
    made = service.link_profile(
        session,
        actor=actor,
        profile_id=profile_id,
        customer_id=data.customer_id,
        now=now_of(request),
    )
    return _read(request, made, LinkRead)


@router.post("/profiles/{profile_id}/unlink", response_model=ProfileRead)
def unlink(
    request: Request, session: DbSession, actor: CurrentActor, profile_id: Id, data: UnlinkCreate
) -> Any:
    """Undo a link, with the reason."""
    return service.unlink_profile(
        session, actor=actor, profile_id=profile_id, reason=data.reason, now=now_of(request)
    )


@router.get("/reviews", response_model=list[LinkReviewRead])
def reviews(request: Request, session: DbSession, actor: CurrentActor) -> Any:
    """Proposed links waiting for a person: the evidence, without the score; why a person
    decides as a code and in the language ``Accept-Language`` asks for."""
    return [
        _read(request, link, LinkReviewRead) for link in service.review_queue(session, actor=actor)
    ]


@router.post("/reviews/{link_id}", response_model=LinkRead)
def decide(
    request: Request, session: DbSession, actor: CurrentActor, link_id: Id, data: ReviewDecision
) -> Any:
    """Confirm or reject a proposed link; the score is shown once decided."""
    decided = service.decide_review(
        session,
        actor=actor,
        link_id=link_id,
        accept=data.accept,
        reason=data.reason,
        now=now_of(request),
    )
    return _read(request, decided, LinkRead)


@router.get("/influence-vs-value", response_model=list[InfluenceRow])
def influence(session: DbSession, actor: CurrentActor) -> Any:
    """Each profile's audience beside its customer's value (none for a stranger)."""
    return service.influence_vs_value(session, actor=actor)


@router.post("/model/retrain", response_model=LinkModelRead, status_code=201)
def retrain(request: Request, session: DbSession, actor: CurrentActor) -> Any:
    """Retrain the linking model on the review outcomes (the links people confirmed teach
    it how true matches look); the next linking runs use it. 409 when nothing was reviewed."""
    return service.retrain(session, actor=actor, now=now_of(request))
