from datetime import date

import pytest

from egards.loyalty.domain import Activity, compute_earnings, round_points, validate_activity
from egards.loyalty.errors import InvalidActivity
from egards.loyalty.programme import Rounding

from .builders import FLYING_BLUE, RETAIL, TELECOM, flight, purchase, refund, said

DAY = date(2025, 3, 1)


def earned(lines, currency):
    return sum(line.amount for line in lines if line.currency == currency)


@pytest.mark.parametrize(
    ("miles", "domestic", "xp"),
    [
        (400, True, (2, 4, 6, 10)),
        (4000, True, (2, 4, 6, 10)),  # domestic whatever the distance (e.g. Paris-Réunion)
        (1999, False, (5, 10, 15, 25)),
        (2000, False, (8, 16, 24, 40)),
        (3500, False, (8, 16, 24, 40)),
        (3501, False, (10, 20, 30, 50)),
        (5000, False, (10, 20, 30, 50)),
        (5001, False, (12, 24, 36, 60)),
    ],
)
def test_flight_xp_by_distance_band_and_cabin(miles, domestic, xp):
    for cabin, expected in zip(("economy", "premium", "business", "first"), xp, strict=True):
        activity = flight("f", DAY, cabin=cabin, miles=miles, domestic=domestic)
        assert earned(compute_earnings(FLYING_BLUE, activity, "explorer"), "XP") == expected


def test_miles_per_euro_depend_on_the_tier_and_exclude_taxes():
    activity = flight("f", DAY, fare_cents=100_050, taxes_cents=30_000)
    by_tier = {
        tier: earned(compute_earnings(FLYING_BLUE, activity, tier), "MILES")
        for tier in ("explorer", "silver", "gold", "platinum")
    }
    # 1,000.50 EUR excluding taxes, rounded down: 4,002 / 6,003 / 7,003 / 8,004
    assert by_tier == {"explorer": 4002, "silver": 6003, "gold": 7003, "platinum": 8004}


def test_every_line_names_its_rule_and_a_reason():
    lines = compute_earnings(FLYING_BLUE, flight("f", DAY, cabin="business", miles=5800), "gold")
    assert [(e.currency, e.amount, e.rule_id) for e in lines] == [
        ("XP", 36, "xp-flight"),
        ("MILES", 1400, "miles-ticket"),
    ]
    assert said(lines[0].reason) == "XP per flight: long haul 3, Business = 36 XP"
    assert said(lines[0].reason, "fr") == "XP par vol : long-courrier 3, Business = 36 XP"
    assert said(lines[1].reason) == ("Miles per euro spent: €200 × 7 (rounded down) = 1,400 Miles")
    assert said(lines[1].reason, "fr") == (
        "Miles par euro dépensé : 200\u00a0€ × 7 (arrondi à l’inférieur) = 1\u202f400 Miles"
    )
    assert lines[0].qualifying and not lines[1].qualifying


def test_refund_reverses_exact_xp_and_miles():
    original = compute_earnings(
        FLYING_BLUE, flight("f", DAY, cabin="premium", miles=4200, fare_cents=123_399), "silver"
    )
    # The member has become Platinum since: the reversal still takes back exactly what was given.
    reversal = compute_earnings(
        FLYING_BLUE, refund("r", date(2025, 4, 2), of="f"), "platinum", original=original
    )
    assert [(e.currency, e.amount, e.rule_id) for e in reversal] == [
        ("XP", -20, "xp-flight"),
        ("MILES", -7403, "miles-ticket"),
    ]
    assert all(e.reverses == "f" and e.activity_key == "r" for e in reversal)
    assert earned(original + reversal, "XP") == earned(original + reversal, "MILES") == 0


def test_a_refund_without_the_original_earnings_is_refused():
    with pytest.raises(InvalidActivity):
        compute_earnings(FLYING_BLUE, refund("r", DAY, of="f"), "gold")


def test_an_unknown_cabin_is_an_error_not_zero_points():
    with pytest.raises(InvalidActivity) as caught:
        compute_earnings(FLYING_BLUE, flight("f", DAY, cabin="bunk"), "gold")
    assert caught.value.field == "attributes.cabin"


def test_partner_miles_are_capped_per_calendar_year():
    activity = Activity(key="p", kind="partner", on=DAY, amounts={"spend": 300_000})
    lines = compute_earnings(
        FLYING_BLUE, activity, "gold", earned_in_cap_window={"miles-partner": 48_500}
    )
    assert earned(lines, "MILES") == 1500


@pytest.mark.parametrize(
    ("rounding", "value", "expected"),
    [
        (Rounding.FLOOR, "2.5", 2),
        (Rounding.CEILING, "2.1", 3),
        (Rounding.HALF_UP, "2.5", 3),
        (Rounding.HALF_EVEN, "2.5", 2),
        (Rounding.HALF_DOWN, "2.5", 2),
        (Rounding.DOWN, "-2.5", -2),
        (Rounding.FLOOR, "-2.5", -3),
    ],
)
def test_rounding_is_explicit(rounding, value, expected):
    from decimal import Decimal

    assert round_points(Decimal(value), rounding) == expected


def test_retail_points_by_tier_round_half_up_and_skip_excluded_categories():
    basket = purchase("a", DAY, cents=1_033, delivery=500)  # 10.33 EUR of goods
    assert earned(compute_earnings(RETAIL, basket, "silver"), "POINTS") == 15  # 15.495 -> 15
    assert earned(compute_earnings(RETAIL, basket, "silver"), "SPEND") == 10
    tobacco = purchase("t", DAY, cents=2_000, category="tobacco")
    lines = compute_earnings(RETAIL, tobacco, "gold")
    assert earned(lines, "POINTS") == 0 and earned(lines, "SPEND") == 20
    gift = purchase("g", DAY, cents=5_000, category="gift_card")
    assert compute_earnings(RETAIL, gift, "gold") == []


def test_retail_organic_bonus_is_capped_per_month():
    basket = purchase("o", DAY, cents=100_000, category="organic")
    lines = compute_earnings(
        RETAIL, basket, "member", earned_in_cap_window={"points-organic": 1_500}
    )
    assert {e.rule_id: e.amount for e in lines if e.currency == "POINTS"} == {
        "points-per-euro": 1000,
        "points-organic": 500,
    }


def test_retail_points_are_capped_per_purchase():
    lines = compute_earnings(RETAIL, purchase("big", DAY, cents=400_000), "gold")
    assert {e.rule_id: e.amount for e in lines} == {
        "spend-qualifying": 4000,
        "points-per-euro": 5000,
    }


def test_black_friday_doubles_points_only_inside_its_window():
    inside = compute_earnings(RETAIL, purchase("bf", date(2025, 11, 28), cents=10_000), "silver")
    assert [(e.rule_id, e.amount) for e in inside if e.currency == "POINTS"] == [
        ("points-per-euro", 150),
        ("double-points-black-friday", 150),
    ]
    after = compute_earnings(RETAIL, purchase("x", date(2025, 12, 1), cents=10_000), "silver")
    assert earned(after, "POINTS") == 150


def test_telecom_month_of_subscription_earns_tenure_and_points_by_plan():
    month = Activity(
        key="m", kind="subscription_month", on=DAY, attributes={"plan": "bundle"}, quantity=3
    )
    lines = compute_earnings(TELECOM, month, "welcome")
    assert earned(lines, "MONTHS") == 3 and earned(lines, "POINTS") == 75


def test_a_plan_the_programme_does_not_name_is_quoted_as_written():
    rules = [
        rule.model_copy(update={"values": {}}) if rule.id == "points-month" else rule
        for rule in TELECOM.earning
    ]
    unnamed = TELECOM.model_copy(update={"earning": rules})
    month = Activity(key="m", kind="subscription_month", on=DAY, attributes={"plan": "bundle"})
    (line,) = [e for e in compute_earnings(unnamed, month, "welcome") if e.currency == "POINTS"]
    assert said(line.reason) == "points per month of subscription: plan, “bundle” = 25 points"
    assert said(line.reason, "fr") == (
        "points par mois d'abonnement : forfait, « bundle » = 25 points"
    )
    (named,) = [e for e in compute_earnings(TELECOM, month, "welcome") if e.currency == "POINTS"]
    assert said(named.reason, "fr") == (
        "points par mois d'abonnement : forfait, offre groupée = 25 points"
    )


def test_telecom_device_points_depend_on_seniority():
    device = Activity(key="d", kind="device", on=DAY, amounts={"price": 59_999})
    assert earned(compute_earnings(TELECOM, device, "welcome"), "POINTS") == 299
    assert earned(compute_earnings(TELECOM, device, "five_years"), "POINTS") == 599


@pytest.mark.parametrize(
    ("activity", "field"),
    [
        (Activity(key="n", kind="purchase", on=DAY, amounts={"goods": -100}), "amounts.goods"),
        (Activity(key="n", kind="purchase", on=DAY, amounts={"goods": 10**12}), "amounts"),
        (Activity(key="n", kind="purchase", on=DAY, amounts={"goods": 1.5}), "amounts.goods"),
        (Activity(key="n", kind="teleport", on=DAY), "kind"),
        (Activity(key="n", kind="purchase", on=date(2025, 3, 10)), "on"),
        (Activity(key="n", kind="purchase", on=DAY, quantity=0), "quantity"),
    ],
)
def test_bad_activities_are_refused_with_the_field_at_fault(activity, field):
    with pytest.raises(InvalidActivity) as caught:
        validate_activity(RETAIL, activity, today=DAY)
    assert caught.value.field == field
