"""Tier states as stored: read back exactly, and as small as their content."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from egards.loyalty import codec
from egards.loyalty.domain import TierState, apply_qualifying, close_periods, enrol

from .builders import FLYING_BLUE, RETAIL, TELECOM

PROGRAMMES = {"flying_blue": FLYING_BLUE, "retail": RETAIL, "telecom": TELECOM}
START = date(2022, 1, 10)


def _nested(state: TierState) -> dict[str, Any]:
    """The state as written before 2026-12-05: every upgrade's ``before`` with its own
    upgrades in full."""
    data = codec.state_to_json(state)
    data["upgrades"] = [
        {**written, "before": _nested(u.before)}
        for written, u in zip(data["upgrades"], state.upgrades, strict=True)
    ]
    return data


@st.composite
def lived_states(draw: st.DrawFn) -> TierState:
    """A member's state after a random run of qualifying amounts (earnings and refunds) and
    period ends: upgrades stacked in a period, withdrawn, cleared."""
    programme = PROGRAMMES[draw(st.sampled_from(sorted(PROGRAMMES)))]
    state = enrol(programme, on=START)
    on = START
    for _ in range(draw(st.integers(0, 30))):
        on += timedelta(days=draw(st.integers(0, 200)))
        if draw(st.booleans()):
            state = close_periods(programme, state, as_of=on).state
        amount = draw(st.integers(-150, 250).filter(bool))
        state = apply_qualifying(programme, state, amount, on=on, activity_key=f"a{on}").state
    return state


@settings(max_examples=300, deadline=None)
@given(lived_states())
def test_a_stored_tier_state_reads_back_as_it_was_and_as_it_was_stored_before(state):
    written = codec.state_to_json(state)
    assert codec.state_from_json(orjson.loads(orjson.dumps(written))) == state
    assert codec.state_from_json(orjson.loads(orjson.dumps(_nested(state)))) == state


def test_an_upgrade_stores_the_state_before_it_without_the_upgrades_listed_before_it():
    explorer = enrol(FLYING_BLUE, on=date(2025, 1, 1))
    state = explorer
    for day, xp in ((date(2025, 3, 1), 110), (date(2025, 5, 1), 190), (date(2025, 9, 1), 310)):
        state = apply_qualifying(FLYING_BLUE, state, xp, on=day, activity_key=f"f{day}").state
    assert [u.to_tier for u in state.upgrades] == ["silver", "gold", "platinum"]
    written = codec.state_to_json(state)
    assert all("upgrades" not in u["before"] for u in written["upgrades"])
    nested = len(orjson.dumps(_nested(state)))
    assert len(orjson.dumps(written)) < nested * 0.6
    assert codec.state_from_json(written).upgrades[2].before.upgrades == state.upgrades[:2]


def test_an_upgrade_whose_state_before_holds_other_upgrades_keeps_them_written():
    silver = apply_qualifying(
        FLYING_BLUE, enrol(FLYING_BLUE, on=date(2025, 1, 1)), 110, on=date(2025, 3, 1)
    ).state
    (upgrade,) = silver.upgrades
    odd = replace(silver, upgrades=(replace(upgrade, before=silver),))  # not the rules' shape
    written = codec.state_to_json(odd)
    assert written["upgrades"][0]["before"]["upgrades"]
    assert codec.state_from_json(orjson.loads(orjson.dumps(written))) == odd
