"""Properties of the stored ledger over random sequences of earn, redeem, hold, settle, void,
refund and replays: balances equal the sum of entries, the books balance, nothing is ever
negative, and replaying any request changes nothing."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from egards.accounts.domain import SYSTEM
from egards.errors import DomainError
from egards.loyalty import service
from egards.loyalty.models import Entry, Member
from egards.loyalty.schemas import ActivityCreate
from tests.integration.loyalty import enrolled

TODAY = date.today()
_serial = itertools.count(1)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.sampled_from([400, 1500, 5800]), st.integers(50, 3000)),
        st.tuples(st.just("redeem"), st.integers(1000, 9000), st.booleans()),
        st.tuples(st.just("refund"), st.integers(0, 20)),
        st.tuples(st.just("settle"), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("replay"), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=18,
)


def _check(session, member_id: int) -> None:
    member = session.get(Member, member_id)
    book = service.open_book(session, member)
    book.ledger.check_invariants()  # books balance per currency; no member account below zero
    for balance in service.balances(session, member=member):
        credited = session.scalar(
            select(func.coalesce(func.sum(Entry.amount), 0)).where(
                Entry.member_id == member_id,
                Entry.currency == balance.currency,
                Entry.state == "posted",
                Entry.credit == "member",
            )
        )
        debited = session.scalar(
            select(func.coalesce(func.sum(Entry.amount), 0)).where(
                Entry.member_id == member_id,
                Entry.currency == balance.currency,
                Entry.state == "posted",
                Entry.debit == "member",
            )
        )
        assert balance.balance == credited - debited
        assert 0 <= balance.available <= balance.balance


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_the_stored_ledger_keeps_its_invariants(db, ops):
    run = next(_serial)
    with db.unit_of_work() as session:
        member = enrolled(session, "Prop", f"Ledger{run}", on=TODAY - timedelta(days=100))
        member_id, customer_id = member.id, member.customer_id
    requests: list[tuple] = []
    earned: list[str] = []
    holds: list[int] = []
    for step, op in enumerate(ops):
        request = None
        if op[0] == "earn":
            request = (
                "activity",
                ActivityCreate(
                    key=f"p{run}-e{step}",
                    customer_id=customer_id,
                    kind="flight",
                    on=TODAY,
                    amounts={"fare": op[2] * 100},
                    attributes={"cabin": "economy", "distance_miles": op[1], "domestic": False},
                ),
            )
            earned.append(f"p{run}-e{step}")
        elif op[0] == "refund" and earned:
            original = earned[op[1] % len(earned)]
            request = (
                "activity",
                ActivityCreate(
                    key=f"p{run}-r{step}",
                    customer_id=customer_id,
                    kind="refund",
                    on=TODAY,
                    reverses=original,
                ),
            )
        elif op[0] == "redeem":
            request = ("redeem", f"p{run}-x{step}", op[1], op[2])
        elif op[0] == "settle" and holds:
            request = ("settle", holds[op[1] % len(holds)], f"p{run}-s{step}", op[2])
        elif op[0] == "replay" and requests:
            request = requests[op[1] % len(requests)]
        if request is None:
            continue
        try:
            with db.unit_of_work() as session:
                count_before = session.scalar(
                    select(func.count()).select_from(Entry).where(Entry.member_id == member_id)
                )
                if request[0] == "activity":
                    service.record_activity(
                        session, actor=SYSTEM, programme_code="flying_blue", data=request[1]
                    )
                elif request[0] == "redeem":
                    entry = service.redeem(
                        session,
                        actor=SYSTEM,
                        member_id=member_id,
                        key=request[1],
                        currency="MILES",
                        amount=request[2],
                        hold=request[3],
                    )
                    if request[3] and entry.state == "pending":
                        holds.append(entry.seq)
                else:
                    service.resolve_hold(
                        session,
                        actor=SYSTEM,
                        member_id=member_id,
                        seq=request[1],
                        key=request[2],
                        settle=request[3],
                    )
                if op[0] == "replay":
                    count_after = session.scalar(
                        select(func.count()).select_from(Entry).where(Entry.member_id == member_id)
                    )
                    assert count_after == count_before, "a replay wrote something"
            requests.append(request)
        except DomainError:
            pass  # refused whole: the unit of work rolled back
        with db.unit_of_work() as session:
            _check(session, member_id)
