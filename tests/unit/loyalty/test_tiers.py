from datetime import date

from egards.loyalty.domain import (
    TierOutcome,
    apply_qualifying,
    close_periods,
    compute_earnings,
    count_period,
    enrol,
    explain_tier,
)
from egards.loyalty.programme import OnTierReached, load_programme

from .builders import FLYING_BLUE, RETAIL, TELECOM, flight, member_at, said

YEAR_START = date(2024, 3, 12)
YEAR_END = date(2025, 3, 11)
NEXT_DAY = date(2025, 3, 12)


def test_explorer_reaching_100_xp_becomes_silver_at_once_and_starts_a_new_period():
    state = enrol(FLYING_BLUE, on=date(2024, 1, 10))
    outcome = apply_qualifying(FLYING_BLUE, state, 104, on=date(2024, 5, 2))
    assert outcome.state.tier == "silver"
    assert outcome.state.since == date(2024, 5, 2)
    assert (outcome.state.period_start, outcome.state.period_end) == (
        date(2024, 5, 2),
        date(2025, 5, 1),
    )
    assert [(e.kind, e.from_tier, e.to_tier) for e in outcome.events] == [
        ("upgraded", "explorer", "silver")
    ]
    assert said(outcome.events[0].reason) == "104 XP reached the Silver threshold of 100 XP"


def test_reaching_a_tier_deducts_its_threshold_from_the_xp_counter():
    silver = member_at("silver", period_start=YEAR_START, period_end=YEAR_END, counter=170)
    outcome = apply_qualifying(FLYING_BLUE, silver, 15, on=date(2024, 9, 1))
    assert (outcome.state.tier, outcome.state.counter) == ("gold", 5)


def test_with_counter_reset_reaching_a_tier_starts_the_counter_at_zero():
    reset = FLYING_BLUE.model_copy(
        update={
            "qualification": FLYING_BLUE.qualification.model_copy(
                update={"on_tier_reached": OnTierReached.RESET}
            )
        }
    )
    silver = member_at("silver", period_start=YEAR_START, period_end=YEAR_END, counter=170)
    outcome = apply_qualifying(reset, silver, 15, on=date(2024, 9, 1))
    assert (outcome.state.tier, outcome.state.counter) == ("gold", 0)


def test_an_explorer_can_skip_straight_to_gold():
    state = enrol(FLYING_BLUE, on=date(2024, 1, 10))
    outcome = apply_qualifying(FLYING_BLUE, state, 190, on=date(2024, 2, 1))
    assert (outcome.state.tier, outcome.state.counter) == ("gold", 10)


def test_gold_member_drops_one_tier_only():
    gold = member_at("gold", period_start=YEAR_START, period_end=YEAR_END, counter=20)
    outcome = close_periods(FLYING_BLUE, gold, as_of=NEXT_DAY)
    assert outcome.state.tier == "silver"  # 20 XP would only support Explorer
    assert outcome.state.counter == 0
    assert (outcome.state.period_start, outcome.state.period_end) == (
        NEXT_DAY,
        date(2026, 3, 11),
    )
    (event,) = outcome.events
    assert event.kind == "downgraded"
    assert said(event.reason) == (
        "20 XP in the period, below the Gold threshold of 180 XP; soft landing: one tier down only"
    )
    assert said(event.reason, "fr") == (
        "20 XP sur la période, sous le seuil de 180 XP du niveau Gold ; rétrogradation d’un seul"
        " niveau"
    )


def test_platinum_member_with_enough_for_gold_lands_on_gold():
    platinum = member_at("platinum", period_start=YEAR_START, period_end=YEAR_END, counter=190)
    assert close_periods(FLYING_BLUE, platinum, as_of=NEXT_DAY).state.tier == "gold"


def test_nothing_happens_before_the_period_ends():
    gold = member_at("gold", period_start=YEAR_START, period_end=YEAR_END, counter=20)
    assert close_periods(FLYING_BLUE, gold, as_of=YEAR_END) == TierOutcome(gold, ())


def test_an_idle_member_slides_one_tier_per_period():
    platinum = member_at("platinum", period_start=YEAR_START, period_end=YEAR_END)
    outcome = close_periods(FLYING_BLUE, platinum, as_of=date(2028, 1, 1))
    assert [e.to_tier for e in outcome.events] == ["gold", "silver", "explorer"]
    assert outcome.state.tier == "explorer"


def test_surplus_xp_rolls_over_up_to_the_cap():
    gold = member_at("gold", period_start=YEAR_START, period_end=YEAR_END, counter=250)
    kept = close_periods(FLYING_BLUE, gold, as_of=NEXT_DAY).state
    assert (kept.tier, kept.counter, kept.since) == ("gold", 70, YEAR_START)

    platinum = member_at("platinum", period_start=YEAR_START, period_end=YEAR_END, counter=850)
    outcome = close_periods(FLYING_BLUE, platinum, as_of=NEXT_DAY)
    assert (outcome.state.tier, outcome.state.counter) == ("platinum", 300)
    assert said(outcome.events[0].reason) == (
        "850 XP in the period reach the Platinum threshold of 300 XP; 300 XP carried over"
    )
    assert said(outcome.events[0].reason, "fr") == (
        "850 XP sur la période atteignent le seuil de 300 XP du niveau Platinum ; 300 XP reportés"
    )


def test_lifetime_platinum_after_ten_consecutive_periods():
    state = enrol(FLYING_BLUE, on=date(2014, 1, 1))
    state = apply_qualifying(FLYING_BLUE, state, 300, on=date(2014, 2, 1)).state
    assert state.tier == "platinum"
    events = []
    for year in range(2014, 2024):
        outcome = apply_qualifying(FLYING_BLUE, state, 300, on=date(year + 1, 1, 15))
        state = outcome.state
        events += outcome.events
    outcome = close_periods(FLYING_BLUE, state, as_of=date(2024, 2, 1))
    state = outcome.state
    events += outcome.events
    assert [e.kind for e in events].count("requalified") == 10
    assert events[-1].kind == "lifetime_granted"
    assert state.lifetime and state.consecutive_periods == 10
    # Years without a single flight no longer cost the status.
    later = close_periods(FLYING_BLUE, state, as_of=date(2030, 6, 1)).state
    assert later.tier == "platinum"


def test_nine_periods_are_not_enough_for_life():
    platinum = member_at(
        "platinum", period_start=YEAR_START, period_end=YEAR_END, counter=300, consecutive=8
    )
    state = close_periods(FLYING_BLUE, platinum, as_of=NEXT_DAY).state
    assert not state.lifetime and state.consecutive_periods == 9


def test_refunded_flight_withdraws_the_tier_it_paid_for():
    explorer = enrol(FLYING_BLUE, on=date(2024, 1, 10))
    state = apply_qualifying(FLYING_BLUE, explorer, 150, on=date(2024, 4, 1)).state
    assert state.tier == "silver" and state.counter == 50
    gold = apply_qualifying(FLYING_BLUE, state, 140, on=date(2024, 6, 1))
    assert (gold.state.tier, gold.state.counter) == ("gold", 10)

    refunded = apply_qualifying(FLYING_BLUE, gold.state, -140, on=date(2024, 6, 20))
    assert [(e.kind, e.from_tier, e.to_tier) for e in refunded.events] == [
        ("withdrawn", "gold", "silver")
    ]
    assert refunded.state == state  # exactly as before the refunded flight


def test_refund_withdraws_a_skipped_tier_and_keeps_the_one_still_reached():
    explorer = enrol(FLYING_BLUE, on=date(2024, 1, 10))
    gold = apply_qualifying(FLYING_BLUE, explorer, 190, on=date(2024, 4, 1)).state
    refunded = apply_qualifying(FLYING_BLUE, gold, -40, on=date(2024, 5, 1))
    assert [(e.kind, e.to_tier) for e in refunded.events] == [
        ("withdrawn", "explorer"),
        ("upgraded", "silver"),
    ]
    # 150 XP reached Silver on the day Gold had been granted; 50 XP remain on the counter.
    assert (refunded.state.tier, refunded.state.since, refunded.state.counter) == (
        "silver",
        date(2024, 4, 1),
        50,
    )


def test_refund_after_upgrade_keeps_the_tier_while_remaining_xp_still_pay_for_it():
    silver = member_at("silver", period_start=YEAR_START, period_end=YEAR_END, counter=170)
    gold = apply_qualifying(FLYING_BLUE, silver, 60, on=date(2024, 9, 1)).state
    refunded = apply_qualifying(FLYING_BLUE, gold, -40, on=date(2024, 9, 5))
    assert refunded.events == ()
    assert (refunded.state.tier, refunded.state.counter) == ("gold", 10)


def test_refund_of_a_flight_from_a_closed_period_leaves_a_debt_on_the_counter():
    gold = member_at("gold", period_start=YEAR_START, period_end=YEAR_END, counter=190)
    kept = close_periods(FLYING_BLUE, gold, as_of=NEXT_DAY).state
    refunded = apply_qualifying(FLYING_BLUE, kept, -30, on=date(2025, 4, 1))
    assert (refunded.state.tier, refunded.state.counter) == ("gold", -20)


def test_retail_tiers_follow_spend_over_the_calendar_year():
    member = enrol(RETAIL, on=date(2025, 2, 3))
    assert (member.period_start, member.period_end) == (date(2025, 1, 1), date(2025, 12, 31))
    gold = apply_qualifying(RETAIL, member, 1_600, on=date(2025, 6, 1)).state
    assert gold.tier == "gold" and gold.period_end == date(2025, 12, 31) and gold.counter == 1_600
    kept = apply_qualifying(RETAIL, gold, 200, on=date(2026, 3, 1)).state
    assert kept.tier == "gold" and kept.counter == 200  # 2025 spend kept Gold for 2026
    dropped = close_periods(RETAIL, kept, as_of=date(2027, 1, 1))
    assert dropped.state.tier == "member"  # requalify: no soft landing in this programme
    assert said(dropped.events[0].reason) == (
        "200 euros spent in the period, below the Gold threshold of 1,500 euros spent"
    )
    assert said(dropped.events[0].reason, "fr") == (
        "200 euros d'achats sur la période, sous le seuil de 1\u202f500 euros d'achats du niveau Or"
    )


def test_telecom_tenure_grows_tier_by_tier_and_never_resets():
    state = enrol(TELECOM, on=date(2020, 1, 1))
    assert state.period_end is None
    tiers = []
    for month in range(61):
        state = apply_qualifying(
            TELECOM, state, 1, on=date(2020 + month // 12, month % 12 + 1, 1)
        ).state
        tiers.append(state.tier)
    assert tiers[10] == "welcome" and tiers[11] == "one_year"
    assert tiers[35] == "three_years" and tiers[59] == "five_years"
    assert state.counter == 61
    assert close_periods(TELECOM, state, as_of=date(2040, 1, 1)).state == state


ROLLING = load_programme(
    """
code: rolling
name: {fr: Glissant, en: Rolling}
currencies:
  - {code: XP, kind: qualifying, name: {fr: XP, en: XP}}
activities:
  - {code: stay, name: {fr: séjour, en: stay}, plural: {fr: séjours, en: stays}}
tiers:
  - {code: base, name: {fr: Base, en: Base}, threshold: 0}
  - {code: silver, name: {fr: Argent, en: Silver}, threshold: 100}
  - {code: gold, name: {fr: Or, en: Gold}, threshold: 200}
qualification:
  currency: XP
  period: {kind: rolling, months: 12, review_months: 1}
  on_tier_reached: keep
  downgrade: soft_landing
"""
)


def test_rolling_window_counts_only_the_last_months_and_reviews_monthly():
    state = enrol(ROLLING, on=date(2024, 1, 1))
    state = apply_qualifying(ROLLING, state, 120, on=date(2024, 1, 15)).state
    state = apply_qualifying(ROLLING, state, 100, on=date(2024, 6, 15)).state
    assert (state.tier, state.counter) == ("gold", 220)
    # January's 120 leave the window on 15 January 2025: 100 remain, Gold falls to Silver.
    outcome = close_periods(ROLLING, state, as_of=date(2025, 2, 2))
    assert outcome.state.tier == "silver" and outcome.state.counter == 100
    assert [e.kind for e in outcome.events].count("downgraded") == 1


def test_explanation_of_a_gold_member_in_both_languages():
    silver = member_at(
        "silver", period_start=date(2024, 5, 1), period_end=date(2025, 4, 30), counter=150
    )
    gold = apply_qualifying(FLYING_BLUE, silver, 34, on=date(2025, 3, 12)).state  # 4 XP left
    lines = []
    for i, day in enumerate([date(2025, 3, 20), date(2025, 5, 2), date(2025, 7, 9)]):
        lines += compute_earnings(FLYING_BLUE, flight(f"f{i}", day, cabin="premium"), "gold")
    state = apply_qualifying(FLYING_BLUE, gold, 30, on=date(2025, 7, 9)).state
    counted = count_period(FLYING_BLUE, state, lines, as_of=date(2025, 8, 1))
    assert said(explain_tier(FLYING_BLUE, state, counted=counted), "en") == (
        "Gold since 12 March 2025: 30 XP from 3 flights in the current period; "
        "qualification counter: 34 XP; 146 XP needed by 11 March 2026 to keep Gold; "
        "266 XP more to reach Platinum by 11 March 2026."
    )
    assert said(explain_tier(FLYING_BLUE, state, counted=counted), "fr") == (
        "Gold depuis le 12 mars 2025 : 30 XP grâce à 3 vols sur la période en cours ; "
        "compteur de qualification : 34 XP ; 146 XP à obtenir d'ici le 11 mars 2026 pour "
        "conserver Gold ; 266 XP de plus pour atteindre Platinum avant le 11 mars 2026."
    )


def test_refunded_purchase_withdraws_every_tier_it_paid_for_in_a_keep_counter_programme():
    member = enrol(RETAIL, on=date(2025, 1, 5))
    member = apply_qualifying(RETAIL, member, 300, on=date(2025, 2, 1)).state
    gold = apply_qualifying(RETAIL, member, 1_300, on=date(2025, 3, 1)).state
    assert gold.tier == "gold"
    refunded = apply_qualifying(RETAIL, gold, -1_300, on=date(2025, 3, 9))
    assert [(e.kind, e.to_tier) for e in refunded.events] == [("withdrawn", "member")]
    assert refunded.state == member
