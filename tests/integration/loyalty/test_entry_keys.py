"""An entry's key is unique in the database only among the entries without an activity
(migration 0034). A grant, a redemption or a hold under the key of an entry an activity
posted (an earning, a refund's reversal) is still refused as the ledger refuses it, and an
activity whose entry would take a key a grant took first is refused too, one at a time and in
bulk; what is stored still replays (``egards loyalty verify``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM
from egards.db import Database
from egards.loyalty import intake, service
from egards.loyalty.errors import IdempotencyConflict
from egards.loyalty.models import Activity, Entry, Member
from egards.loyalty.schemas import ActivityCreate
from egards.loyalty.service.activities import activity_of
from tests.conftest import BOTH, migrate, own_database
from tests.integration.loyalty import enrolled

TODAY = date.today()
INDEX = "uq_loyalty_entries_member_id_key_without_activity"


def _flight(key: str, member: Member, *, days_ago: int = 3) -> ActivityCreate:
    return ActivityCreate(
        key=key,
        member_number=member.number,
        kind="flight",
        on=TODAY - timedelta(days=days_ago),
        amounts={"fare": 40_000, "taxes": 2_000},
        attributes={"cabin": "economy", "distance_miles": 1500, "domestic": False},
    )


def _activity_keys(session: Session, member_id: int) -> list[str]:
    """The keys of the entries the member's activities posted, in ledger order."""
    return list(
        session.scalars(
            select(Entry.key)
            .where(Entry.member_id == member_id, Entry.activity_id.is_not(None))
            .order_by(Entry.seq)
        )
    )


def _grant(session: Session, member_id: int, key: str) -> None:
    service.grant_points(
        session,
        actor=SYSTEM,
        member_id=member_id,
        key=key,
        currency="MILES",
        amount=500,
        reason="delayed bag",
    )


def _replays_cleanly(db: Database, member_id: int) -> bool:
    with db.unit_of_work() as session:
        return not list(service.verify(session, actor=SYSTEM, member_id=member_id))


def _record(session: Session, data: ActivityCreate) -> None:
    service.record_activity(session, actor=SYSTEM, programme_code="flying_blue", data=data)


def test_a_grant_or_a_redemption_under_an_activitys_earning_key_is_refused(db):
    with db.unit_of_work() as session:
        member = enrolled(session, "Ada", "Earned", on=TODAY - timedelta(days=60))
        _record(session, _flight("keys-earned", member))
        member_id = member.id
        earned = _activity_keys(session, member_id)
    assert earned and all(key.startswith("keys-earned:") for key in earned)
    for key in earned:
        with pytest.raises(IdempotencyConflict), db.unit_of_work() as session:
            _grant(session, member_id, key)
        with pytest.raises(IdempotencyConflict), db.unit_of_work() as session:
            service.redeem(
                session, actor=SYSTEM, member_id=member_id, key=key, currency="MILES", amount=1
            )
    with db.unit_of_work() as session:
        assert _activity_keys(session, member_id) == earned
        assert session.get(Member, member_id).entries_count == len(earned)
    assert _replays_cleanly(db, member_id)


def test_a_grant_under_a_refunds_reversal_key_is_refused(db):
    with db.unit_of_work() as session:
        member = enrolled(session, "Ada", "Refunded", on=TODAY - timedelta(days=60))
        _record(session, _flight("keys-flown", member, days_ago=5))
        refund = ActivityCreate(
            key="keys-refund",
            member_number=member.number,
            kind="refund",
            on=TODAY - timedelta(days=2),
            reverses="keys-flown",
        )
        _record(session, refund)
        member_id = member.id
        reversals = [k for k in _activity_keys(session, member_id) if k.startswith("keys-refund:")]
    assert reversals
    with pytest.raises(IdempotencyConflict), db.unit_of_work() as session:
        _grant(session, member_id, reversals[0])
    assert _replays_cleanly(db, member_id)


def test_a_grant_whose_key_merely_looks_like_an_activitys_is_granted_and_replays(db):
    with db.unit_of_work() as session:
        member = enrolled(session, "Ada", "Lookalike", on=TODAY - timedelta(days=60))
        _record(session, _flight("keys-look", member))
        member_id = member.id
        earned = _activity_keys(session, member_id)
        rule = earned[0].rpartition(":")[2]
        # Another activity's name, an unknown rule, another member's activity: all free.
        for key in (f"keys-other:{rule}", "keys-look:no_such_rule", "keys-look"):
            _grant(session, member_id, key)
        _grant(session, member_id, "keys-look")  # the same grant again: a replay
        assert session.get(Member, member_id).entries_count == len(earned) + 3
    assert _replays_cleanly(db, member_id)


def _earning_suffixes(session: Session) -> list[str]:
    """The rule ids a flight earns under, read off a flight of a member of its own."""
    member = enrolled(session, "Ada", "Probe", on=TODAY - timedelta(days=60))
    _record(session, _flight("keys-probe", member))
    return [key.rpartition(":")[2] for key in _activity_keys(session, member.id)]


def test_an_activity_whose_earning_key_a_grant_took_first_is_refused_one_at_a_time(db):
    with db.unit_of_work() as session:
        suffix = _earning_suffixes(session)[0]
        member = enrolled(session, "Ada", "First", on=TODAY - timedelta(days=60))
        _grant(session, member.id, f"keys-later:{suffix}")
        member_id = member.id
    with pytest.raises(IdempotencyConflict), db.unit_of_work() as session:
        _record(session, _flight("keys-later", session.get(Member, member_id)))
    with db.unit_of_work() as session:
        assert not session.scalar(select(Activity.id).where(Activity.key == "keys-later"))
    assert _replays_cleanly(db, member_id)


def test_an_activity_whose_earning_key_a_grant_took_first_is_refused_in_bulk(db):
    with db.unit_of_work() as session:
        suffix = _earning_suffixes(session)[-1]
        member = enrolled(session, "Ada", "Bulk", on=TODAY - timedelta(days=60))
        other = enrolled(session, "Ada", "Bystander", on=TODAY - timedelta(days=60))
        _grant(session, member.id, f"keys-bulk:{suffix}")
        member_id, other_id = member.id, other.id
    flight = _flight("keys-bulk", session.get(Member, member_id))
    with pytest.raises(IdempotencyConflict), db.unit_of_work() as session:
        service.record_histories(
            session,
            actor=SYSTEM,
            histories={member_id: [activity_of(flight)]},
            today=lambda: TODAY,
        )
    with db.unit_of_work() as session:
        items = [_flight("keys-bystander", session.get(Member, other_id)), flight]
        applied, refused = intake.record_many(
            session, actor=SYSTEM, programme_code="flying_blue", items=items
        )
    assert applied.status == "applied"
    assert isinstance(refused, IdempotencyConflict)
    with db.unit_of_work() as session:
        assert not session.scalar(select(Activity.id).where(Activity.key == "keys-bulk"))
    assert _replays_cleanly(db, member_id) and _replays_cleanly(db, other_id)


def _entry(member_id: int, seq: int, key: str, activity_id: int | None) -> dict[str, object]:
    return {
        "member_id": member_id,
        "seq": seq,
        "key": key,
        "op": "post",
        "currency": "MILES",
        "debit": "goodwill",
        "credit": "member",
        "amount": 1,
        "on": TODAY,
        "kind": "goodwill",
        "state": "posted",
        "activity_id": activity_id,
        "memo": "",
    }


def test_the_database_refuses_a_key_twice_only_among_entries_without_an_activity(db):
    with db.unit_of_work() as session:
        member = enrolled(session, "Ada", "Index", on=TODAY - timedelta(days=60))
        _record(session, _flight("keys-index", member))
        member_id = member.id
        activity_id = session.scalar(select(Activity.id).where(Activity.key == "keys-index"))
        key = _activity_keys(session, member_id)[0]
        seq = session.get(Member, member_id).entries_count
        # Beside an activity's entry, the same key is not the index's to refuse...
        session.execute(insert(Entry), [_entry(member_id, seq + 1, key, None)])
        session.execute(insert(Entry), [_entry(member_id, seq + 2, key, activity_id)])
    # ... but twice among the entries without an activity, it is.
    with pytest.raises(IntegrityError), db.unit_of_work() as session:
        session.execute(insert(Entry), [_entry(member_id, seq + 3, key, None)])


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "entry_keys")


def _keys_unique(db: Database) -> tuple[set[str], list[list[str]]]:
    """The entries' unique indexes by name, and their unique constraints' columns: the
    table's, or on PostgreSQL since migration 0036 its history partition's."""
    with db.engine.connect() as connection:
        found = inspect(connection)
        table = next(
            name for name in ("loyalty_entries_history", "loyalty_entries") if found.has_table(name)
        )
        indexes = {i["name"] for i in found.get_indexes(table) if i["unique"]}
        constraints = [c["column_names"] for c in found.get_unique_constraints(table)]
    return indexes, constraints


def test_migration_0034_makes_entry_keys_unique_without_activity_and_its_downgrade_restores(
    committed_db,
):
    db = committed_db
    assert _keys_unique(db) == ({INDEX}, [])
    migrate(db, command.downgrade, "0032")
    indexes, constraints = _keys_unique(db)
    assert INDEX not in indexes and ["member_id", "key"] in constraints
    migrate(db, command.upgrade, "heads")
    assert _keys_unique(db) == ({INDEX}, [])


def test_the_model_declares_the_index_the_migration_makes():
    (index,) = [i for i in Entry.__table__.indexes if i.name == INDEX]
    assert index.unique and [c.name for c in index.columns] == ["member_id", "key"]
    names = {c.name for c in Entry.__table__.constraints}
    assert "uq_loyalty_entries_member_id_key" not in names
