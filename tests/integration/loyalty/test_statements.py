"""What a loyalty request asks the database, statement by statement: a post inserts its
activity once, complete (never inserted parked and updated); a staff actor's read of a
member does not query the customer its foreign key guarantees, and the explanation does not
read cap usage (only posting needs it). A partner's reads are still checked against its
organisation: tests/integration/test_partner_isolation.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM
from egards.loyalty import service
from egards.loyalty.models import Activity, Entry
from egards.loyalty.schemas import ActivityCreate
from tests.integration.loyalty import enrolled

TODAY = date.today()


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The statements the session's connection runs meanwhile, whitespace collapsed."""
    seen: list[str] = []

    def note(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", note)


def _flight(key: str, number: str) -> ActivityCreate:
    return ActivityCreate(
        key=key,
        member_number=number,
        kind="flight",
        on=TODAY,
        amounts={"fare": 25_000, "taxes": 2_000},
        attributes={"cabin": "economy", "distance_miles": 1500, "domestic": False},
    )


def test_a_post_inserts_its_activity_once_complete(db):
    with db.unit_of_work() as session:
        member = enrolled(session, "Ada", "Post", on=TODAY - timedelta(days=30))
        with statements(session) as seen:
            result = service.record_activity(
                session,
                actor=SYSTEM,
                programme_code="flying_blue",
                data=_flight("p-1", member.number),
            )
        assert result.status == "applied" and result.earnings
        inserts = [s for s in seen if s.startswith("INSERT INTO loyalty_activities")]
        assert len(inserts) == 1, seen
        assert not [s for s in seen if s.startswith("UPDATE loyalty_activities")], seen
        row = session.scalar(select(Activity).where(Activity.key == "p-1"))
        assert row is not None
        assert (row.status, row.member_id, row.member_number) == ("applied", member.id, "")
        assert row.tier == member.tier
        earned = session.scalars(select(Entry.activity_id).where(Entry.member_id == member.id))
        assert set(earned) == {row.id}


def test_a_staff_read_of_a_member_asks_only_what_it_shows(db):
    with db.unit_of_work() as session:
        member = enrolled(session, "Ada", "Read", on=TODAY - timedelta(days=30))
        service.record_activity(
            session, actor=SYSTEM, programme_code="flying_blue", data=_flight("r-1", member.number)
        )
        session.expunge_all()  # read as a new request would
        with statements(session) as explained:
            text = service.explain_member(session, actor=SYSTEM, member_id=member.id)
        with statements(session) as listed:
            entries = service.statement(session, actor=SYSTEM, member_id=member.id)
        assert text and entries
        assert not [s for s in explained + listed if "FROM customers" in s], explained + listed
        assert not [s for s in explained if "loyalty_cap_usage" in s], explained
        # The programme has capped rules: a post reads the usage the explanation skips.
        with statements(session) as posted:
            service.record_activity(
                session,
                actor=SYSTEM,
                programme_code="flying_blue",
                data=_flight("r-2", member.number),
            )
        assert [s for s in posted if "FROM loyalty_cap_usage" in s], posted
