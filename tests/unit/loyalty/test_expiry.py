from datetime import date, timedelta

import pytest

from egards.i18n import readable
from egards.loyalty.domain import (
    Allocation,
    Bucket,
    balance_lapses,
    balance_valid_until,
    check_redemption,
    consume_fifo,
    due_expiries,
    expiry_date,
    explain_balance,
    lapse_possible_before,
)
from egards.loyalty.errors import InsufficientBalance, RedemptionRefused

from .builders import (
    FLYING_BLUE,
    RETAIL,
    TELECOM,
    miles_kept_alive_explained,
    retail_points_explained,
    said,
)


def test_redemption_spends_the_soonest_expiring_points_first():
    buckets = [
        Bucket("late", date(2025, 1, 5), date(2027, 1, 31), 500),
        Bucket("never", date(2024, 1, 5), None, 900),
        Bucket("soon", date(2024, 6, 5), date(2026, 6, 30), 300),
    ]
    remaining, taken = consume_fifo(buckets, 600)
    assert taken == (Allocation("soon", 300), Allocation("late", 300))
    assert [(b.id, b.amount) for b in remaining] == [("late", 200), ("never", 900)]


def test_redemption_beyond_the_buckets_is_refused_and_takes_nothing():
    buckets = [Bucket("a", date(2025, 1, 1), None, 100)]
    with pytest.raises(InsufficientBalance) as caught:
        consume_fifo(buckets, 101)
    assert caught.value.context == {"requested": 101, "available": 100, "count": 100}
    assert readable("fr", caught.value) == "101 demandés, 100 disponibles"


@pytest.mark.parametrize("available", [0, 1])
def test_in_french_none_or_one_available_is_singular(available):
    buckets = [Bucket("a", date(2025, 1, 1), None, available)] if available else []
    with pytest.raises(InsufficientBalance) as caught:
        consume_fifo(buckets, 101)
    assert readable("fr", caught.value) == f"101 demandés, {available} disponible"
    assert readable("en", caught.value) == f"101 requested, {available} available"


def test_retail_points_are_valid_24_months_to_the_end_of_the_month():
    assert expiry_date(RETAIL, "POINTS", earned_on=date(2025, 3, 14)) == date(2027, 3, 31)
    assert expiry_date(FLYING_BLUE, "MILES", earned_on=date(2025, 3, 14)) is None
    assert expiry_date(TELECOM, "POINTS", earned_on=date(2025, 3, 14)) is None


def test_fifo_expiry_lapses_only_buckets_past_their_date():
    buckets = [
        Bucket("old", date(2023, 2, 1), date(2025, 2, 28), 120),
        Bucket("new", date(2024, 2, 1), date(2026, 2, 28), 80),
    ]
    assert due_expiries(RETAIL, "POINTS", buckets, as_of=date(2025, 2, 28), tier="silver") == ()
    assert due_expiries(RETAIL, "POINTS", buckets, as_of=date(2025, 3, 1), tier="silver") == (
        Allocation("old", 120),
    )


def test_gold_members_points_do_not_expire():
    buckets = [Bucket("old", date(2020, 2, 1), date(2022, 2, 28), 120)]
    assert due_expiries(RETAIL, "POINTS", buckets, as_of=date(2025, 3, 1), tier="gold") == ()


def test_points_overdue_while_exempt_get_a_fresh_validity_when_the_exemption_ends():
    buckets = [Bucket("old", date(2020, 2, 1), date(2022, 2, 28), 120)]
    lost_gold = date(2025, 1, 1)
    assert (
        due_expiries(
            RETAIL, "POINTS", buckets, as_of=date(2026, 6, 1), tier="silver", exempt_until=lost_gold
        )
        == ()
    )
    assert due_expiries(
        RETAIL, "POINTS", buckets, as_of=date(2027, 2, 1), tier="silver", exempt_until=lost_gold
    ) == (Allocation("old", 120),)


def test_any_activity_extends_the_whole_miles_balance():
    assert balance_valid_until(FLYING_BLUE, "MILES", last_activity_on=date(2023, 5, 10)) == date(
        2025, 5, 9
    )
    assert balance_lapses(
        FLYING_BLUE,
        "MILES",
        last_activity_on=date(2023, 5, 10),
        as_of=date(2025, 5, 10),
        tier="explorer",
    )
    # A partner purchase a year later moves the date for every mile on the account.
    assert not balance_lapses(
        FLYING_BLUE,
        "MILES",
        last_activity_on=date(2024, 5, 10),
        as_of=date(2025, 5, 10),
        tier="explorer",
    )


def test_telecom_points_never_expire():
    assert not balance_lapses(
        TELECOM,
        "POINTS",
        last_activity_on=date(2000, 1, 1),
        as_of=date(2025, 1, 1),
        tier="welcome",
    )
    assert (
        said(
            explain_balance(
                TELECOM, "POINTS", balance=1250, tier="welcome", as_of=date(2025, 1, 1)
            ),
            "en",
        )
        == "1,250 points, with no expiry date."
    )


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (400, "at least 500 POINTS per redemption"),
        (550, "redemptions go by multiples of 100 POINTS"),
        (25_000, "at most 20000 POINTS per redemption"),
    ],
)
def test_redemption_minimums_multiples_and_maximums(amount, message):
    with pytest.raises(RedemptionRefused) as caught:
        check_redemption(RETAIL, "POINTS", amount, available=100_000)
    assert caught.value.message == message


def test_redemption_above_the_balance_is_refused():
    check_redemption(RETAIL, "POINTS", 600, available=600)
    with pytest.raises(InsufficientBalance):
        check_redemption(RETAIL, "POINTS", 700, available=600)


def test_qualifying_points_cannot_be_redeemed():
    with pytest.raises(RedemptionRefused):
        check_redemption(FLYING_BLUE, "XP", 100, available=1000)


def test_balance_explanations_say_what_expires_and_why():
    buckets = [
        Bucket("a", date(2024, 3, 2), date(2026, 3, 31), 700),
        Bucket("b", date(2024, 3, 20), date(2026, 3, 31), 300),
        Bucket("c", date(2024, 9, 1), date(2026, 9, 30), 450),
    ]
    assert said(retail_points_explained(1450, buckets=buckets)) == (
        "1,450 points; 1,000 expire on 31 March 2026 (soonest-expiring are spent first)."
    )
    assert said(retail_points_explained(1450, tier="gold"), "fr") == (
        "1\u202f450 points ; en tant que Or, vos points n'expirent pas."
    )
    assert said(miles_kept_alive_explained()) == (
        "12,450 Miles, valid until 2 March 2027; any activity before then extends them by "
        "24 months (last activity on 3 March 2025)."
    )


def test_the_expiry_filter_never_leaves_out_a_balance_that_lapses():
    for as_of in (date(2026, 3, 31), date(2028, 2, 29), date(2026, 1, 1), date(2026, 7, 15)):
        horizon = lapse_possible_before(FLYING_BLUE, "MILES", as_of=as_of)
        lapsing = [
            last
            for last in (as_of - timedelta(days=days) for days in range(600, 900))
            if balance_lapses(
                FLYING_BLUE, "MILES", last_activity_on=last, as_of=as_of, tier="explorer"
            )
        ]
        assert lapsing and all(last < horizon for last in lapsing), as_of
    assert lapse_possible_before(RETAIL, "POINTS", as_of=date(2026, 3, 31)) is None
