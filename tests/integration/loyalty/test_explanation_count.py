"""The explanation's count of the current period, summed by the database, is the rule's
(``domain.count_period``) over the member's lines read one by one, as the explanation read them
before: flights, refunds of flights of this period and of the one before, tiers reached."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM
from egards.loyalty import domain, service
from egards.loyalty.models import Activity, Entry, Member
from egards.loyalty.programme import Programme
from egards.loyalty.schemas import ActivityCreate
from egards.loyalty.service.earnings import period_count
from tests.integration.loyalty import enrolled

TODAY = date.today()
CABINS = ("economy", "premium", "business", "first")


def _lines(
    session: Session, programme: Programme, member_id: int, since: date
) -> list[domain.Earning]:
    """The member's qualifying lines from ``since`` on, in the order they were counted: every
    entry in the qualifying currency with its activity, one by one."""
    currency = programme.qualification.currency
    rows = session.execute(
        select(
            Entry.rule_id,
            Entry.amount,
            Entry.kind,
            Activity.key,
            Activity.kind,
            Activity.on,
            Activity.payload["reverses"].as_string(),
        )
        .join(Activity, Activity.id == Entry.activity_id)
        .where(
            Entry.member_id == member_id,
            Entry.on >= since,
            Entry.currency == currency,
            Entry.kind.in_(("earn", "reversal")),
        )
        .order_by(Entry.seq)
    )
    return [
        domain.Earning(
            activity_key=key,
            activity_kind=kind,
            currency=currency,
            amount=-amount if entry_kind == "reversal" else amount,
            rule_id=rule_id or "",
            reason={},
            on=on,
            qualifying=True,
            reverses=reverses,
        )
        for rule_id, amount, entry_kind, key, kind, on, reverses in rows
    ]


def _flown(session: Session, seed: int) -> tuple[Member, Programme]:
    """A member's two years of flights, a refund of about one in five (some a year late)."""
    rng = random.Random(seed)
    member = enrolled(session, "Many", f"Entries{seed}", on=TODAY - timedelta(days=730))
    flown: list[str] = []
    day = TODAY - timedelta(days=729)
    for n in range(60):
        day += timedelta(days=rng.randint(0, 24))
        if day > TODAY:
            break
        refund = flown and rng.random() < 0.2
        data = ActivityCreate(
            key=f"a{seed}-{n}",
            customer_id=member.customer_id,
            kind="refund" if refund else "flight",
            on=day,
            reverses=flown.pop(rng.randrange(len(flown))) if refund else None,
            amounts={} if refund else {"fare": rng.randint(5_000, 300_000)},
            attributes={}
            if refund
            else {
                "cabin": rng.choice(CABINS),
                "distance_miles": rng.randint(200, 7000),
                "domestic": rng.random() < 0.2,
            },
        )
        service.record_activity(session, actor=SYSTEM, programme_code="flying_blue", data=data)
        if not refund:
            flown.append(data.key)
    return member, service.get_programme("flying_blue")


@pytest.mark.parametrize("seed", range(4))
def test_the_period_counted_by_the_database_is_the_rule_over_the_lines(db, seed):
    with db.unit_of_work() as session:
        member, programme = _flown(session, seed)
        state = service.resume_book(session, member).state
        lines = _lines(session, programme, member.id, state.period_start)
        assert lines, "the period holds lines"
        for as_of in (TODAY, TODAY - timedelta(days=60)):
            expected = domain.count_period(programme, state, lines, as_of=as_of)
            assert period_count(session, programme, state, member.id, as_of=as_of) == expected


def test_a_tier_reached_by_no_line_of_the_period_counts_the_lines_after_its_day(db):
    with db.unit_of_work() as session:
        member, programme = _flown(session, 7)
        state = service.resume_book(session, member).state
        lines = _lines(session, programme, member.id, state.period_start)
        reached = domain.Upgrade(
            on=lines[len(lines) // 2].on,
            from_tier="explorer",
            to_tier=state.tier,
            removed=0,
            before=state,
            activity_key="reached-elsewhere",
        )
        state = dataclasses.replace(state, upgrades=(reached,))
        expected = domain.count_period(programme, state, lines, as_of=TODAY)
        assert expected.activities and expected.amount < sum(e.amount for e in lines)
        assert period_count(session, programme, state, member.id, as_of=TODAY) == expected
