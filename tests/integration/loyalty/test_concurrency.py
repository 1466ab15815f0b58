"""Concurrent redemptions against one balance succeed exactly as far as the balance allows.

These tests commit for real (no rolled-back transaction), in a database of their own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from egards.accounts.domain import SYSTEM
from egards.errors import DomainError
from egards.loyalty import service
from egards.loyalty.models import Entry
from egards.loyalty.schemas import ActivityCreate
from tests.conftest import BOTH, own_database
from tests.integration.loyalty import enrolled


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "concurrency", pool_size=12)


def test_parallel_redemptions_never_overdraw_and_lose_nothing(committed_db):
    db = committed_db
    with db.unit_of_work() as session:
        member = enrolled(session, "Con", "Current", on=date.today() - timedelta(days=10))
        service.record_activity(
            session,
            actor=SYSTEM,
            programme_code="flying_blue",
            data=ActivityCreate(
                key="big-flight",
                customer_id=member.customer_id,
                kind="flight",
                on=date.today(),
                amounts={"fare": 250_000},
                attributes={"cabin": "business", "distance_miles": 5800, "domestic": False},
            ),
        )
        member_id = member.id

    # 10,000 Miles; 24 agents try to redeem 1,000 each at the same moment.
    def attempt(index: int) -> bool:
        try:
            with db.unit_of_work() as session:
                service.redeem(
                    session,
                    actor=SYSTEM,
                    member_id=member_id,
                    key=f"r{index}",
                    currency="MILES",
                    amount=1_000,
                )
            return True
        except DomainError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(24)))
    assert outcomes.count(True) == 10
    with db.unit_of_work() as session:
        balance = {
            b.currency: b
            for b in service.balances(
                session, member=service.find_member(session, actor=SYSTEM, member_id=member_id)
            )
        }["MILES"]
        redeemed = session.scalar(
            select(func.sum(Entry.amount)).where(
                Entry.member_id == member_id, Entry.kind == "redemption"
            )
        )
        seqs = list(
            session.scalars(
                select(Entry.seq).where(Entry.member_id == member_id).order_by(Entry.seq)
            )
        )
    assert balance.balance == balance.available == 0
    assert redeemed == 10_000
    assert seqs == list(range(1, len(seqs) + 1))
