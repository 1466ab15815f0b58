"""Roles, permissions and the actor on whose behalf a use case runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from egards.errors import InvalidInput, PermissionDenied
from egards.i18n import N_

# A console session lasts a working day; the cookie and the server-side row agree on it.
SESSION_LIFETIME = timedelta(hours=12)


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    ANALYST = "analyst"
    PARTNER = "partner"


class Permission(StrEnum):
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    CUSTOMERS_MERGE = "customers:merge"
    GDPR_EXPORT = "gdpr:export"
    GDPR_ERASE = "gdpr:erase"
    AUDIT_READ = "audit:read"
    USERS_MANAGE = "users:manage"
    ORGANISATIONS_MANAGE = "organisations:manage"
    LOYALTY_READ = "loyalty:read"
    LOYALTY_WRITE = "loyalty:write"  # post activities, redeem
    LOYALTY_EXCEPTION = "loyalty:exception"  # manual tier changes, audited, with a reason
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    CASES_SUPERVISE = "cases:supervise"  # reassign, close without answer, SLA settings
    ANALYTICS_READ = "analytics:read"
    RECOVERY_GRANT = "recovery:grant"  # offer gestures within one's budget, propose exceptions
    RECOVERY_APPROVE = "recovery:approve"  # decide requests and exceptions, set budgets, events
    RECOVERY_ADMIN = "recovery:admin"  # the catalogue and the letter templates


_P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SUPERVISOR: frozenset(
        {
            _P.CUSTOMERS_READ,
            _P.CUSTOMERS_WRITE,
            _P.CUSTOMERS_MERGE,
            _P.GDPR_EXPORT,
            _P.AUDIT_READ,
            _P.LOYALTY_READ,
            _P.LOYALTY_WRITE,
            _P.LOYALTY_EXCEPTION,
            _P.CASES_READ,
            _P.CASES_WRITE,
            _P.CASES_SUPERVISE,
            _P.ANALYTICS_READ,
            _P.RECOVERY_GRANT,
            _P.RECOVERY_APPROVE,
        }
    ),
    Role.AGENT: frozenset(
        {
            _P.CUSTOMERS_READ,
            _P.CUSTOMERS_WRITE,
            _P.CUSTOMERS_MERGE,
            _P.LOYALTY_READ,
            _P.LOYALTY_WRITE,
            _P.CASES_READ,
            _P.CASES_WRITE,
            _P.RECOVERY_GRANT,
        }
    ),
    Role.ANALYST: frozenset({_P.CUSTOMERS_READ, _P.LOYALTY_READ, _P.CASES_READ, _P.ANALYTICS_READ}),
    # Partners only ever reach customers and cases assigned to their organisation.
    Role.PARTNER: frozenset({_P.CUSTOMERS_READ, _P.CUSTOMERS_WRITE, _P.CASES_READ, _P.CASES_WRITE}),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user through the console or a token, or the system itself."""

    label: str
    role: Role
    user_id: int | None = None
    organisation_id: int | None = None
    # A token narrows its user's permissions to its scopes; a session keeps them all.
    scopes: frozenset[Permission] | None = field(default=None)
    # When the credential in use (a token) stops working; None: it does not expire.
    expires_at: datetime | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        granted = ROLE_PERMISSIONS[self.role]
        return granted if self.scopes is None else granted & self.scopes

    @property
    def is_partner(self) -> bool:
        return self.role is Role.PARTNER

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied(
                N_("{label} ({role}) lacks the permission {permission2}"),
                label=self.label,
                role=self.role,
                permission2=permission,
                permission=str(permission),
            )


SYSTEM = Actor(label="system", role=Role.ADMIN)


def check_token_grant(
    actor: Actor, *, scopes: Iterable[Permission], expires_at: datetime | None, now: datetime
) -> None:
    """A new token never reaches further than the credential that creates it: its scopes are
    a subset of the creator's permissions, and it expires no later than the creator's token
    (a console session stands for the user, whose own tokens may be long-lived)."""
    missing = set(scopes) - actor.permissions
    if missing:
        raise PermissionDenied(
            "a token cannot carry permissions its creator lacks: " + ", ".join(sorted(missing)),
            field="scopes",
        )
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(N_("must be in the future"), field="expires_at")
    if actor.expires_at is not None and (expires_at is None or expires_at > actor.expires_at):
        raise PermissionDenied(
            "a token cannot outlive the token that creates it: give an expiry no later than "
            + actor.expires_at.isoformat(),
            field="expires_at",
            limit=actor.expires_at.isoformat(),
        )


def validate_password(password: str) -> str:
    """A password is at least 10 characters; length beats composition rules (NIST 800-63B)."""
    if len(password) < 10:
        raise InvalidInput(N_("must have at least 10 characters"), field="password")
    return password
