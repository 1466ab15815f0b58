"""Lean rows (migrations 0017 and 0018): an applied activity stores neither its earning lines
nor its member's number; its result, a replay's and the explanation read the same as when
the lines were stored, before, after and again after the migrations; and with the hot
tables' references checked per batch, no entry, bucket or applied activity is without its
member, no entry without its activity, and nothing deletes members or activities."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text

import egards
from egards.accounts.domain import SYSTEM
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.db import Database
from egards.i18n import render_message
from egards.loyalty import intake, service
from egards.loyalty.models import Activity
from egards.loyalty.schemas import ActivityCreate
from tests.conftest import BOTH, migrate, own_database
from tests.integration.loyalty import enrolled

TODAY = date.today()


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "lean_rows")


def _flight(key: str, customer_id: int, days_ago: int, **attributes) -> ActivityCreate:
    return ActivityCreate(
        key=key,
        customer_id=customer_id,
        kind="flight",
        on=TODAY - timedelta(days=days_ago),
        amounts={"fare": 83_050, "taxes": 3_000},
        attributes={"cabin": "business", "distance_miles": 5800, "domestic": False, **attributes},
    )


def _workload(db: Database) -> tuple[int, list[ActivityCreate]]:
    """One member's flights one at a time and in a batch, a refund of each kind, an activity
    parked until its member enrols: what each returned, to compare with later reads."""
    with db.unit_of_work() as session:
        member = enrolled(session, "Lean", "Rows", on=TODAY - timedelta(days=300))
        other = enrolled(session, "Other", "Member", on=TODAY - timedelta(days=300))
        sent = [_flight(f"lean-{n}", member.customer_id, 200 - 10 * n) for n in range(6)]
        for data in sent[:3]:
            service.record_activity(session, actor=SYSTEM, programme_code="flying_blue", data=data)
        batch = [
            *sent[3:],
            ActivityCreate(
                key="lean-refund-0",
                customer_id=member.customer_id,
                kind="refund",
                on=TODAY - timedelta(days=100),
                reverses="lean-0",  # stored before the batch
            ),
            ActivityCreate(
                key="lean-refund-4",
                customer_id=member.customer_id,
                kind="refund",
                on=TODAY - timedelta(days=100),
                reverses="lean-4",  # in the same batch
            ),
            _flight("lean-other", other.customer_id, 50),
        ]
        intake.record_many(session, actor=SYSTEM, programme_code="flying_blue", items=batch)
        sent = [*sent[:3], *batch]
        parked = ActivityCreate(
            key="lean-parked",
            member_number="FB-NOT-YET",
            kind="flight",
            on=TODAY - timedelta(days=20),
            amounts={"fare": 10_000},
            attributes={"cabin": "economy", "distance_miles": 400, "domestic": True},
        )
        service.record_activity(session, actor=SYSTEM, programme_code="flying_blue", data=parked)
        return member.id, sent


def _replays(db: Database, sent: list[ActivityCreate]):
    """What each activity sent again (a replay) returns, and the member's explanation."""
    with db.unit_of_work() as session:
        results = intake.record_many(
            session, actor=SYSTEM, programme_code="flying_blue", items=sent
        )
        one = service.record_activity(
            session, actor=SYSTEM, programme_code="flying_blue", data=sent[0]
        )
    return [r.model_dump() for r in results], one.model_dump()


def _explanations(db: Database, member_id: int) -> tuple[str, str]:
    with db.unit_of_work() as session:
        return tuple(
            service.explain_member(session, actor=SYSTEM, member_id=member_id, lang=lang)
            for lang in ("en", "fr")
        )


def _tier_history(db: Database, member_id: int) -> list[tuple[str, str]]:
    """The member's tier changes as read, in both languages."""
    with db.unit_of_work() as session:
        return [
            (render_message("en", change.message), render_message("fr", change.message))
            for change in service.tier_history(session, member_id=member_id)
        ]


def test_lean_activity_rows_read_as_the_stored_lines_did_before_and_after_the_migrations(
    committed_db,
):
    db = committed_db
    member_id, sent = _workload(db)
    with db.unit_of_work() as session:
        rows = list(session.scalars(select(Activity).where(Activity.status == "applied")))
        assert len(rows) == len(sent)
        assert all(r.earnings is None and r.entry_seqs is None for r in rows)
        assert all(r.member_number == "" for r in rows)
        assert all(r.tier for r in rows if not r.payload["reverses"])
    replays, one = _replays(db, sent)
    explained = _explanations(db, member_id)
    history = _tier_history(db, member_id)
    assert history and all(en and fr and en != fr for en, fr in history)
    business = next(r for r in replays if r["key"] == "lean-1")
    assert [e["reason"] for e in business["earnings"]] == [
        "XP per flight: long haul 3, Business = 36 XP",
        "Miles per euro spent: €830.50 × 4 (rounded down) = 3,322 Miles",
    ]
    refund = next(r for r in replays if r["key"] == "lean-refund-0")
    assert refund["earnings"][0]["reason"] == (
        "reversal of lean-0 (XP per flight: long haul 3, Business = 36 XP)"
    )
    assert refund["member_number"] and refund["member_number"] == business["member_number"]

    # Down to the revision before: the lines, the entries posted and the numbers are stored
    # again, as the code of that revision reads them; the reasons are those read above. The
    # tier changes get their two sentences back (0028), read as the same words coming up.
    migrate(db, command.downgrade, "0012")
    with db.unit_of_work() as session:
        columns = (Activity.key, Activity.member_number, Activity.earnings, Activity.entry_seqs)
        stored = {
            r.key: r for r in session.execute(select(*columns).where(Activity.status == "applied"))
        }
        for result in replays:
            row = stored[result["key"]]
            assert row.member_number == result["member_number"]
            assert [e["reason"] for e in row.earnings] == [e["reason"] for e in result["earnings"]]
            assert len(row.entry_seqs) == len(result["earnings"])
    migrate(db, command.upgrade, "heads")
    assert _replays(db, sent) == (replays, one)
    assert _explanations(db, member_id) == explained
    assert _tier_history(db, member_id) == history


def test_no_entry_bucket_or_activity_lacks_what_it_refers_to(committed_db):
    db = committed_db
    _workload(db)
    with db.unit_of_work() as session:
        later = customers.create_customer(
            session, actor=SYSTEM, data=CustomerCreate(first_name="Not", last_name="Yet")
        )
        parked = _flight("lean-parked-2", later.id, 40)
        result = service.record_activity(
            session, actor=SYSTEM, programme_code="flying_blue", data=parked
        )
        assert result.status == "parked"
        member = service.enrol(
            session,
            actor=SYSTEM,
            customer_id=later.id,
            programme_code="flying_blue",
            on=TODAY - timedelta(days=60),
        )
        service.grant_points(
            session,
            actor=SYSTEM,
            member_id=member.id,
            key="lean-goodwill",
            currency="MILES",
            amount=500,
            reason="a late bag",
        )
        row = session.scalar(select(Activity).where(Activity.key == "lean-parked-2"))
        assert row.status == "applied" and row.member_id == member.id
    orphans = {
        "entries without their member": "SELECT e.seq FROM loyalty_entries e"
        " LEFT JOIN loyalty_members m ON m.id = e.member_id WHERE m.id IS NULL",
        "entries without their activity": "SELECT e.seq FROM loyalty_entries e"
        " LEFT JOIN loyalty_activities a ON a.id = e.activity_id"
        " WHERE e.activity_id IS NOT NULL AND a.id IS NULL",
        "buckets without their member": "SELECT b.seq FROM loyalty_buckets b"
        " LEFT JOIN loyalty_members m ON m.id = b.member_id WHERE m.id IS NULL",
        "activities without their member": "SELECT a.id FROM loyalty_activities a"
        " LEFT JOIN loyalty_members m ON m.id = a.member_id"
        " WHERE a.member_id IS NOT NULL AND m.id IS NULL",
    }
    with db.engine.connect() as connection:
        for name, query in orphans.items():
            assert connection.execute(text(query)).all() == [], name
        assert (
            connection.execute(
                text("SELECT count(*) FROM loyalty_entries WHERE activity_id IS NOT NULL")
            ).scalar()
            > 10
        )


def test_no_code_deletes_members_or_activities():
    """Their references are no longer foreign keys: nothing may delete the rows entries and
    buckets refer to (an erasure anonymises them, the books stay)."""
    source = Path(egards.__file__).parent
    deleting = re.compile(
        r"delete\(\s*(Member|Activity)\b|(Member|Activity)\.__table__\.delete|"
        r"DELETE\s+FROM\s+loyalty_(members|activities)|session\.delete\(\s*(member|activity)\b",
        re.IGNORECASE,
    )
    found = [
        f"{path.relative_to(source)}:{n}"
        for path in source.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if deleting.search(line) and "migrations" not in path.parts
    ]
    assert found == []
