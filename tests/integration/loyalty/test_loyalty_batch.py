"""Activity imports with a reject report, and period-end requalification in bulk."""

from __future__ import annotations

from datetime import date, timedelta

from egards.accounts.domain import SYSTEM
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.loyalty import service
from egards.loyalty.domain import Activity
from egards.loyalty.imports import import_activities
from egards.loyalty.models import Member
from tests.integration.test_cli import run

TODAY = date.today()


def _member(db, number: str, *, on: date) -> int:
    with db.unit_of_work() as session:
        customer = customers.create_customer(
            session,
            actor=SYSTEM,
            data=CustomerCreate(first_name="Imp", last_name="Ort", loyalty_number=number),
        )
        return service.enrol(
            session, actor=SYSTEM, customer_id=customer.id, programme_code="flying_blue", on=on
        ).id


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
