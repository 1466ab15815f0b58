"""Two agents granting at the same moment against the last euros of their team's budget: the
budget is consumed exactly as far as it allows, the rest waits for a supervisor.

These tests commit for real (no rolled-back transaction), in a database of their own."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Role
from egards.accounts.schemas import UserCreate
from egards.cases import service as cases
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.db import utcnow
from egards.recovery import service
from egards.recovery.models import Grant, Voucher
from egards.recovery.schemas import GrantCreate
from tests.conftest import BOTH, own_database


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "budgets", pool_size=12)


def test_two_agents_never_overspend_the_last_euros_of_a_team_budget(committed_db):
    db = committed_db
    with db.unit_of_work() as session:
        agents = []
        for name in ("rachel", "marc"):
            user = accounts.create_user(
                session,
                actor=SYSTEM,
                data=UserCreate(
                    email=f"{name}@budget.example.org",
                    display_name=name.title(),
                    role=Role.AGENT,
                    password="correct horse battery",
                ),
            )
            cases.set_agent_profile(
                session,
                actor=SYSTEM,
                user_id=user.id,
                teams=["support"],
                languages=["fr"],
                skills=[],
            )
            agents.append(accounts.actor_for(user))
        customer = customers.create_customer(
            session, actor=SYSTEM, data=CustomerCreate(first_name="Jean", last_name="Moreau")
        )
        month = service.month_now()
        # The team has €50 left: two €30 vouchers (cost €18 each) fit, a third does not.
        service.set_budget(
            session, actor=SYSTEM, scope="team", owner="support", month=month, limit_cents=5000
        )
        customer_id = customer.id

    start = threading.Barrier(10)

    def attempt(index: int) -> str:
        agent = agents[index % 2]
        start.wait()
        with db.unit_of_work() as session:
            grant = service.grant(
                session,
                actor=agent,
                sender="service-client@test.example",
                data=GrantCreate(
                    customer_id=customer_id,
                    gesture_code="voucher-30",
                    reason_code="broken_promise",
                    reason_text="Late answer",
                    key=f"voucher-{index}",
                ),
                now=utcnow(),
            )
            return grant.status

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(10)))

    assert sorted(outcomes) == ["granted"] * 2 + ["pending"] * 8
    with db.unit_of_work() as session:
        team = service.consumption(session, actor=SYSTEM, month=month)["teams"][0]["budget"]
        assert team.spent_cents == 3600 <= team.limit_cents
        granted = session.scalar(
            select(func.sum(Grant.cost_cents)).where(Grant.status == "granted")
        )
        assert granted == team.spent_cents
        agent_spent = sum(
            a["budget"].spent_cents
            for a in service.consumption(session, actor=SYSTEM, month=month)["agents"]
        )
        assert agent_spent == 3600
        assert session.scalar(select(func.count()).select_from(Voucher)) == 2
