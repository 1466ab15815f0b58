"""No server error under concurrency: through a real uvicorn server, every request gets the
answer of a rule, or 503 with Retry-After when a wait for the database runs out; never a 500,
never a dropped connection.

These tests commit for real (no rolled-back transaction), in a database of their own."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Role
from egards.accounts.schemas import TokenCreate, UserCreate
from egards.app import create_app
from egards.config import Settings
from egards.db import Database, make_engine
from egards.loyalty import service as loyalty
from tests.conftest import BOTH, PASSWORD, login, own_database
from tests.e2e.conftest import served
from tests.integration.loyalty import enrolled


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "http_concurrency")


def _member_with_miles(db, miles: int) -> tuple[int, str, str]:
    """A Flying Blue member holding ``miles``, a supervisor's e-mail and bearer token."""
    with db.unit_of_work() as session:
        member = enrolled(session, "Con", "Current", on=date.today() - timedelta(days=10))
        loyalty.grant_points(
            session,
            actor=SYSTEM,
            member_id=member.id,
            key="starting-balance",
            currency="MILES",
            amount=miles,
            reason="test balance",
        )
        user = accounts.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email="supervisor@test.example",
                display_name="Supervisor",
                role=Role.SUPERVISOR,
                password=PASSWORD,
            ),
        )
        actor = accounts.actor_for(user)
        _, token = accounts.create_token(
            session, actor=actor, data=TokenCreate(name="load", scopes=sorted(actor.permissions))
        )
        return member.id, user.email, token


def _settings(tmp_path, **overrides) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret-key-" + "x" * 32,
        default_locale="en",
        **overrides,
    )


# One worker runs both databases' races in turn: at once, two hundred threads on two cores
# outwait the default 5 s and some answer 503 (seen under pytest -n 2).
@pytest.mark.xdist_group("hundred_redemptions")
def test_hundred_parallel_redemptions_spend_exactly_the_balance_and_none_fails(
    committed_db, tmp_path
):
    member_id, _, token = _member_with_miles(committed_db, 25_000)
    settings = _settings(tmp_path)  # the default pool size and waits
    start = threading.Barrier(100)

    def redeem(index: int) -> tuple[int, str]:
        with httpx.Client(base_url=url, timeout=60.0) as client:
            client.get("/healthz")  # the connection is open before the race starts
            start.wait()
            response = client.post(
                f"/api/v1/loyalty/members/{member_id}/redemptions",
                json={"key": f"r{index}", "currency": "MILES", "amount": 1_000},
                headers={"Authorization": f"Bearer {token}"},
            )
            # The keep-alive connection survived: it answers the next request.
            assert client.get("/healthz").status_code == 200
            return response.status_code, response.json().get("code", "")

    with served(settings, committed_db) as url, ThreadPoolExecutor(max_workers=100) as pool:
        outcomes = Counter(pool.map(redeem, range(100)))
    assert outcomes == {(201, ""): 25, (409, "loyalty_insufficient_balance"): 75}, outcomes
    with committed_db.unit_of_work() as session:
        member = loyalty.find_member(session, actor=SYSTEM, member_id=member_id)
        miles = {b.currency: b for b in loyalty.balances(session, member=member)}["MILES"]
    assert miles.balance == miles.available == 0


def _hold_the_lock(db, member_id: int):
    """A connection that holds what a change of ``member_id`` must wait for: the member's row
    (PostgreSQL) or the database's write lock (SQLite)."""
    connection = db.engine.connect()
    transaction = connection.begin()  # BEGIN IMMEDIATE on SQLite: the write lock
    if db.dialect == "postgresql":
        connection.execute(
            text("SELECT id FROM loyalty_members WHERE id = :id FOR UPDATE"), {"id": member_id}
        )
    return connection, transaction


def test_a_lock_held_too_long_answers_503_with_retry_after_then_the_retry_succeeds(
    committed_db, tmp_path
):
    member_id, email, token = _member_with_miles(committed_db, 5_000)
    url = committed_db.engine.url.render_as_string(hide_password=False)
    impatient = Database(make_engine(url, wait_timeout=0.5))
    app = create_app(_settings(tmp_path, db_wait_timeout=0.5), impatient)
    redemption = {"key": "r1", "currency": "MILES", "amount": 1_000}
    api = f"/api/v1/loyalty/members/{member_id}/redemptions"
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        csrf = login(client, email)
        exception = {"tier": "gold", "justification": "a loyal customer", "csrf_token": csrf}
        connection, transaction = _hold_the_lock(committed_db, member_id)
        try:
            refused = client.post(api, json=redemption, headers=headers)
            page = client.post(f"/loyalty/members/{member_id}/tier-exception", data=exception)
        finally:
            transaction.rollback()
            connection.close()
        retried = client.post(api, json=redemption, headers=headers)
    impatient.engine.dispose()
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "busy"
    # The console answers with a page, not the problem's JSON.
    assert page.status_code == 503 and page.headers["Retry-After"] == "1"
    assert page.headers["content-type"].startswith("text/html")
    assert "réessayez dans un instant" in page.text  # in the signed-in agent's French
    assert retried.status_code == 201, retried.text


def test_requests_beyond_the_pool_wait_their_turn_and_answer_503_when_it_does_not_come(
    committed_db, tmp_path
):
    member_id, email, token = _member_with_miles(committed_db, 5_000)
    url = committed_db.engine.url.render_as_string(hide_password=False)
    patient = Database(make_engine(url, wait_timeout=3.0))
    # One request at a time, and a turn waited for 0.3 s at most.
    app = create_app(_settings(tmp_path, db_pool_size=1, db_wait_timeout=0.3), patient)
    redemption = {"key": "r1", "currency": "MILES", "amount": 1_000}
    with TestClient(app) as client:
        login(client, email)
        connection, transaction = _hold_the_lock(committed_db, member_id)
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                waiting = pool.submit(  # holds the only turn while it waits for the lock
                    client.post,
                    f"/api/v1/loyalty/members/{member_id}/redemptions",
                    json=redemption,
                    headers={"Authorization": f"Bearer {token}"},
                )
                time.sleep(0.5)
                turned_away = client.get("/customers")
                transaction.rollback()
                served_later = waiting.result()
        finally:
            connection.close()
    patient.engine.dispose()
    assert turned_away.status_code == 503 and turned_away.headers["Retry-After"] == "1"
    assert "réessayez dans un instant" in turned_away.text  # a French console page, not JSON
    assert served_later.status_code == 201, served_later.text
