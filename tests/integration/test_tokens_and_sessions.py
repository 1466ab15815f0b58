"""Tokens never reach further than the credential that creates them, and signing out ends the
session on the server, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from egards.accounts.models import UserSession
from tests.conftest import login


def mint(client, headers, **fields):
    return client.post(
        "/api/v1/tokens",
        json={"name": "child", "scopes": ["customers:read"], **fields},
        headers=headers,
    )


def in_minutes(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def short_lived(client, person, minutes: int = 5, scopes=("customers:read",)) -> dict[str, str]:
    made = mint(client, person.headers, scopes=list(scopes), expires_at=in_minutes(minutes))
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


def test_a_token_that_expires_cannot_mint_one_that_never_does(client, agent):
    parent = short_lived(client, agent)
    refused = mint(client, parent)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "expires_at"


def test_a_token_cannot_mint_one_that_outlives_it(client, agent):
    parent = short_lived(client, agent, minutes=5)
    later = mint(client, parent, expires_at=in_minutes(60))
    assert later.status_code == 403 and later.json()["errors"][0]["field"] == "expires_at"
    sooner = mint(client, parent, expires_at=in_minutes(2))
    assert sooner.status_code == 201, sooner.text


def test_a_token_cannot_mint_broader_scopes_than_its_own(client, agent):
    parent = short_lived(client, agent, scopes=("customers:read",))
    broader = mint(
        client, parent, scopes=["customers:read", "loyalty:read"], expires_at=in_minutes(1)
    )
    assert broader.status_code == 403
    problem = broader.json()
    assert problem["errors"][0]["field"] == "scopes" and "loyalty:read" in problem["detail"]


def test_an_expiry_without_a_time_zone_is_refused_by_name(client, agent):
    naive = mint(client, agent.headers, expires_at="2099-01-01T00:00:00")
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"].endswith("expires_at")


def test_signing_out_ends_the_session_even_for_a_copy_of_the_cookie(client, agent):
    csrf = login(client, agent.email)
    cookie = client.cookies.get("egards_session")
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 200  # to /login
    client.cookies.set("egards_session", cookie)
    replayed = client.get("/api/v1/me")
    assert replayed.status_code == 401
    assert replayed.headers["content-type"] == "application/problem+json"


def test_an_expired_session_is_refused(client, db, agent):
    login(client, agent.email)
    with db.unit_of_work() as session:
        session.execute(
            update(UserSession)
            .where(UserSession.user_id == agent.user_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert client.get("/api/v1/me").status_code == 401


def test_signing_in_again_opens_a_new_session(client, agent):
    csrf = login(client, agent.email)
    client.post("/logout", data={"csrf_token": csrf})
    login(client, agent.email)
    assert client.get("/api/v1/me").json()["email"] == agent.email
