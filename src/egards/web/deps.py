"""Request dependencies: the unit of work, the actor, CSRF protection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from egards.accounts import service as accounts
from egards.accounts.domain import Actor
from egards.config import Settings
from egards.db import utcnow
from egards.errors import NotAuthenticated, PermissionDenied
from egards.web import csrf
from egards.web.i18n import N_, pick_locale

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Ids beyond 64 bits cannot exist; refusing them here keeps drivers from overflowing.
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
SmallId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # for 32-bit keys (users, tokens, ...)


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: commits after the route returns, rolls back on error."""
    with request.app.state.db.unit_of_work() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def csrf_token(request: Request) -> str:
    """The session's CSRF secret (created on first use); pages show it masked (web.csrf)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = csrf.new_secret()
    return token


async def check_csrf(request: Request) -> None:
    """Cookie-authenticated writes must echo the session's token, masked as the page showed it
    (form field or header)."""
    if request.method not in UNSAFE:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get("csrf_token")
    if not csrf.matches(expected, sent):
        raise PermissionDenied(
            N_("missing or wrong CSRF token; reload the page"), field="csrf_token"
        )


async def get_actor(request: Request, session: DbSession) -> Actor:
    # The lookups run in the thread pool: a database wait (SQLite's write lock) must never
    # block the event loop, which other requests need to finish and release that lock.
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
        actor = await run_in_threadpool(accounts.actor_from_token, session, token)
    elif secret := request.session.get("sid"):
        await check_csrf(request)
        actor = await run_in_threadpool(accounts.actor_from_session, session, str(secret))
    else:
        raise NotAuthenticated(N_("sign in, or send a bearer token"))
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]


def set_locale(request: Request) -> None:
    settings: Settings = request.app.state.settings
    request.state.locale = pick_locale(request.session.get("locale"), settings.default_locale)


def now_of(request: Request) -> datetime:
    """The application's clock: now in UTC, or ``app.state.clock()`` where a test sets one."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else utcnow()


Now = Annotated[datetime, Depends(now_of)]
"""The request's ``now`` (see :func:`now_of`), for a route that only needs the time."""
