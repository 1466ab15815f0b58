"""Many activities at once (:func:`intake.record_many`) give each item what
:func:`service.record_activity` gives it one at a time, and leave the same books: on random
batches of flights, partner purchases, refunds (of earlier or stored activities, of unknown or
already reversed ones, of another member's), keys sent again with the same or other content,
unknown members and invalid amounts; mostly in date order, with now and then a flight sent
late (an earlier date, or a key that sorts before those already sent that day), so that some
members' activities go through the bulk path and others' one at a time."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from egards.accounts.domain import SYSTEM
from egards.audit.models import AuditRecord
from egards.errors import DomainError
from egards.loyalty import intake, service
from egards.loyalty.errors import InsufficientBalance
from egards.loyalty.models import Activity as ActivityRow
from egards.loyalty.models import Balance, Member
from egards.loyalty.schemas import ActivityCreate, ActivityResult
from tests.integration.loyalty.test_bulk_history import ENROLLED, TODAY, _member, _outcome

_serial = itertools.count(1)

who = st.integers(0, 2)
gap = st.integers(0, 40)  # days after the previous step
flight = st.tuples(
    st.just("flight"),
    who,
    gap,
    st.sampled_from([400, 1500, 5800]),
    st.sampled_from(["economy", "business", "first"]),
    st.integers(50, 4000),
)
again = st.tuples(st.just("again"), who, st.integers(0, 80), st.booleans())
# A flight this many days before the previous step, under a key that sorts before the others.
late = st.tuples(st.just("late"), who, st.integers(0, 10), st.integers(50, 4000))
steps = st.lists(
    st.one_of(
        flight,
        flight,
        st.tuples(st.just("partner"), who, gap, st.integers(1, 900)),
        st.tuples(st.just("refund"), who, gap, st.integers(0, 80)),
        again,
        again,
        st.tuples(st.just("stranger"), gap, st.integers(50, 4000)),
        st.tuples(st.just("invalid"), who, gap),
        late,
    ),
    min_size=1,
    max_size=24,
)


def _naming(member: Member, n: int) -> dict:
    """The three ways a member is named: customer id, number, number as typed by a person."""
    if n % 3 == 0:
        return {"customer_id": member.customer_id}
    if n % 3 == 1:
        return {"member_number": member.number}
    return {"member_number": f"{member.number[:2].lower()}-{member.number[2:]}"}


def _stored(session, prefix: str, index: int, member: Member) -> list[ActivityCreate]:
    """Before the batch: goodwill miles, a flight a refund may take back, and a purchase
    already refunded."""
    service.grant_points(
        session,
        actor=SYSTEM,
        member_id=member.id,
        key=f"{prefix}-m{index}-goodwill",
        currency="MILES",
        amount=500,
        reason="welcome",
        today=lambda: ENROLLED,
    )
    customer = {"customer_id": member.customer_id}
    stored = [
        ActivityCreate(
            key=f"{prefix}-m{index}-old",
            kind="flight",
            on=ENROLLED + timedelta(days=1),
            amounts={"fare": 90_000},
            attributes={"cabin": "first", "distance_miles": 5800, "domestic": False},
            **customer,
        ),
        ActivityCreate(
            key=f"{prefix}-m{index}-bought",
            kind="partner",
            on=ENROLLED + timedelta(days=2),
            amounts={"purchase": 40_000},
            **customer,
        ),
        ActivityCreate(
            key=f"{prefix}-m{index}-bought-refund",
            kind="refund",
            on=ENROLLED + timedelta(days=3),
            reverses=f"{prefix}-m{index}-bought",
            **customer,
        ),
    ]
    for item in stored:
        service.record_activity(
            session, actor=SYSTEM, programme_code="flying_blue", data=item, today=lambda: TODAY
        )
    return stored


def _batch(prefix: str, members: list[Member], stored: list, plan: list[tuple]) -> list:
    """The batch a side sends: keys and dates rising, but for a late flight (an earlier date,
    a key that sorts first) and an item sent again (its own key and date)."""
    items: list[ActivityCreate] = []
    on = ENROLLED + timedelta(days=5)
    for n, step in enumerate(plan):
        key = f"{prefix}-{n:03d}"
        if step[0] == "again":
            _, whom, pick, same = step
            earlier = [*stored, *items]
            first = earlier[pick % len(earlier)]
            content = {} if same else {"quantity": first.quantity + 1}
            items.append(
                first.model_copy(
                    update={
                        "member_number": None,
                        "customer_id": None,
                        **_naming(members[whom % len(members)], n),
                        **content,
                    }
                )
            )
            continue
        if step[0] == "late":
            _, whom, back, fare = step
            items.append(
                ActivityCreate(
                    key=f"{prefix}-.{n:03d}",
                    kind="flight",
                    on=on - timedelta(days=back),
                    amounts={"fare": fare * 100},
                    attributes={"cabin": "business", "distance_miles": 1500, "domestic": False},
                    **_naming(members[whom % len(members)], n),
                )
            )
            continue
        on += timedelta(days=step[2] if step[0] != "stranger" else step[1])
        if step[0] == "stranger":
            name = {"member_number": f"ZZ{prefix}"}
        else:
            name = _naming(members[step[1] % len(members)], n)
        if step[0] == "flight":
            _, _, _, miles, cabin, fare = step
            items.append(
                ActivityCreate(
                    key=key,
                    kind="flight",
                    on=on,
                    amounts={"fare": fare * 100, "taxes": 3_000},
                    attributes={"cabin": cabin, "distance_miles": miles, "domestic": False},
                    **name,
                )
            )
        elif step[0] == "partner":
            items.append(
                ActivityCreate(
                    key=key, kind="partner", on=on, amounts={"purchase": step[3] * 100}, **name
                )
            )
        elif step[0] == "refund":
            candidates = [f"{prefix}-nothing", *(a.key for a in [*stored, *items])]
            target = candidates[step[3] % len(candidates)]
            items.append(ActivityCreate(key=key, kind="refund", on=on, reverses=target, **name))
        elif step[0] == "stranger":
            items.append(
                ActivityCreate(
                    key=key,
                    kind="flight",
                    on=on,
                    amounts={"fare": step[2] * 100},
                    attributes={"cabin": "economy", "distance_miles": 400, "domestic": True},
                    **name,
                )
            )
        else:
            items.append(
                ActivityCreate(key=key, kind="flight", on=on, amounts={"fare": -1}, **name)
            )
    return items


def _one_at_a_time(session, items: list[ActivityCreate]) -> list:
    outcomes = []
    for item in items:
        try:
            with session.begin_nested():
                outcomes.append(
                    service.record_activity(
                        session,
                        actor=SYSTEM,
                        programme_code="flying_blue",
                        data=item,
                        today=lambda: TODAY,
                    )
                )
        except DomainError as error:
            outcomes.append(error)
    return outcomes


def _plain(outcomes: list, prefix: str, members: list[Member]) -> list[str]:
    """Outcomes as text, with the side's key prefix and member numbers taken out."""
    rows = []
    for outcome in outcomes:
        if isinstance(outcome, ActivityResult):
            text = json.dumps(outcome.model_dump(), sort_keys=True)
        else:
            text = json.dumps(
                [type(outcome).__name__, outcome.code, outcome.field, outcome.message]
            )
        for index, member in enumerate(members):
            text = text.replace(member.number, f"M{index}")
        rows.append(text.replace(prefix, "P"))
    return rows


def _unattached(session, prefix: str) -> list[str]:
    """Parked activities and their audit records: they belong to no member yet."""
    parked = [
        json.dumps([a.key, a.member_number, a.status, a.payload, a.content_hash], default=str)
        for a in session.scalars(
            select(ActivityRow)
            .where(ActivityRow.key.startswith(f"{prefix}-"), ActivityRow.member_id.is_(None))
            .order_by(ActivityRow.key)
        )
    ]
    audited = sorted(
        json.dumps(record.after, sort_keys=True)
        for record in session.scalars(
            select(AuditRecord).where(AuditRecord.action == "loyalty.activity_parked")
        )
        if record.after["key"].startswith(f"{prefix}-")
    )
    return [text.replace(prefix, "P") for text in [*parked, *audited]]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(count=st.integers(1, 3), plan=steps)
def test_a_batch_gives_each_item_what_one_activity_at_a_time_gives_it(db, count, plan):
    run = next(_serial)
    sides = {"one": f"one{run}", "many": f"many{run}"}
    members: dict[str, list[Member]] = {}
    batches = {}
    with db.unit_of_work() as session:
        for side, prefix in sides.items():
            members[side] = [_member(session, run, side.title()) for _ in range(count)]
            stored = [
                item
                for index, member in enumerate(members[side])
                for item in _stored(session, prefix, index, member)
            ]
            batches[side] = _batch(prefix, members[side], stored, plan)
    with db.unit_of_work() as session:
        one = _one_at_a_time(session, batches["one"])
    with db.unit_of_work() as session:
        many = intake.record_many(
            session,
            actor=SYSTEM,
            programme_code="flying_blue",
            items=batches["many"],
            today=lambda: TODAY,
        )
    assert _plain(many, sides["many"], members["many"]) == _plain(one, sides["one"], members["one"])
    with db.unit_of_work() as session:
        for mine, theirs in zip(members["many"], members["one"], strict=True):
            assert _outcome(session, mine.id, sides["many"]) == _outcome(
                session, theirs.id, sides["one"]
            )
            service.open_book(session, session.get(Member, mine.id)).ledger.check_invariants()
        assert _unattached(session, sides["many"]) == _unattached(session, sides["one"])


def test_a_refund_the_ledger_refuses_is_rejected_alone_and_the_rest_applies(db):
    run = next(_serial)
    prefix = f"spent{run}"
    with db.unit_of_work() as session:
        member = _member(session, run, "Spent")
        other = _member(session, run, "Other")
        stored = _stored(session, prefix, 0, member)
        available = next(
            b for b in service.balances(session, member=member) if b.currency == "MILES"
        )
        # The flight's miles are spent: taking them back would leave the balance below zero.
        service.redeem(
            session,
            actor=SYSTEM,
            member_id=member.id,
            key=f"{prefix}-spend",
            currency="MILES",
            amount=available.available,
        )
    flight = {
        "kind": "flight",
        "on": TODAY - timedelta(days=3),
        "amounts": {"fare": 50_000},
        "attributes": {"cabin": "economy", "distance_miles": 1500, "domestic": False},
    }
    items = [
        ActivityCreate(key=f"{prefix}-a", customer_id=other.customer_id, **flight),
        ActivityCreate(
            key=f"{prefix}-b",
            kind="refund",
            on=TODAY - timedelta(days=2),
            reverses=stored[0].key,
            customer_id=member.customer_id,
        ),
        ActivityCreate(key=f"{prefix}-c", customer_id=member.customer_id, **flight),
    ]
    with db.unit_of_work() as session:
        outcomes = intake.record_many(
            session, actor=SYSTEM, programme_code="flying_blue", items=items
        )
    applied, refused, also_applied = outcomes
    assert isinstance(refused, InsufficientBalance)
    assert applied.status == also_applied.status == "applied"
    with db.unit_of_work() as session:
        keys = set(
            session.scalars(select(ActivityRow.key).where(ActivityRow.key.startswith(prefix)))
        )
        assert keys == {a.key for a in stored} | {f"{prefix}-a", f"{prefix}-c"}
        miles = session.get(Balance, (member.id, "MILES"))
        assert miles.available == sum(
            e["amount"] for e in also_applied.earnings if e["currency"] == "MILES"
        )


def test_members_sent_in_date_order_take_the_bulk_path_the_others_one_at_a_time(db, monkeypatch):
    run = next(_serial)
    prefix = f"route{run}"
    with db.unit_of_work() as session:
        members = {whose: _member(session, run, whose) for whose in ("ordered", "late", "same")}
        ids = {whose: member.id for whose, member in members.items()}
        names = {whose: {"customer_id": member.customer_id} for whose, member in members.items()}
    bulk_members, in_turn = [], []

    def histories(session, **kwargs):
        bulk_members.append(sorted(kwargs["histories"]))
        return record_histories(session, **kwargs)

    def activity(session, **kwargs):
        in_turn.append(kwargs["data"].key)
        return record_activity(session, **kwargs)

    record_histories, record_activity = service.record_histories, service.record_activity
    monkeypatch.setattr(service, "record_histories", histories)
    monkeypatch.setattr(service, "record_activity", activity)
    fare = {"amounts": {"fare": 80_000}}
    fare["attributes"] = {"cabin": "business", "distance_miles": 1500, "domestic": False}

    def sent(key: str, whose: str, days_ago: int) -> ActivityCreate:
        on = TODAY - timedelta(days=days_ago)
        return ActivityCreate(key=f"{prefix}-{key}", kind="flight", on=on, **names[whose], **fare)

    items = [
        sent("1", "ordered", 9),
        sent("2", "late", 8),
        sent("3", "ordered", 8),
        sent("b", "same", 5),
        sent("4", "late", 9),  # a day before the one sent earlier
        sent("a", "same", 5),  # the same day, under a key that sorts first: in order still
        sent("5", "ordered", 8),
    ]
    with db.unit_of_work() as session:
        outcomes = intake.record_many(
            session, actor=SYSTEM, programme_code="flying_blue", items=items
        )
    assert [outcome.status for outcome in outcomes] == ["applied"] * len(items)
    assert bulk_members == [sorted([ids["ordered"], ids["same"]])]
    assert in_turn == [f"{prefix}-{key}" for key in ("2", "4")]
