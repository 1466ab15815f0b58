"""Daily summaries, churn features and churn reasons over plain arrays."""

from __future__ import annotations

import numpy as np
import pytest

from egards.analytics.churn import (
    FEATURES,
    CustomerEvents,
    build_features,
    churn_labels,
    churn_reasons,
    describe_reasons,
)
from egards.analytics.errors import NoTransactions
from egards.analytics.scoring import daily_purchases, value_deciles, window
from egards.analytics.summary import summarise_transactions

COL = {name: i for i, name in enumerate(FEATURES)}


def _daily(rows):
    ids, days, amounts = zip(*rows, strict=True)
    return daily_purchases(customer_id=ids, day=days, amount_cents=amounts)


def test_the_daily_window_equals_the_library_summary_on_random_transactions():
    rng = np.random.default_rng(3)
    ids = rng.integers(1, 300, 5000)
    days = rng.integers(18_000, 19_000, 5000)
    amounts = rng.integers(100, 10_000, 5000)
    win = window(daily_purchases(customer_id=ids, day=days, amount_cents=amounts), cutoff=18_900)
    reference = summarise_transactions(
        customer_id=ids,
        date=days.astype("datetime64[D]"),
        monetary_value=amounts,
        observation_end=np.datetime64(18_900, "D"),
    )
    p = win.present
    np.testing.assert_array_equal(win.frequency[p], reference.frequency)
    np.testing.assert_array_equal(win.recency[p], reference.recency)
    np.testing.assert_array_equal(win.T[p], reference.T)
    np.testing.assert_allclose(win.monetary_value[p], reference.monetary_value)


def test_two_purchases_on_one_day_are_one_purchase_worth_their_sum():
    daily = _daily([(7, 100, 500), (7, 100, 300), (7, 110, 200)])
    assert daily.day.tolist() == [100, 110] and daily.amount.tolist() == [800.0, 200.0]


def test_an_empty_transaction_table_is_refused_with_its_cause():
    with pytest.raises(NoTransactions, match="no transactions to score"):
        daily_purchases(customer_id=[], day=[], amount_cents=[])


def test_features_only_see_purchases_up_to_the_cutoff():
    daily = _daily([(1, 0, 1000), (1, 100, 1000), (1, 150, 1000), (1, 300, 5000)])
    features, _ = build_features(daily, CustomerEvents(), cutoff=200)
    row = features[0]
    assert row[COL["purchases"]] == 3
    assert row[COL["tenure_days"]] == 200 and row[COL["days_since_last"]] == 50
    assert row[COL["purchases_90"]] == 1 and row[COL["purchases_prev_90"]] == 1
    assert row[COL["usual_gap_days"]] == 75


def test_downgrades_and_cases_are_counted_in_their_windows():
    daily = _daily([(1, 0, 1000), (2, 0, 1000)])
    events = CustomerEvents(
        downgrade_customer=np.array([1, 1]),
        downgrade_day=np.array([50, 500]),
        downgrade_from=np.array(["gold", "silver"], dtype=object),
        case_customer=np.array([2, 2, 2]),
        case_day=np.array([10, 390, 395]),
        has_cases=True,
    )
    features, _ = build_features(daily, events, cutoff=400)
    assert features[:, COL["downgrades_365"]].tolist() == [1, 0]
    assert features[:, COL["cases_180"]].tolist() == [0, 2]


def test_a_churner_bought_nothing_in_the_window_after_the_cutoff():
    daily = _daily([(1, 0, 1), (1, 150, 1), (2, 0, 1), (2, 400, 1)])
    assert churn_labels(daily, cutoff=100, horizon=180).tolist() == [False, True]


def test_reasons_name_the_drop_in_activity_and_the_downgrade():
    features = np.zeros((1, len(FEATURES)))
    features[0, COL["purchases"]] = 12
    features[0, COL["spend_90"]] = 30.0
    features[0, COL["spend_prev_90"]] = 100.0
    features[0, COL["days_since_last"]] = 20
    features[0, COL["usual_gap_days"]] = 15
    codes = churn_reasons(
        features,
        probability_alive=np.array([0.9]),
        downgraded_from=np.array(["gold"], dtype=object),
    )
    assert codes.tolist() == ["activity_down:70;downgraded:gold"]
    gold = {"gold": "Gold"}
    assert describe_reasons(codes[0], tier_names=gold) == [
        "activity down 70% in 90 days",
        "downgraded from Gold",
    ]
    assert describe_reasons(codes[0], "fr", tier_names={"gold": "Or"}) == [
        "activité en baisse de 70\u00a0% sur 90 jours",
        "rétrogradé du niveau Or",
    ]


def test_a_downgrade_whose_tier_is_not_known_names_no_code():
    assert describe_reasons("downgraded:flying_blue_gold") == ["downgraded in the last 12 months"]
    assert describe_reasons("downgraded:flying_blue_gold", "fr") == [
        "déclassé ces 12 derniers mois"
    ]


def test_reasons_count_days_and_cases_with_plurals_in_both_languages():
    codes = "one_off:1;cases:3;silent:120:1"
    assert describe_reasons(codes) == [
        "a single purchase, 1 day ago",
        "3 cases opened in 180 days",
        "no purchase for 120 days (usually every day)",
    ]
    assert describe_reasons(codes, "fr") == [
        "un seul achat, il y a 1 jour",
        "3 demandes ouvertes en 180 jours",
        "aucun achat depuis 120 jours (d'habitude tous les jours)",
    ]
    assert describe_reasons("stated:2026-12-01:je pars", "fr") == [
        "a écrit le 1er décembre 2026 : « je pars »"
    ]


def test_a_long_silence_and_a_one_off_purchase_are_reasons_too():
    features = np.zeros((2, len(FEATURES)))
    features[0, [COL["purchases"], COL["days_since_last"], COL["usual_gap_days"]]] = [5, 120, 20]
    features[1, [COL["purchases"], COL["days_since_last"]]] = [1, 200]
    codes = churn_reasons(
        features, probability_alive=np.array([0.3, 1.0]), downgraded_from=np.array(["", ""])
    )
    assert describe_reasons(codes[0]) == [
        "no purchase for 120 days (usually every 20 days)",
        "probability still active 30%",
    ]
    assert describe_reasons(codes[1]) == ["a single purchase, 200 days ago"]


def test_a_steady_customer_has_no_reason_to_worry_about():
    features = np.zeros((1, len(FEATURES)))
    features[0, [COL["purchases"], COL["spend_90"], COL["spend_prev_90"]]] = [10, 100, 100]
    features[0, [COL["days_since_last"], COL["usual_gap_days"]]] = [10, 30]
    codes = churn_reasons(
        features, probability_alive=np.array([0.95]), downgraded_from=np.array([""])
    )
    assert codes.tolist() == [""] and describe_reasons(codes[0]) == []


def test_value_deciles_put_the_most_valuable_tenth_in_decile_ten():
    deciles = value_deciles(np.arange(100.0))
    assert deciles[-10:].tolist() == [10] * 10 and deciles[:10].tolist() == [1] * 10


def _promises(rows, *, has_promises=True):
    """CustomerEvents from (customer, opened, broken, closed, complaint) rows; None = never."""
    never = 99_999_999
    customer, opened, broken, closed, complaint = zip(*rows, strict=True)
    return CustomerEvents(
        case_customer=np.array(customer),
        case_day=np.array(opened),
        has_cases=True,
        case_broken_day=np.array([never if d is None else d for d in broken]),
        case_closed_day=np.array([never if d is None else d for d in closed]),
        case_complaint=np.array(complaint),
        has_promises=has_promises,
    )


def test_broken_promises_count_cases_open_in_the_last_90_days_broken_by_the_cutoff():
    daily = _daily([(1, 0, 1000), (2, 0, 1000)])
    events = _promises(
        [
            (1, 350, 351, None, True),  # complaint still unanswered, late since day 351
            (1, 300, 302, 320, True),  # complaint answered late, closed within the 90 days
            (1, 380, 395, None, False),  # a request that only turns late after the cutoff
            (1, 100, 101, 150, True),  # broken, but closed long before the 90 days
            (2, 390, None, None, True),  # a complaint whose promise is kept so far
        ]
    )
    features, _ = build_features(daily, events, cutoff=390)
    assert features[:, COL["broken_promises_90"]].tolist() == [2, 0]
    assert features[:, COL["broken_complaints_90"]].tolist() == [2, 0]
    later, _ = build_features(daily, events, cutoff=400)
    assert later[:, COL["broken_promises_90"]].tolist() == [3, 0]
    assert later[:, COL["broken_complaints_90"]].tolist() == [2, 0]


def test_without_the_promise_columns_nobody_has_a_broken_promise():
    daily = _daily([(1, 0, 1000)])
    events = _promises([(1, 350, 351, None, True)], has_promises=False)
    features, _ = build_features(daily, events, cutoff=390)
    assert features[0, COL["broken_promises_90"]] == 0
    assert features[0, COL["cases_180"]] == 1


def test_complaints_not_answered_in_time_are_a_reason_in_english_and_french():
    features = np.zeros((3, len(FEATURES)))
    features[:, COL["purchases"]] = 12
    features[:, [COL["days_since_last"], COL["usual_gap_days"]]] = [20, 15]
    features[0, [COL["spend_90"], COL["spend_prev_90"]]] = [30.0, 100.0]
    features[0, [COL["broken_promises_90"], COL["broken_complaints_90"]]] = [2, 2]
    features[1, [COL["broken_promises_90"], COL["broken_complaints_90"]]] = [3, 1]
    codes = churn_reasons(
        features,
        probability_alive=np.array([0.9, 0.9, 0.9]),
        downgraded_from=np.array(["", "", ""], dtype=object),
    )
    assert codes.tolist() == ["activity_down:70;unanswered:2:2", "unanswered:3:1", ""]
    assert describe_reasons(codes[0]) == [
        "activity down 70% in 90 days",
        "2 complaints not answered within the promised time",
    ]
    assert describe_reasons(codes[0], "fr") == [
        "activité en baisse de 70\u00a0% sur 90 jours",
        "2 réclamations sans réponse dans le délai promis",
    ]
    assert describe_reasons(codes[1]) == [
        "3 requests not answered within the promised time, 1 complaint among them"
    ]
    assert describe_reasons(codes[1], "fr") == [
        "3 demandes sans réponse dans le délai promis, dont 1 réclamation"
    ]


def test_sparse_customer_ids_group_like_dense_ones():
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 40, 2000)
    days = rng.integers(18_000, 18_400, 2000)
    amounts = rng.integers(100, 10_000, 2000)
    dense = daily_purchases(customer_id=ids + 1, day=days, amount_cents=amounts)
    sparse = daily_purchases(customer_id=ids * 10**12 + 7, day=days, amount_cents=amounts)
    assert sparse.customers.tolist() == [int(c - 1) * 10**12 + 7 for c in dense.customers]
    for name in ("code", "day", "amount", "starts"):
        np.testing.assert_array_equal(getattr(sparse, name), getattr(dense, name))
