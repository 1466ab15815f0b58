"""Plain posts (most ledger entries) are stored without their arguments and rebuilt from the
entry's columns; migration 0006 writes the arguments back on the way down, so a ledger
replays to the same entries before, after and again after."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import func, select

from egards.accounts.domain import SYSTEM
from egards.db import Database
from egards.loyalty import service
from egards.loyalty.models import Entry, Member
from egards.loyalty.schemas import ActivityCreate
from tests.conftest import BOTH, migrate, own_database
from tests.integration.loyalty import enrolled

TODAY = date.today()


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "plain_posts")


def _ledger(db: Database, member_id: int):
    with db.unit_of_work() as session:
        book = service.open_book(session, session.get(Member, member_id))
        book.ledger.check_invariants()
        return book.ledger.entries


def test_a_ledger_replays_the_same_with_or_without_stored_post_arguments(committed_db):
    db = committed_db
    with db.unit_of_work() as session:
        member = enrolled(session, "Plain", "Posts", on=TODAY - timedelta(days=60))
        member_id = member.id
        for n, (kind, reverses) in enumerate([("flight", None), ("flight", None), ("refund", 0)]):
            service.record_activity(
                session,
                actor=SYSTEM,
                programme_code="flying_blue",
                data=ActivityCreate(
                    key=f"plain-{n}",
                    customer_id=member.customer_id,
                    kind=kind,
                    on=TODAY - timedelta(days=30 - n),
                    amounts={} if reverses is not None else {"fare": 120_000, "taxes": 3_000},
                    attributes={}
                    if reverses is not None
                    else {"cabin": "business", "distance_miles": 5800, "domestic": False},
                    reverses=f"plain-{reverses}" if reverses is not None else None,
                ),
            )
        service.grant_points(
            session,
            actor=SYSTEM,
            member_id=member_id,
            key="plain-goodwill",
            currency="MILES",
            amount=750,
            reason="a late bag",
        )
        service.redeem(
            session,
            actor=SYSTEM,
            member_id=member_id,
            key="plain-redeem",
            currency="MILES",
            amount=1_000,
            hold=True,
            memo="a lounge pass",
        )
    with db.unit_of_work() as session:
        without = session.scalar(select(func.count()).where(Entry.args.is_(None)))
        assert without >= 4  # the flights' XP and miles, the goodwill: plain posts
    before = _ledger(db, member_id)

    migrate(db, command.downgrade, "0002")
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).where(Entry.args.is_(None))) == 0
    assert _ledger(db, member_id) == before

    migrate(db, command.upgrade, "heads")
    assert _ledger(db, member_id) == before
