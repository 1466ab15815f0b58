"""Fit diagnostics on CDNOW: what Fader, Hardie & Lee (2005) show, as tables and charts."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from egards.analytics.btyd import fit_bg_nbd, fit_pareto_nbd
from egards.analytics.datasets import load_cdnow_sample_transactions
from egards.analytics.diagnostics import (
    comparison_svg,
    frequency_recency_matrix,
    holdout_by_frequency,
    period_transactions,
    spend_frequency_correlation,
)
from egards.analytics.summary import summarise_transactions


@pytest.fixture(scope="module")
def cdnow():
    tx = load_cdnow_sample_transactions()
    return summarise_transactions(
        customer_id=tx.customer_id,
        date=tx.date,
        monetary_value=tx.monetary_value,
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        period="D",
        time_unit="W",
    )


@pytest.fixture(scope="module")
def bg_nbd(cdnow):
    return fit_bg_nbd(frequency=cdnow.frequency, recency=cdnow.recency, T=cdnow.T).model


def test_holdout_by_frequency_adds_up_to_1882_made_against_1653_predicted(cdnow, bg_nbd):
    predicted = bg_nbd.conditional_expected_purchases(
        t=39.0, frequency=cdnow.frequency, recency=cdnow.recency, T=cdnow.T
    )
    table = holdout_by_frequency(
        frequency=cdnow.frequency,
        holdout_actual=cdnow.frequency_holdout,
        holdout_expected=predicted,
    )
    sizes = np.bincount(np.minimum(cdnow.frequency, 7).astype(int))
    assert table.labels == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert round(float(table.actual @ sizes)) == 1882
    assert round(float(table.model @ sizes)) == 1653
    # The model under-predicts the customers with one or two repeat purchases (FHL, fig. 4).
    assert table.actual[1] > table.model[1] and table.actual[2] > table.model[2]


def test_period_transactions_expected_counts_add_up_to_the_customers(cdnow, bg_nbd):
    for model in (
        bg_nbd,
        fit_pareto_nbd(frequency=cdnow.frequency, recency=cdnow.recency, T=cdnow.T).model,
    ):
        table = period_transactions(model, frequency=cdnow.frequency, T=cdnow.T)
        assert table.actual.sum() == 2357
        assert table.model.sum() == pytest.approx(2357)
        assert table.actual[0] == 1411
        # A good fit: within 10 % of the customers of each group, zero repeat purchases closest.
        assert np.all(np.abs(table.model - table.actual) < 0.1 * table.actual + 20)


def test_the_matrices_rise_with_recency_at_any_frequency(bg_nbd):
    frequencies, recencies, expected, alive = frequency_recency_matrix(
        bg_nbd, T=39.0, t=4.345, max_frequency=10, recency_steps=10
    )
    assert expected.shape == alive.shape == (11, 11)
    assert np.isnan(alive[0, 1:]).all() and alive[0, 0] == 1.0  # BG/NBD: no repeat, alive
    assert np.all(np.diff(alive[1:], axis=1) > 0)
    assert np.all(np.diff(expected[1:], axis=1) > 0)
    assert frequencies[-1] == 10 and recencies[-1] == 39.0


def test_gamma_gamma_independence_check_on_cdnow(cdnow):
    assert spend_frequency_correlation(
        frequency=cdnow.frequency, monetary_value=cdnow.monetary_value
    ) == pytest.approx(0.11, abs=0.005)
    assert np.isnan(spend_frequency_correlation(frequency=[0, 1], monetary_value=[0, 5]))


def test_the_chart_is_well_formed_svg_with_one_bar_per_value(cdnow, bg_nbd):
    table = period_transactions(bg_nbd, frequency=cdnow.frequency, T=cdnow.T)
    svg = ET.fromstring(comparison_svg(table, title="Customers & purchases", y_label="customers"))
    bars = svg.findall("{http://www.w3.org/2000/svg}rect")
    assert len(bars) == 2 * len(table.labels) + 2  # two bars per group, two legend keys
    assert all(float(b.get("height", "0")) >= 0 for b in bars)
