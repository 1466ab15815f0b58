"""Transactions to (frequency, recency, T, spend), checked against the published CDNOW summary."""

import numpy as np
import pytest

from egards.analytics.datasets import (
    load_cdnow_sample_transactions,
    load_cdnow_summary,
    load_cdnow_summary_with_spend,
)
from egards.analytics.summary import compress, summarise_transactions


@pytest.fixture(scope="module")
def cdnow_calibration():
    tx = load_cdnow_sample_transactions()
    return summarise_transactions(
        customer_id=tx.customer_id,
        date=tx.date,
        monetary_value=tx.monetary_value,
        observation_end="1998-06-30",
        calibration_end="1997-09-30",
        time_unit="W",
    )


def test_cdnow_sample_summary_equals_the_published_39_week_calibration_summary(
    cdnow_calibration,
):
    """cdnow_customers_summary.csv (lifetimes / Fader, Hardie & Lee 2005), printed to 2 dp."""
    published = load_cdnow_summary()
    assert np.array_equal(cdnow_calibration.customer_id, published["ID"])
    assert np.array_equal(cdnow_calibration.frequency, published["frequency"])
    assert np.array_equal(np.round(cdnow_calibration.recency, 2), published["recency"])
    assert np.array_equal(np.round(cdnow_calibration.T, 2), published["T"])


def test_mean_repeat_spend_matches_published_zbar_to_the_cent(cdnow_calibration):
    published = load_cdnow_summary_with_spend()
    assert np.array_equal(cdnow_calibration.frequency, published["x"])
    assert np.max(np.abs(cdnow_calibration.monetary_value - published["zbar"])) <= 0.005 + 1e-9


def test_holdout_counts_purchases_after_calibration_end(cdnow_calibration):
    assert cdnow_calibration.duration_holdout == pytest.approx(39.0)
    # Sample customer 1 bought on 1997-12-12, in the hold-out period.
    assert cdnow_calibration.frequency_holdout[0] == 1


def test_purchases_on_the_same_day_count_once_and_their_values_add_up():
    summary = summarise_transactions(
        customer_id=np.array(["a", "a", "a", "a"]),
        date=np.array(["2024-01-01", "2024-01-03", "2024-01-03", "2024-01-08"]),
        monetary_value=np.array([10.0, 5.0, 7.0, 30.0]),
        observation_end="2024-01-15",
    )
    assert summary.frequency.tolist() == [2.0]
    assert summary.recency.tolist() == [7.0]
    assert summary.T.tolist() == [14.0]
    assert summary.monetary_value.tolist() == [21.0]


def test_one_off_buyer_has_zero_frequency_recency_and_spend():
    summary = summarise_transactions(
        customer_id=np.array([7]),
        date=np.array(["2024-03-01"]),
        monetary_value=np.array([99.0]),
        observation_end="2024-03-29",
        time_unit="W",
    )
    assert (summary.frequency[0], summary.recency[0], summary.monetary_value[0]) == (0, 0, 0)
    assert summary.T[0] == pytest.approx(4.0)


def test_customers_first_seen_after_calibration_end_are_left_out():
    summary = summarise_transactions(
        customer_id=np.array([1, 2]),
        date=np.array(["2024-01-01", "2024-02-01"]),
        observation_end="2024-03-01",
        calibration_end="2024-01-15",
    )
    assert summary.customer_id.tolist() == [1]


def test_weekly_periods_merge_purchases_of_the_same_week():
    summary = summarise_transactions(
        customer_id=np.array([1, 1, 1]),
        date=np.array(["2024-01-01", "2024-01-05", "2024-01-08"]),  # Mon, Fri, next Mon
        observation_end="2024-01-29",
        period="W",
        time_unit="W",
    )
    assert summary.frequency.tolist() == [1.0]
    assert summary.recency.tolist() == [1.0]
    assert summary.T.tolist() == [4.0]


def test_compress_returns_distinct_rows_whose_weights_rebuild_the_customer_base():
    frequency = np.array([0, 1, 0, 1, 2])
    recency = np.array([0.0, 3.0, 0.0, 3.0, 4.0])
    T = np.array([5.0, 5.0, 5.0, 5.0, 6.0])
    x, t_x, big_t, weights, inverse = compress(frequency=frequency, recency=recency, T=T)
    assert len(x) == 3
    assert weights.sum() == 5
    assert np.array_equal(x[inverse], frequency)
    assert np.array_equal(t_x[inverse], recency)
    assert np.array_equal(big_t[inverse], T)
