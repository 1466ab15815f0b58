"""A token never reaches further than the credential that creates it (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from egards.accounts.domain import Actor, Permission, Role, check_token_grant
from egards.errors import InvalidInput, PermissionDenied

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
READ = [Permission.CUSTOMERS_READ]


def token_actor(expires_at=None, scopes=READ) -> Actor:
    return Actor(
        label="a", role=Role.AGENT, user_id=1, scopes=frozenset(scopes), expires_at=expires_at
    )


def refused_field(**kwargs) -> str:
    with pytest.raises((PermissionDenied, InvalidInput)) as refused:
        check_token_grant(now=NOW, **kwargs)
    return refused.value.field


def test_a_session_mints_long_lived_tokens_within_its_role():
    session = Actor(label="a", role=Role.AGENT, user_id=1)
    check_token_grant(session, scopes=[Permission.LOYALTY_WRITE], expires_at=None, now=NOW)


def test_a_token_mints_only_within_its_scopes():
    assert (
        refused_field(actor=token_actor(), scopes=[Permission.LOYALTY_READ], expires_at=None)
        == "scopes"
    )


def test_no_role_grants_what_it_does_not_have():
    partner = Actor(label="p", role=Role.PARTNER, user_id=2, organisation_id=1)
    assert (
        refused_field(actor=partner, scopes=[Permission.LOYALTY_READ], expires_at=None) == "scopes"
    )


def test_an_expiring_token_mints_only_tokens_that_expire_no_later():
    parent = token_actor(expires_at=NOW + timedelta(minutes=5))
    assert refused_field(actor=parent, scopes=READ, expires_at=None) == "expires_at"
    later = NOW + timedelta(minutes=6)
    assert refused_field(actor=parent, scopes=READ, expires_at=later) == "expires_at"
    check_token_grant(parent, scopes=READ, expires_at=NOW + timedelta(minutes=5), now=NOW)


def test_an_expiry_in_the_past_is_invalid():
    past = NOW - timedelta(seconds=1)
    assert refused_field(actor=token_actor(), scopes=READ, expires_at=past) == "expires_at"
