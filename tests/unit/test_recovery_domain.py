"""Service recovery rules: gesture costs, budget routing, the recommender on named scenarios
(seed 001's "Rachel's customer" first), and the matched return-on-gestures comparison."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egards.errors import InvalidInput
from egards.recovery.domain import (
    INFLUENCE_CAP,
    KINDS,
    MAX_CENTS,
    MAX_POINTS,
    NON_CUSTOMER_CEILING,
    Budget,
    CaseSignals,
    CustomerSignals,
    GestureOption,
    Outcome,
    PastGesture,
    Weights,
    applies,
    compare,
    format_money,
    grant_cash_cents,
    grant_cost_cents,
    merit,
    month_of,
    recommend,
    route_grant,
    stayed_after,
    validate_catalogue,
    validate_option,
)

PARIS = ZoneInfo("Europe/Paris")


def option(code: str, kind: str, cost_cents: int, cash_cents: int = 0, **kw) -> GestureOption:
    name = {"fr": f"{code} (fr)", "en": f"{code} (en)"}
    if kind == "status_exception":
        kw.setdefault("requires_approval", True)
    return GestureOption(
        code=code, kind=kind, name=name, cost_cents=cost_cents, cash_cents=cash_cents, **kw
    )


MILES = option("miles-5000", "points", 2500, amount=5000, cost_per_thousand_cents=500)
BIG_MILES = option("miles-20000", "points", 10000, amount=20000, cost_per_thousand_cents=500)
VOUCHER = option("voucher-50", "voucher", 5000, 5000, amount=5000, min_amount=1000)
UPGRADE = option("upgrade", "upgrade", 20000)
LOUNGE = option("lounge-pass", "lounge_pass", 3500)
GALA = option("gala-invitation", "event_invitation", 8000)
LETTER = option("letter", "letter", 300, 300)
CREDIT = option("credit-30", "credit", 3000, 3000, amount=3000, max_amount=50000)
RESTORE = option("restore-tier", "status_exception", 12000)
CATALOGUE = [MILES, BIG_MILES, VOUCHER, UPGRADE, LOUNGE, GALA, LETTER, CREDIT, RESTORE]

MILES_NAME = {"fr": "miles", "en": "miles"}

# Seed 001: Gold for six years, downgraded to Silver after a charter flight, two promises broken.
RACHEL_CASE = CaseSignals(
    category="flight_disruption",
    priority="normal",
    broken_promises=2,
    tier_lost="gold",
    tier_lost_name="Gold",
    lost_after_service_failure=True,
)
RACHEL = CustomerSignals(
    is_customer=True,
    tier="silver",
    tier_name="Silver",
    tier_rank=1,
    top_rank=3,
    tenure_years=6.3,
    spend_12m_cents=310_000,
    clv_cents=840_000,
    churn_risk=0.7,
    currency_name=MILES_NAME,
)

LOUD_CASE = CaseSignals(category="delay", priority="high", sentiment=-1.0)
LOUD = CustomerSignals(is_customer=False, followers=250_000)

LOYAL_CASE = CaseSignals(category="delay", priority="normal", sentiment=-0.1)
LOYAL = CustomerSignals(
    is_customer=True,
    tier="platinum",
    tier_name="Platinum",
    tier_rank=3,
    top_rank=3,
    tenure_years=12,
    spend_12m_cents=600_000,
    clv_cents=3_500_000,
    churn_risk=0.1,
    currency_name=MILES_NAME,
)

SMALL_CASE = CaseSignals(category="delay", priority="low")
SMALL = CustomerSignals(
    is_customer=True,
    tier="blue",
    tier_name="Blue",
    top_rank=3,
    tenure_years=1,
    spend_12m_cents=8000,
)


def plain(text: str) -> str:
    """French typography's no-break spaces read as ordinary spaces."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


# --- cost -----------------------------------------------------------------------------------


def test_points_cost_is_per_thousand_rounded_half_up_to_the_cent():
    assert grant_cost_cents(MILES, 5000) == 2500
    assert grant_cost_cents(MILES, 1) == 1  # 0.5 cent rounds up
    cheaper = replace(MILES, cost_per_thousand_cents=499)
    assert grant_cost_cents(cheaper, 1) == 0  # 0.499 cent rounds down
    assert grant_cost_cents(replace(MILES, cost_per_thousand_cents=333), 3) == 1


def test_voucher_cost_is_a_percent_of_face_value_rounded_half_up():
    assert grant_cost_cents(replace(VOUCHER, cost_percent=60, min_amount=None), 5000) == 3000
    assert grant_cost_cents(replace(VOUCHER, cost_percent=50, min_amount=None), 1) == 1
    assert grant_cost_cents(replace(VOUCHER, cost_percent=49, min_amount=None), 1) == 0
    assert grant_cost_cents(CREDIT, 4321) == 4321


def test_default_amount_is_granted_when_none_is_given():
    assert grant_cost_cents(MILES, None) == 2500
    assert grant_cost_cents(BIG_MILES, None) == 10000
    assert grant_cost_cents(CREDIT, None) == 3000


def test_fixed_kinds_cost_their_catalogue_price():
    assert grant_cost_cents(UPGRADE, None) == 20000
    assert grant_cost_cents(RESTORE, None) == 12000
    assert grant_cost_cents(LETTER, None) == 300


def test_cash_follows_the_amount_and_never_exceeds_the_cost():
    assert grant_cash_cents(VOUCHER, 2000) == 2000
    assert grant_cash_cents(MILES, 9000) == 0
    assert grant_cash_cents(RESTORE, None) == 0
    assert grant_cash_cents(replace(VOUCHER, cost_percent=40), 5000) == 2000


@pytest.mark.parametrize(
    ("gesture", "amount"),
    [
        (MILES, 0),
        (MILES, -500),
        (MILES, MAX_POINTS + 1),
        (VOUCHER, 999),  # below min_amount
        (CREDIT, 50001),  # above max_amount
        (replace(CREDIT, max_amount=None), MAX_CENTS + 1),
        (LETTER, 1),  # a letter takes no amount
        (RESTORE, 100),
        (MILES, True),
        (replace(MILES, amount=None), None),  # nothing given, no default
    ],
)
def test_bad_amounts_are_refused_on_the_amount_field(gesture, amount):
    with pytest.raises(InvalidInput) as refused:
        grant_cost_cents(gesture, amount)
    assert refused.value.field == "amount"


def test_the_catalogue_entries_used_here_are_valid():
    assert validate_catalogue(CATALOGUE) == CATALOGUE


@pytest.mark.parametrize(
    ("gesture", "field"),
    [
        (replace(RESTORE, requires_approval=False), "requires_approval"),
        (replace(MILES, cost_per_thousand_cents=None), "cost_per_thousand_cents"),
        (replace(LETTER, cash_cents=400), "cash_cents"),
        (replace(LETTER, cost_cents=-1, cash_cents=0), "cost_cents"),
        (replace(LETTER, amount=5), "amount"),
        (replace(VOUCHER, cost_percent=120), "cost_percent"),
        (replace(VOUCHER, min_amount=9000, max_amount=8000), "min_amount"),
        (replace(VOUCHER, amount=500), "amount"),
        (replace(LETTER, name={"fr": "Lettre"}), "name"),
        (replace(LETTER, name={"fr": "Lettre", "en": 2}), "name"),  # YAML: {en: 2,000 miles}
        (replace(LETTER, kind="hug"), "kind"),
    ],
)
def test_incoherent_catalogue_entries_are_refused(gesture, field):
    with pytest.raises(InvalidInput) as refused:
        validate_option(gesture)
    assert refused.value.field == field


def test_a_catalogue_code_appears_once():
    with pytest.raises(InvalidInput) as refused:
        validate_catalogue([LETTER, replace(LETTER, cost_cents=500, cash_cents=500)])
    assert refused.value.field == "code"


# --- budgets --------------------------------------------------------------------------------


def test_remaining_budget_is_never_negative():
    assert Budget(limit_cents=10000, spent_cents=2500).remaining_cents == 7500
    assert Budget(limit_cents=10000, spent_cents=12000).remaining_cents == 0


def test_an_agent_grants_within_budget_without_asking_anyone():
    decision = route_grant(MILES, 2500, agent=Budget(20000, 5000), team=Budget(500000, 100000))
    assert decision.route == "grant"
    assert decision.reasons == ("within_budget",)


def test_the_last_euros_of_both_budgets_can_be_spent():
    decision = route_grant(MILES, 2500, agent=Budget(20000, 17500), team=Budget(50000, 47500))
    assert decision.route == "grant"


def test_one_cent_over_the_agent_budget_asks_a_supervisor():
    decision = route_grant(MILES, 2501, agent=Budget(20000, 17500), team=Budget(500000, 0))
    assert decision.route == "approval"
    assert decision.reasons == ("over_agent_budget",)


def test_over_the_team_budget_only_asks_a_supervisor():
    decision = route_grant(MILES, 2500, agent=Budget(20000, 0), team=Budget(50000, 49000))
    assert decision.route == "approval"
    assert decision.reasons == ("over_team_budget",)


def test_over_both_budgets_gives_both_reasons():
    decision = route_grant(VOUCHER, 5000, agent=Budget(1000, 0), team=Budget(1000, 0))
    assert decision.reasons == ("over_agent_budget", "over_team_budget")


def test_a_status_exception_always_needs_approval_even_free_and_within_budget():
    free = replace(RESTORE, cost_cents=0)
    decision = route_grant(free, 0, agent=Budget(100000, 0), team=Budget(1000000, 0))
    assert decision.route == "approval"
    assert decision.reasons == ("status_exception",)


def test_an_option_flagged_for_approval_goes_to_a_supervisor():
    flagged = replace(UPGRADE, requires_approval=True)
    decision = route_grant(flagged, 20000, agent=Budget(10000, 0), team=Budget(1000000, 0))
    assert decision.reasons == ("approval_required", "over_agent_budget")


def test_negative_costs_and_budgets_are_refused():
    with pytest.raises(InvalidInput) as refused:
        route_grant(MILES, -1, agent=Budget(100, 0), team=Budget(100, 0))
    assert refused.value.field == "cost_cents"
    with pytest.raises(InvalidInput) as refused:
        Budget(limit_cents=-100, spent_cents=0)
    assert refused.value.field == "limit_cents"


def test_the_budget_month_is_the_month_in_paris():
    assert month_of(datetime(2025, 1, 31, 22, 59, tzinfo=UTC), PARIS) == "2025-01"
    assert month_of(datetime(2025, 1, 31, 23, 0, tzinfo=UTC), PARIS) == "2025-02"
    # Summer time: Paris is two hours ahead.
    assert month_of(datetime(2025, 6, 30, 21, 59, tzinfo=UTC), PARIS) == "2025-06"
    assert month_of(datetime(2025, 6, 30, 22, 0, tzinfo=UTC), PARIS) == "2025-07"


def test_a_moment_without_a_zone_is_refused():
    with pytest.raises(InvalidInput) as refused:
        month_of(datetime(2025, 1, 31, 23, 0), PARIS)
    assert refused.value.field == "moment"


# --- recommender: named scenarios -----------------------------------------------------------


def test_rachels_customer_gets_gold_restored_first():
    proposals = recommend(RACHEL_CASE, RACHEL, CATALOGUE)
    first = proposals[0]
    assert first.kind == "status_exception"
    assert first.requires_approval
    assert first.cash_cents == 0
    english, french = first.reason["en"], plain(first.reason["fr"])
    for fact in ("Gold for 6 years", "CLV €8,400", "2 broken promises", "restore Gold"):
        assert fact in english
    assert "cost €0 in cash" in english
    for fact in ("Gold depuis 6 ans", "8 400 €", "rétablir Gold", "coût 0 € en numéraire"):
        assert fact in french


def test_rachels_customer_is_also_offered_miles():
    kinds = [p.kind for p in recommend(RACHEL_CASE, RACHEL, CATALOGUE)]
    assert "points" in kinds
    miles = next(p for p in recommend(RACHEL_CASE, RACHEL, CATALOGUE) if p.kind == "points")
    assert "5,000 bonus miles" in miles.reason["en"]


def test_loud_non_customer_does_not_outrank_silent_loyal():
    for weights in (Weights(), Weights(influence=1.0), Weights(influence=50.0, need=3.0)):
        assert merit(LOYAL_CASE, LOYAL, weights) > merit(LOUD_CASE, LOUD, weights)
    for weights in (Weights(), Weights(influence=1.0)):
        proposals = recommend(LOUD_CASE, LOUD, CATALOGUE, weights)
        assert proposals[0].kind == "letter"
        assert {p.kind for p in proposals}.isdisjoint({"status_exception", "points"})


def test_followers_add_little_to_merit_and_only_when_weighted():
    quiet = replace(LOYAL, followers=0)
    famous = replace(LOYAL, followers=1_000_000)
    assert merit(LOYAL_CASE, famous) == merit(LOYAL_CASE, quiet)
    boosted = merit(LOYAL_CASE, famous, Weights(influence=1.0))
    assert 0 < boosted - merit(LOYAL_CASE, quiet, Weights(influence=1.0)) <= INFLUENCE_CAP + 1e-12


def test_a_loyal_customer_merits_more_than_a_small_one():
    assert merit(RACHEL_CASE, RACHEL) > merit(LOYAL_CASE, LOYAL) > merit(SMALL_CASE, SMALL)


def test_expensive_gestures_rank_low_for_low_merit():
    proposals = recommend(SMALL_CASE, SMALL, CATALOGUE, top=len(CATALOGUE))
    assert proposals[0].kind == "letter"
    assert "upgrade" not in [p.kind for p in proposals[:3]]
    by_kind = {p.kind: p for p in proposals}
    loyal = {p.kind: p for p in recommend(LOYAL_CASE, LOYAL, CATALOGUE, top=len(CATALOGUE))}
    assert loyal["upgrade"].score > by_kind["upgrade"].score


def test_an_expensive_gesture_scores_below_a_cheaper_one_of_the_same_fit():
    lavish = replace(GALA, code="gala-lavish", cost_cents=80000)
    proposals = recommend(LOYAL_CASE, LOYAL, [GALA, lavish], top=1)
    assert proposals[0].code == "gala-invitation"
    alone = recommend(LOYAL_CASE, LOYAL, [lavish], top=1)[0]
    assert alone.score < proposals[0].score


def test_a_kind_that_did_not_work_before_drops():
    failed = replace(RACHEL, past_gestures=(PastGesture("status_exception", worked=False),))
    before = {p.kind: p for p in recommend(RACHEL_CASE, RACHEL, CATALOGUE, top=9)}
    after = recommend(RACHEL_CASE, failed, CATALOGUE, top=9)
    assert after[0].kind != "status_exception"
    dropped = next(p for p in after if p.kind == "status_exception")
    assert dropped.score < before["status_exception"].score
    assert "did not work last time" in dropped.reason["en"]


def test_a_kind_that_worked_before_rises_and_unknown_outcomes_count_for_nothing():
    base = {p.kind: p.score for p in recommend(LOYAL_CASE, LOYAL, CATALOGUE, top=9)}
    worked = replace(LOYAL, past_gestures=(PastGesture("points", worked=True),))
    pending = replace(LOYAL, past_gestures=(PastGesture("points", worked=None),))
    assert {p.kind: p.score for p in recommend(LOYAL_CASE, worked, CATALOGUE, top=9)}[
        "points"
    ] > base["points"]
    assert {p.kind: p.score for p in recommend(LOYAL_CASE, pending, CATALOGUE, top=9)} == base


def test_recommendation_does_not_depend_on_catalogue_order():
    expected = recommend(RACHEL_CASE, RACHEL, CATALOGUE, top=9)
    shuffled = list(CATALOGUE)
    random.Random(6).shuffle(shuffled)
    assert recommend(RACHEL_CASE, RACHEL, shuffled, top=9) == expected
    assert recommend(RACHEL_CASE, RACHEL, list(reversed(CATALOGUE)), top=9) == expected


def test_equal_scores_are_ordered_by_code():
    # No value at all: an upgrade and a lounge pass of the same price fit equally.
    member = CustomerSignals(is_customer=True, tier="blue", tier_name="Blue")
    a = option("a-upgrade", "upgrade", 3000)
    b = option("b-lounge", "lounge_pass", 3000)
    assert [p.code for p in recommend(SMALL_CASE, member, [b, a], top=2)] == [
        "a-upgrade",
        "b-lounge",
    ]
    a, b = replace(a, code="b-upgrade"), replace(b, code="a-lounge")
    assert [p.code for p in recommend(SMALL_CASE, member, [a, b], top=2)] == [
        "a-lounge",
        "b-upgrade",
    ]


def test_one_proposal_per_kind_the_best_of_its_kind():
    proposals = recommend(RACHEL_CASE, RACHEL, CATALOGUE, top=9)
    kinds = [p.kind for p in proposals]
    assert len(kinds) == len(set(kinds))
    twin = replace(LETTER, code="a-letter")
    letters = [p for p in recommend(SMALL_CASE, SMALL, [LETTER, twin]) if p.kind == "letter"]
    assert [p.code for p in letters] == ["a-letter"]


def test_inactive_options_are_never_proposed():
    retired = replace(RESTORE, active=False)
    proposals = recommend(RACHEL_CASE, RACHEL, [*CATALOGUE[:-1], retired], top=9)
    assert "restore-tier" not in [p.code for p in proposals]


def test_three_proposals_by_default_and_never_more_than_top():
    assert len(recommend(RACHEL_CASE, RACHEL, CATALOGUE)) == 3
    assert len(recommend(RACHEL_CASE, RACHEL, CATALOGUE, top=1)) == 1
    assert len(recommend(LOUD_CASE, LOUD, CATALOGUE, top=9)) == 3  # letter, voucher, invitation
    with pytest.raises(InvalidInput) as refused:
        recommend(RACHEL_CASE, RACHEL, CATALOGUE, top=0)
    assert refused.value.field == "top"


def test_membership_gestures_need_a_membership():
    for kind in ("points", "status_exception", "upgrade", "lounge_pass", "credit"):
        assert not applies(kind, LOUD_CASE, LOUD)
    shopper = CustomerSignals(is_customer=True, spend_12m_cents=50000)
    assert not applies("points", SMALL_CASE, shopper)
    assert applies("credit", SMALL_CASE, shopper)
    for kind in ("letter", "voucher", "event_invitation"):
        assert applies(kind, LOUD_CASE, LOUD)


def test_expected_cost_and_cash_come_from_the_catalogue():
    proposals = {p.code: p for p in recommend(RACHEL_CASE, RACHEL, CATALOGUE, top=9)}
    assert proposals["restore-tier"].expected_cost_cents == 12000
    assert proposals["credit-30"].cash_cents == 3000


@pytest.mark.parametrize(
    ("case", "customer", "field"),
    [
        (replace(LOYAL_CASE, priority="critical"), LOYAL, "priority"),
        (replace(LOYAL_CASE, sentiment=-1.5), LOYAL, "sentiment"),
        (LOYAL_CASE, replace(LOYAL, churn_risk=1.2), "churn_risk"),
        (replace(LOYAL_CASE, broken_promises=-1), LOYAL, "broken_promises"),
        (LOYAL_CASE, replace(LOYAL, tenure_years=-2.0), "tenure_years"),
    ],
)
def test_out_of_range_signals_are_refused(case, customer, field):
    with pytest.raises(InvalidInput) as refused:
        merit(case, customer)
    assert refused.value.field == field


def test_negative_weights_are_refused():
    with pytest.raises(InvalidInput) as refused:
        Weights(cost=-1.0)
    assert refused.value.field == "weights.cost"


def test_money_reads_naturally_in_both_languages():
    assert format_money(840_000, "en") == "€8,400"
    assert plain(format_money(840_000, "fr")) == "8 400 €"
    assert format_money(1250, "en") == "€12.50"
    assert plain(format_money(1250, "fr")) == "12,50 €"


# --- recommender: properties ----------------------------------------------------------------

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
weight = st.floats(min_value=0.0, max_value=20.0, allow_nan=False)
cases = st.builds(
    CaseSignals,
    category=st.sampled_from([None, "delay", "billing"]),
    priority=st.sampled_from(["low", "normal", "high", "urgent"]),
    broken_promises=st.integers(0, 10),
    repeated_incidents=st.integers(0, 20),
    sentiment=st.none() | st.floats(min_value=-1.0, max_value=1.0, allow_nan=False),
    tier_lost=st.none() | st.just("gold"),
    tier_lost_name=st.none() | st.just("Gold"),
    lost_after_service_failure=st.booleans(),
)
customers = st.builds(
    CustomerSignals,
    is_customer=st.booleans(),
    tier=st.none() | st.sampled_from(["blue", "silver", "gold"]),
    tier_name=st.none() | st.just("Silver"),
    tier_rank=st.integers(0, 3),
    top_rank=st.integers(0, 3),
    tenure_years=st.floats(min_value=0.0, max_value=60.0, allow_nan=False),
    spend_12m_cents=st.integers(0, MAX_CENTS),
    clv_cents=st.none() | st.integers(0, MAX_CENTS),
    churn_risk=st.none() | unit,
    followers=st.integers(0, 100_000_000),
    past_gestures=st.lists(
        st.builds(PastGesture, kind=st.sampled_from(KINDS), worked=st.none() | st.booleans()),
        max_size=5,
    ).map(tuple),
)
weights = st.builds(
    Weights,
    value=weight,
    risk=weight,
    need=weight,
    tenure=weight,
    influence=weight,
    cost=weight,
    history=weight,
)


@st.composite
def options(draw: st.DrawFn) -> GestureOption:
    kind = draw(st.sampled_from(KINDS))
    code = draw(st.text("abcdefgh-", min_size=1, max_size=6))
    active = draw(st.booleans())
    if kind == "points":
        amount = draw(st.integers(1, 100_000))
        per_thousand = draw(st.integers(0, 2000))
        cost = (amount * per_thousand + 500) // 1000
        return option(
            code, kind, cost, amount=amount, cost_per_thousand_cents=per_thousand, active=active
        )
    if kind in ("voucher", "credit"):
        amount = draw(st.integers(1, 100_000))
        percent = draw(st.integers(0, 100))
        cost = (amount * percent + 50) // 100
        cash = draw(st.integers(0, cost))
        return option(code, kind, cost, cash, amount=amount, cost_percent=percent, active=active)
    cost = draw(st.integers(0, 100_000))
    return option(code, kind, cost, draw(st.integers(0, cost)), active=active)


@settings(max_examples=200, deadline=None)
@given(case=cases, customer=customers, weights=weights)
def test_merit_is_always_between_zero_and_one(case, customer, weights):
    assert 0.0 <= merit(case, customer, weights) <= 1.0


@settings(max_examples=100, deadline=None)
@given(case=cases, customer=customers, weights=weights)
def test_a_non_customer_never_rises_above_the_ceiling_and_followers_stay_capped(
    case, customer, weights
):
    if not customer.is_customer:
        assert merit(case, customer, weights) <= NON_CUSTOMER_CEILING
    silent = merit(case, replace(customer, followers=0), weights)
    assert merit(case, customer, weights) - silent <= INFLUENCE_CAP + 1e-12


@settings(max_examples=150, deadline=None)
@given(
    case=cases,
    customer=customers,
    catalogue=st.lists(options(), max_size=12),
    weights=weights,
    top=st.integers(1, 5),
)
def test_recommend_offers_only_active_applicable_gestures_within_top(
    case, customer, catalogue, weights, top
):
    proposals = recommend(case, customer, catalogue, weights, top=top)
    active = {o.code for o in catalogue if o.active}
    assert len(proposals) <= top
    assert len({p.kind for p in proposals}) == len(proposals)
    assert [p.score for p in proposals] == sorted((p.score for p in proposals), reverse=True)
    for p in proposals:
        assert p.code in active
        assert applies(p.kind, case, customer)
        assert 0 <= p.cash_cents <= p.expected_cost_cents
        assert p.reason["fr"] and p.reason["en"]
        if p.kind == "status_exception":
            assert p.requires_approval


@given(gesture=options(), a=st.integers(1, 100_000), b=st.integers(1, 100_000))
def test_cost_is_never_negative_and_grows_with_the_amount(gesture, a, b):
    if gesture.kind not in ("points", "voucher", "credit"):
        assert grant_cost_cents(gesture, None) >= 0
        return
    low, high = sorted((a, b))
    assert 0 <= grant_cost_cents(gesture, low) <= grant_cost_cents(gesture, high)


# --- return on gestures ---------------------------------------------------------------------

D = date(2025, 3, 1)


def day(n: int) -> date:
    return D + timedelta(days=n - 1)


def treated(customer_id, on, category, band, kind, cost, spend_90, spend_180, stayed, csat):
    return Outcome(
        customer_id,
        on,
        category,
        band,
        kind,
        cost_cents=cost,
        spend_90_cents=spend_90,
        spend_180_cents=spend_180,
        active_180=spend_180 > 0,
        stayed=stayed,
        csat=csat,
    )


def control(customer_id, on, category, band, spend_90, spend_180, stayed=True, csat=None):
    return treated(customer_id, on, category, band, None, 0, spend_90, spend_180, stayed, csat)


TREATED = [
    treated(1, day(10), "delay", 5, "points", 2500, 10000, 30000, True, 5),
    treated(2, day(20), "delay", 5, "points", 1500, 0, 6000, False, 3),
    treated(3, day(15), "lost", 2, "letter", 0, 2000, 5000, True, 4),
    treated(4, day(15), "billing", 5, "voucher", 5000, 0, 100, True, None),
]
CONTROLS = [
    control(10, day(1), "delay", 5, 5000, 12000, csat=4),
    control(11, day(12), "delay", 5, 3000, 9000),
    control(12, day(56), "delay", 5, 0, 30000),  # 46 and 36 days away: outside the window
    control(1, day(10), "delay", 5, 0, 0, stayed=False, csat=1),  # customer 1 itself
    control(13, day(11), "delay", 4, 0, 50000),  # another value band
    control(14, day(16), "lost", 2, 1000, 4000, csat=2),
]


def test_return_on_gestures_on_a_small_hand_computed_example():
    report = compare(TREATED, CONTROLS, margin_percent=30, window_days=30, k=2)
    assert [r.kind for r in report.kinds] == ["points", "voucher", "letter"]
    points, _, letter = report.kinds
    # Customer 1 (day 10): controls 11 (2 days) and 10 (9 days); itself excluded.
    # Customer 2 (day 20): controls 11 (8 days) and customer 1's case (10 days).
    assert (points.gestures, points.matched, points.cost_cents) == (2, 2, 4000)
    assert points.spend_180_treated_cents == 18000.0  # (30000 + 6000) / 2
    assert points.spend_180_control_cents == 7500.0  # (10500 + 4500) / 2
    assert points.spend_90_treated_cents == 5000.0
    assert points.spend_90_control_cents == 2750.0  # (4000 + 1500) / 2
    assert points.stayed_treated == 0.5
    assert points.stayed_control == 0.75  # (1 + 0.5) / 2
    assert points.csat_treated == 4.0
    assert points.csat_control == 2.5  # (4 + 1) / 2: controls without CSAT left out
    assert points.uplift_cents == 21000  # (30000 - 10500) + (6000 - 4500)
    assert points.return_per_euro == pytest.approx(21000 * 0.30 / 4000)
    assert (letter.matched, letter.uplift_cents) == (1, 1000)
    assert letter.return_per_euro is None  # a letter that cost nothing has no return per euro
    assert report.total.kind == "all"
    assert (report.total.gestures, report.total.matched, report.total.cost_cents) == (4, 3, 9000)
    assert report.total.uplift_cents == 22000
    assert report.total.return_per_euro == pytest.approx(22000 * 0.30 / 4000)
    assert "30 days" in report.method and "30% margin" in report.method


def test_a_gesture_without_any_similar_case_counts_but_is_not_compared():
    report = compare(TREATED, CONTROLS, window_days=30, k=2)
    voucher = next(r for r in report.kinds if r.kind == "voucher")
    assert (voucher.gestures, voucher.matched, voucher.cost_cents) == (1, 0, 5000)
    assert voucher.uplift_cents == 0
    assert voucher.return_per_euro is None
    assert voucher.csat_treated is None and voucher.csat_control is None


def test_nearest_controls_win_and_equal_distances_go_to_the_lower_customer_id():
    gesture = [treated(1, day(10), "delay", 5, "points", 1000, 0, 1000, True, None)]
    near = [
        control(21, day(8), "delay", 5, 0, 100),
        control(20, day(12), "delay", 5, 0, 200),
        control(5, day(20), "delay", 5, 0, 900),
    ]
    assert compare(gesture, near, k=1).total.spend_180_control_cents == 200.0
    assert compare(gesture, near, k=2).total.spend_180_control_cents == 150.0
    # The window is inclusive: 10 days away is in with window_days=10, out with 9.
    assert compare(gesture, near, k=3, window_days=10).total.spend_180_control_cents == 400.0
    assert compare(gesture, near, k=3, window_days=9).total.spend_180_control_cents == 150.0


def test_uplift_is_rounded_to_the_nearest_cent_from_the_exact_means():
    gesture = [treated(1, day(10), "delay", 5, "credit", 300, 0, 1000, True, None)]
    thirds = [control(i, day(10), "delay", 5, 0, s) for i, s in ((7, 0), (8, 0), (9, 1))]
    assert compare(gesture, thirds, k=3).total.uplift_cents == 1000  # 1000 - 1/3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"k": 0}, "k"),
        ({"window_days": -1}, "window_days"),
        ({"margin_percent": 150}, "margin_percent"),
    ],
)
def test_bad_comparison_parameters_are_refused(kwargs, field):
    with pytest.raises(InvalidInput) as refused:
        compare(TREATED, CONTROLS, **kwargs)
    assert refused.value.field == field


def test_a_control_that_received_a_gesture_is_refused():
    with pytest.raises(InvalidInput) as refused:
        compare(TREATED, [*CONTROLS, TREATED[0]])
    assert refused.value.field == "controls"


outcomes = st.builds(
    Outcome,
    customer_id=st.integers(1, 6),
    on=st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 6, 30)),
    category=st.sampled_from(["delay", "billing"]),
    value_band=st.integers(0, 2),
    kind=st.none(),
    spend_180_cents=st.integers(0, 100_000),
)


@settings(max_examples=60, deadline=None)
@given(
    treated_outcomes=st.lists(
        outcomes.flatmap(
            lambda o: st.sampled_from(KINDS).map(
                lambda kind: replace(o, kind=kind, cost_cents=o.customer_id * 100)
            )
        ),
        max_size=12,
    ),
    control_outcomes=st.lists(outcomes, max_size=20),
    k=st.integers(1, 4),
)
def test_every_gesture_is_counted_once_and_kinds_follow_catalogue_order(
    treated_outcomes, control_outcomes, k
):
    report = compare(treated_outcomes, control_outcomes, k=k)
    assert report.total.gestures == len(treated_outcomes)
    assert sum(r.gestures for r in report.kinds) == len(treated_outcomes)
    assert sum(r.matched for r in report.kinds) == report.total.matched <= report.total.gestures
    present = {r.kind for r in report.kinds}
    assert [r.kind for r in report.kinds] == [kind for kind in KINDS if kind in present]


def test_a_subscriber_stayed_unless_a_contract_ended_in_the_180_days_after():
    on = date(2026, 1, 10)
    assert stayed_after(on, [])
    assert stayed_after(on, [date(2025, 12, 1), date(2026, 7, 10)])  # before, and day 181
    assert not stayed_after(on, [date(2026, 7, 9)])  # day 180
    assert not stayed_after(on, [date(2026, 1, 11)])


def test_a_proposals_reason_is_worded_from_the_catalogue_in_each_language():
    restore = recommend(RACHEL_CASE, RACHEL, CATALOGUE)[0]
    assert restore.reason["en"] == (
        "Gold for 6 years, CLV €8,400, 2 broken promises, downgraded after a service failure: "
        "restore Gold, cost €0 in cash (€120 in all)"
    )
    assert restore.reason["fr"] == (
        "Gold depuis 6 ans, valeur client 8\u202f400\u00a0€, 2 promesses non tenues, déclassé "
        "après un incident de service\u00a0: rétablir Gold, coût 0\u00a0€ en numéraire "
        "(120\u00a0€ au total)"
    )
