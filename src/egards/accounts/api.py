from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from egards.accounts import service
from egards.accounts.schemas import (
    OrganisationCreate,
    OrganisationRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
)
from egards.web.deps import CurrentActor, DbSession, SmallId

router = APIRouter(tags=["accounts"])


@router.get("/me", response_model=UserRead)
def me(session: DbSession, actor: CurrentActor) -> Any:
    from egards.accounts.models import User

    return session.get(User, actor.user_id)


@router.get("/users", response_model=list[UserRead])
def list_users(session: DbSession, actor: CurrentActor) -> Any:
    return service.list_users(session, actor=actor)


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(session: DbSession, actor: CurrentActor, data: UserCreate) -> Any:
    return service.create_user(session, actor=actor, data=data)


@router.post("/users/{user_id}/disable", response_model=UserRead)
def disable_user(session: DbSession, actor: CurrentActor, user_id: SmallId) -> Any:
    return service.set_active(session, actor=actor, user_id=user_id, active=False)


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(session: DbSession, actor: CurrentActor) -> Any:
    return service.list_tokens(session, actor=actor)


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(session: DbSession, actor: CurrentActor, data: TokenCreate) -> Any:
    """A bearer token with scopes; the secret is in this answer only."""
    token, secret = service.create_token(session, actor=actor, data=data)
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=secret)


@router.post("/tokens/{token_id}/revoke", response_model=TokenRead)
def revoke_token(session: DbSession, actor: CurrentActor, token_id: SmallId) -> Any:
    return service.revoke_token(session, actor=actor, token_id=token_id)


@router.get("/organisations", response_model=list[OrganisationRead])
def list_organisations(session: DbSession, actor: CurrentActor) -> Any:
    return service.list_organisations(session, actor=actor)


@router.post("/organisations", response_model=OrganisationRead, status_code=201)
def create_organisation(session: DbSession, actor: CurrentActor, data: OrganisationCreate) -> Any:
    return service.create_organisation(session, actor=actor, data=data)
