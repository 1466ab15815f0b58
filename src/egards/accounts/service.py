"""Users, organisations, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Iterable
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import Row, Select, func, select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import (
    SESSION_LIFETIME,
    Actor,
    Permission,
    Role,
    check_token_grant,
    validate_password,
)
from egards.accounts.models import ApiToken, Organisation, User, UserSession
from egards.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from egards.audit import service as audit
from egards.db import utcnow
from egards.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from egards.i18n import N_

_hasher = PasswordHasher()
# Verifying against a dummy hash when the user is unknown keeps timing the same either way.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")
TOKEN_PREFIX = "egd_"


def actor_for(
    user: User, scopes: frozenset[Permission] | None = None, expires_at: datetime | None = None
) -> Actor:
    return Actor(
        label=user.display_name,
        role=Role(user.role),
        user_id=user.id,
        organisation_id=user.organisation_id,
        scopes=scopes,
        expires_at=expires_at,
    )


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(session: Session, *, actor: Actor, data: UserCreate) -> User:
    actor.require(Permission.USERS_MANAGE)
    validate_password(data.password)
    email = data.email.lower()
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(N_("a user with e-mail {email} exists"), email=email, field="email")
    if data.role is Role.PARTNER and data.organisation_id is None:
        raise InvalidInput(N_("a partner user belongs to an organisation"), field="organisation_id")
    if data.organisation_id is not None and session.get(Organisation, data.organisation_id) is None:
        raise NotFound(
            N_("organisation {organisation_id} not found"),
            organisation_id=data.organisation_id,
            field="organisation_id",
        )
    user = User(
        email=email,
        display_name=data.display_name,
        role=data.role,
        locale=data.locale,
        organisation_id=data.organisation_id,
        password_hash=_hasher.hash(data.password),
        is_active=True,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        after={"email": email, "role": str(data.role), "organisation_id": data.organisation_id},
    )
    return user


def list_users(session: Session, *, actor: Actor) -> list[User]:
    actor.require(Permission.USERS_MANAGE)
    return list(session.scalars(select(User).order_by(User.id)))


def find_user(session: Session, *, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(N_("no user with e-mail {email}"), email=email, field="email")
    return user


def set_active(session: Session, *, actor: Actor, user_id: int, active: bool) -> User:
    actor.require(Permission.USERS_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("user {user_id} not found"), user_id=user_id, field="user_id")
    if user.id == actor.user_id and not active:
        raise InvalidInput(N_("you cannot disable yourself"), field="user_id")
    if user.is_active != active:
        user.is_active = active
        audit.record(
            session,
            actor=actor,
            action="user.enable" if active else "user.disable",
            entity_type="user",
            entity_id=user.id,
            before={"is_active": not active},
            after={"is_active": active},
        )
        session.flush()
    return user


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(User.id))) or 0


def authenticate(session: Session, *, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        raise NotAuthenticated(N_("wrong e-mail or password"), field="password") from None
    if user is None or not user.is_active:
        raise NotAuthenticated(N_("wrong e-mail or password"), field="password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, *, user: User) -> str:
    """A console session for a signed-in user; the secret goes in the cookie only."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            user_id=user.id,
            secret_hash=_hash_token(secret),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.flush()
    return secret


def end_session(session: Session, *, secret: str) -> None:
    """Sign out: the session's cookie stops working, wherever a copy of it is."""
    row = session.scalar(select(UserSession).where(UserSession.secret_hash == _hash_token(secret)))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        session.flush()


def create_token(session: Session, *, actor: Actor, data: TokenCreate) -> tuple[ApiToken, str]:
    """A bearer token for the actor, narrowed to scopes the actor has. Shown once."""
    if actor.user_id is None:
        raise InvalidInput(N_("only users own tokens"))
    check_token_grant(actor, scopes=data.scopes, expires_at=data.expires_at, now=utcnow())
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=actor.user_id,
        name=data.name,
        prefix=secret[:12],
        token_hash=_hash_token(secret),
        scopes=sorted(str(s) for s in data.scopes),
        expires_at=data.expires_at,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.create",
        entity_type="api_token",
        entity_id=token.id,
        after={"name": data.name, "scopes": token.scopes, "expires_at": _iso(data.expires_at)},
    )
    return token, secret


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def list_tokens(session: Session, *, actor: Actor) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id)
        )
    )


def revoke_token(session: Session, *, actor: Actor, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.user_id and not actor.can(Permission.USERS_MANAGE)):
        raise NotFound(N_("token {token_id} not found"), token_id=token_id, field="token_id")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            session, actor=actor, action="token.revoke", entity_type="api_token", entity_id=token.id
        )
        session.flush()
    return token


def actor_from_token(session: Session, secret: str) -> Actor:
    # The token and its user in one round trip, as plain columns (no objects for the session
    # to track): this runs before every API request.
    found = session.execute(
        select(
            ApiToken.id,
            ApiToken.scopes,
            ApiToken.last_used_at,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            User.id.label("user_id"),
            User.display_name,
            User.role,
            User.organisation_id,
            User.is_active,
        )
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _hash_token(secret))
    ).one_or_none()
    now = utcnow()
    if found is None:
        raise NotAuthenticated(N_("invalid, expired or revoked token"))
    if found.revoked_at is not None or (found.expires_at and found.expires_at <= now):
        raise NotAuthenticated(N_("invalid, expired or revoked token"))
    if not found.is_active:
        raise NotAuthenticated(N_("the token's user is disabled"))
    # Written at most once a minute so that reads stay reads.
    if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
        session.execute(update(ApiToken).where(ApiToken.id == found.id).values(last_used_at=now))
    return Actor(
        label=found.display_name,
        role=Role(found.role),
        user_id=found.user_id,
        organisation_id=found.organisation_id,
        scopes=frozenset(Permission(s) for s in found.scopes),
        expires_at=found.expires_at,
    )


def actor_from_session(session: Session, secret: str) -> Actor:
    """The user of a console session that was started, has not ended and has not expired."""
    row = session.scalar(select(UserSession).where(UserSession.secret_hash == _hash_token(secret)))
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        raise NotAuthenticated(N_("your session has ended; please sign in again"))
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated(N_("please sign in again"))
    return actor_for(user)


def create_organisation(
    session: Session, *, actor: Actor, data: OrganisationCreate
) -> Organisation:
    actor.require(Permission.ORGANISATIONS_MANAGE)
    if session.scalar(select(Organisation.id).where(Organisation.name == data.name)):
        raise Conflict(N_("organisation {data_name!r} exists"), data_name=data.name, field="name")
    organisation = Organisation(name=data.name, kind=data.kind)
    session.add(organisation)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="organisation.create",
        entity_type="organisation",
        entity_id=organisation.id,
        after={"name": data.name, "kind": data.kind},
    )
    return organisation


def list_organisations(session: Session, *, actor: Actor) -> list[Organisation]:
    actor.require(Permission.CUSTOMERS_READ)
    query = select(Organisation).order_by(Organisation.name)
    if actor.is_partner:
        query = query.where(Organisation.id == actor.organisation_id)
    return list(session.scalars(query))


# --- What other features read about users and organisations ------------------------------
# (they never select the accounts' tables themselves)


def get_user(session: Session, user_id: int) -> User | None:
    """A user by id, active or not (None if there is none)."""
    return session.get(User, user_id)


def get_organisation(session: Session, organisation_id: int) -> Organisation | None:
    return session.get(Organisation, organisation_id)


def display_names(session: Session, user_ids: Collection[int]) -> dict[int, str]:
    """The display name of each of these users (ids of no user are absent)."""
    if not user_ids:
        return {}
    return {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(set(user_ids)))
        )
    }


def email_of(session: Session, user_id: int) -> str | None:
    return session.scalar(select(User.email).where(User.id == user_id))


def assignable_staff(session: Session) -> list[Row[int, str]]:
    """(id, display_name) of the active agents and supervisors, by name."""
    return list(
        session.execute(
            select(User.id, User.display_name)
            .where(User.is_active.is_(True), User.role.in_(("agent", "supervisor")))
            .order_by(User.display_name)
        )
    )


def locales_by_email(session: Session, emails: Iterable[str]) -> dict[str, str]:
    """Each staff address's chosen language (what e-mails sent to them are written in)."""
    wanted = list(emails)
    if not wanted:
        return {}
    rows = session.execute(select(User.email, User.locale).where(User.email.in_(wanted)))
    return {email: locale for email, locale in rows}


def active_supervisors(session: Session) -> list[tuple[int, str]]:
    """(id, e-mail) of the active supervisors."""
    return [
        (user_id, email)
        for user_id, email in session.execute(
            select(User.id, User.email).where(
                User.role == Role.SUPERVISOR, User.is_active.is_(True)
            )
        )
    ]


def active_user_ids() -> Select[int]:
    """The ids of the active users, as a subquery for ``column.in_(...)``."""
    return select(User.id).where(User.is_active.is_(True))
