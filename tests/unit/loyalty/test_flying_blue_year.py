"""A Flying Blue member's years, played as the public rules say (issue 15, §4): enrolled on
1 January 2020, a business-class CDG–JFK flight (3,625 miles: 30 XP; 100 EUR of fare) now and
then."""

from __future__ import annotations

from datetime import date

import pytest

from egards.loyalty.domain import (
    Activity,
    Counted,
    Earning,
    TierState,
    close_periods,
    count_activity,
    count_period,
    enrol,
    explain_balance,
    explain_tier,
)
from egards.loyalty.errors import ProgrammeError
from egards.loyalty.programme import EntryTierRollover, Programme, parse_programme

from .builders import FLYING_BLUE, flight, member_at, refund, said

ENROLLED = date(2020, 1, 1)


def cdg_jfk(key: str, on: date) -> Activity:
    return flight(key, on, cabin="business", miles=3625, fare_cents=10_000)


def play(
    programme: Programme, state: TierState, activities: list[Activity]
) -> tuple[TierState, list[Counted], list[Earning]]:
    """Count each activity in turn, as the service does; every earning line, in order."""
    outcomes: list[Counted] = []
    lines: list[Earning] = []
    last = None
    for activity in activities:
        original = [line for line in lines if line.activity_key == activity.reverses]
        counted = count_activity(
            programme,
            state,
            activity,
            last_activity_on=last,
            original=original if activity.reverses else None,
            original_on=original[0].on if original else None,
        )
        state, last = counted.state, counted.last_activity_on
        outcomes.append(counted)
        lines += counted.lines
    return state, outcomes, lines


def with_entry_tier_rollover(policy: EntryTierRollover) -> Programme:
    q = FLYING_BLUE.qualification
    rollover = q.rollover.model_copy(update={"entry_tier": policy})  # type: ignore[union-attr]
    return FLYING_BLUE.model_copy(
        update={"qualification": q.model_copy(update={"rollover": rollover})}
    )


OCCASIONAL = [
    cdg_jfk("f1", date(2020, 1, 10)),
    cdg_jfk("f2", date(2021, 9, 10)),
    cdg_jfk("f3", date(2023, 5, 10)),
    cdg_jfk("f4", date(2025, 1, 10)),
]


def test_an_explorers_counter_starts_again_at_each_new_qualification_period():
    state, outcomes, _ = play(FLYING_BLUE, enrol(FLYING_BLUE, on=ENROLLED), OCCASIONAL)
    assert [e.kind for o in outcomes for e in o.events] == []
    assert (state.tier, state.counter) == ("explorer", 30)
    assert (state.period_start, state.period_end) == (date(2025, 1, 1), date(2025, 12, 31))


def test_the_entry_tiers_rollover_is_the_programme_files_stated_policy():
    carrying = with_entry_tier_rollover(EntryTierRollover.CARRY)
    _, outcomes, _ = play(carrying, enrol(carrying, on=ENROLLED), OCCASIONAL)
    assert [said(e.reason) for e in outcomes[-1].events] == [
        "120 XP reached the Silver threshold of 100 XP"
    ]
    assert FLYING_BLUE.qualification.rollover is not None
    assert FLYING_BLUE.qualification.rollover.entry_tier is EntryTierRollover.RESTART


def test_a_programme_with_rollover_must_state_its_entry_tier_policy():
    text = FLYING_BLUE.model_dump(mode="json")
    text["qualification"]["rollover"] = {"cap": 300}
    with pytest.raises(ProgrammeError) as raised:
        parse_programme(text)
    assert "qualification.rollover.entry_tier: is required" in str(raised.value)


def test_a_status_kept_carries_only_its_surplus_over_the_threshold():
    gold = member_at(
        "gold", period_start=date(2024, 3, 1), period_end=date(2025, 2, 28), counter=260
    )
    state = close_periods(FLYING_BLUE, gold, as_of=date(2025, 3, 1)).state
    assert (state.tier, state.counter) == ("gold", 80)


def test_a_period_that_ended_before_an_activity_closes_before_the_activity_earns():
    # The member, under the policy that made them Silver on 10 January 2025 (20 XP to
    # spare, period to 9 January 2026); nothing flown in that period, no requalification run.
    carrying = with_entry_tier_rollover(EntryTierRollover.CARRY)
    state, _, _ = play(carrying, enrol(carrying, on=ENROLLED), OCCASIONAL)
    assert (state.tier, state.counter, state.period_end) == ("silver", 20, date(2026, 1, 9))
    counted = count_activity(
        carrying, state, cdg_jfk("f5", date(2026, 9, 10)), last_activity_on=date(2025, 1, 10)
    )
    assert [(e.kind, e.to_tier, e.on) for e in counted.events] == [
        ("downgraded", "explorer", date(2026, 1, 9))
    ]
    assert {line.currency: line.amount for line in counted.lines} == {"XP": 30, "MILES": 400}
    assert counted.state.tier == "explorer"


def test_a_refund_is_not_activity_and_does_not_extend_the_miles_validity():
    _, outcomes, _ = play(
        FLYING_BLUE,
        enrol(FLYING_BLUE, on=date(2024, 1, 1)),
        [cdg_jfk("f1", date(2024, 8, 20)), refund("r1", date(2026, 8, 20), of="f1")],
    )
    assert outcomes[-1].last_activity_on == date(2024, 8, 20)
    assert said(
        explain_balance(
            FLYING_BLUE,
            "MILES",
            balance=1200,
            tier="explorer",
            as_of=date(2026, 8, 21),
            last_activity_on=outcomes[-1].last_activity_on,
        ),
        "en",
    ) == (
        "1,200 Miles, valid until 19 August 2026; any activity before then extends them by 24"
        " months (last activity on 20 August 2024)."
    )


def test_the_current_period_leaves_out_the_xp_that_reached_the_tier():
    # Silver with 170 XP: the first flight reaches Gold (180 XP taken off, 20 XP to spare),
    # two more follow in the period it starts.
    silver = member_at(
        "silver", period_start=date(2025, 1, 10), period_end=date(2026, 1, 9), counter=170
    )
    flights = [
        cdg_jfk("g1", date(2025, 3, 12)),
        cdg_jfk("g2", date(2025, 3, 12)),
        cdg_jfk("g3", date(2025, 6, 1)),
    ]
    state, _, lines = play(FLYING_BLUE, silver, flights)
    assert (state.tier, state.counter, state.period_start) == ("gold", 80, date(2025, 3, 12))
    assert said(
        explain_tier(
            FLYING_BLUE,
            state,
            counted=count_period(FLYING_BLUE, state, lines, as_of=date(2025, 7, 1)),
        ),
        "en",
    ) == (
        "Gold since 12 March 2025: 60 XP from 2 flights in the current period; "
        "qualification counter: 80 XP; 100 XP needed by 11 March 2026 to keep Gold; "
        "220 XP more to reach Platinum by 11 March 2026."
    )
