"""Activity imports with a reject report, and period-end requalification in bulk."""

from __future__ import annotations

import csv
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from egards.accounts.domain import SYSTEM
from egards.audit.models import AuditRecord
from egards.loyalty import service
from egards.loyalty.domain import Activity
from egards.loyalty.imports import import_activities
from egards.loyalty.models import Activity as ActivityRow
from egards.loyalty.models import Member
from tests.integration.loyalty import enrolled
from tests.integration.loyalty.test_bulk_history import _outcome
from tests.integration.test_cli import run

TODAY = date.today()


def _member(db, number: str, *, on: date) -> int:
    with db.unit_of_work() as session:
        return enrolled(session, "Imp", "Ort", on=on, loyalty_number=number).id


def test_an_activity_file_applies_good_rows_parks_unknown_members_and_reports_the_rest(
    db, tmp_path
):
    _member(db, "FB55550001", on=TODAY - timedelta(days=100))
    day = (TODAY - timedelta(days=5)).isoformat()
    source = tmp_path / "activities.csv"
    source.write_text(
        "key,member_number,kind,on,amount.fare,amount.taxes,attr.cabin,attr.distance_miles,attr.domestic\n"
        f"A1,FB55550001,flight,{day},250000,40000,business,5800,false\n"
        f"A2,FB55550002,flight,{day},10000,0,economy,400,true\n"
        f"A3,FB55550001,flight,{day},-5,0,economy,400,true\n"
        f"A4,FB55550001,flight,not-a-date,100,0,economy,400,true\n"
        f"A1,FB55550001,flight,{day},250000,40000,business,5800,false\n"
    )
    rejects = tmp_path / "rejects.csv"
    counts = import_activities(
        db, source, programme="flying_blue", actor=SYSTEM, rejects_path=rejects
    )
    assert (counts["applied"], counts["parked"], counts["rejected"]) == (2, 1, 2)
    assert [r.line for r in counts["rejects"]] == [4, 5]
    assert rejects.read_text().splitlines()[1].startswith("4,")


def test_requalification_closes_ended_periods_with_a_soft_landing(db):
    member_id = _member(db, "FB55550009", on=TODAY - timedelta(days=800))
    with db.unit_of_work() as session:
        service.change_tier_by_exception(
            session,
            actor=SYSTEM,
            member_id=member_id,
            tier="platinum",
            justification="start the scenario as Platinum",
        )
        member = session.get(Member, member_id)
        ended = member.period_end
    with db.unit_of_work() as session:
        counts = service.requalify(session, actor=SYSTEM, as_of=ended + timedelta(days=1))
        member = session.get(Member, member_id)
        assert counts["members"] >= 1
        # Flying Blue lands softly: from Platinum to Gold, not to Explorer.
        assert member.tier == "gold"
        history = service.tier_history(session, member_id=member_id)
        assert history[0].kind == "downgraded" and history[0].source == "batch"


def test_requalify_command_on_the_demo(tmp_path):
    assert run(["demo", "--customers", "20", "--no-serve"], tmp_path).exit_code == 0
    result = run(["loyalty", "requalify", "--as-of", "2028-01-01"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "members evaluated" in result.output


def test_miles_lapse_after_24_months_without_activity_and_the_books_still_balance(db):
    member_id = _member(db, "FB55550010", on=TODAY - timedelta(days=1200))
    flown = TODAY - timedelta(days=1000)
    with db.unit_of_work() as session:
        member = session.get(Member, member_id)
        service.record_history(
            session,
            actor=SYSTEM,
            member=member,
            activities=[
                Activity(
                    key="old-flight",
                    kind="flight",
                    on=flown,
                    amounts={"fare": 100_000},
                    attributes={"cabin": "economy", "distance_miles": 400, "domestic": True},
                ),
            ],
        )
    with db.unit_of_work() as session:
        counts = service.expire_points(session, actor=SYSTEM, as_of=TODAY)
        balances = {
            b.currency: b.balance
            for b in service.balances(session, member=session.get(Member, member_id))
        }
        again = service.expire_points(session, actor=SYSTEM, as_of=TODAY)
    assert counts["expired_points"] == 4_000 and balances["MILES"] == 0
    assert balances["XP"] == 2  # qualifying points do not expire
    assert again["expired_points"] == 0


@pytest.mark.parametrize("batch_size", [3, 5000])
def test_a_mixed_file_reports_each_bad_row_by_line_and_a_second_import_changes_nothing(
    db, tmp_path, batch_size
):
    member_id = _member(db, "FB55550021", on=TODAY - timedelta(days=100))
    day = (TODAY - timedelta(days=5)).isoformat()
    header = "key,member_number,kind,on,amount.fare,amount.taxes,amount.purchase,attr.cabin,"
    header += "attr.distance_miles,attr.domestic,reverses\n"
    source = tmp_path / "mixed.csv"
    source.write_text(
        header
        + f"MIX1,FB55550021,flight,{day},250000,40000,,business,5800,false,\n"  # 2 applied
        + f"MIX2,fb-5555-0021,partner,{day},,,12000,,,,\n"  # 3 applied, number as typed
        + f"MIX3,FB55550099,flight,{day},10000,0,,economy,400,true,\n"  # 4 parked
        + f"MIX4,FB55550021,flight,{day},-5,0,,economy,400,true,\n"  # 5 negative fare
        + "MIX5,FB55550021,flight,not-a-date,100,0,,economy,400,true,\n"  # 6 bad date
        + f"MIX1,FB55550021,flight,{day},250000,40000,,business,5800,false,\n"  # 7 replay
        + f"MIX1,FB55550021,flight,{day},999999,40000,,business,5800,false,\n"  # 8 conflict
        + f"MIX6,FB55550021,refund,{day},,,,,,,MIX1\n"  # 9 applied
        + f"MIX7,FB55550021,refund,{day},,,,,,,MIX1\n"  # 10 already reversed
        + f"MIX8,FB55550021,refund,{day},,,,,,,NOPE\n"  # 11 nothing to reverse
        + f"MIX3,FB55550099,flight,{day},10000,0,,economy,400,true,\n"  # 12 parked again
    )
    rejects = tmp_path / "rejects.csv"

    def imported() -> dict:
        return import_activities(
            db,
            source,
            programme="flying_blue",
            actor=SYSTEM,
            rejects_path=rejects,
            batch_size=batch_size,
        )

    def stored() -> tuple:
        with db.unit_of_work() as session:
            rows = session.execute(
                select(ActivityRow.key, ActivityRow.status, ActivityRow.member_id)
                .where(ActivityRow.key.startswith("MIX"))
                .order_by(ActivityRow.key)
            ).all()
            parked = session.scalar(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.action == "loyalty.activity_parked")
            )
            return [tuple(r) for r in rows], parked, _outcome(session, member_id, "MIX")

    counts = imported()
    assert (counts["applied"], counts["parked"], counts["rejected"]) == (4, 2, 5)
    report = list(csv.reader(rejects.read_text().splitlines()))
    assert [row[:2] for row in report] == [
        ["line", "field"],
        ["5", "amounts.fare"],
        ["6", "on"],
        ["8", "key"],
        ["10", "reverses"],
        ["11", "reverses"],
    ]
    assert "already reversed" in report[4][2] and "no applied activity NOPE" in report[5][2]
    first = stored()
    assert [(key, status) for key, status, _ in first[0]] == [
        ("MIX1", "applied"),
        ("MIX2", "applied"),
        ("MIX3", "parked"),
        ("MIX6", "applied"),
    ]
    again = imported()
    assert {k: again[k] for k in ("applied", "parked", "rejected")} == {
        k: counts[k] for k in ("applied", "parked", "rejected")
    }
    assert stored() == first
