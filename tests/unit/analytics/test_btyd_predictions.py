"""Predictions: P(alive), conditional expectations, CLV, retention and residual lifetime."""

import numpy as np
import pytest

from egards.analytics.btyd import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
    customer_lifetime_value,
    discounted_expected_purchases,
    monthly_rate_from_annual,
)

CDNOW_BG = BetaGeoModel(r=0.243, alpha=4.414, a=0.793, b=2.426)
CDNOW_PARETO = ParetoNBDModel(r=0.553, alpha=10.578, s=0.606, beta=11.669)


def test_bgnbd_customer_without_repeat_purchase_is_certainly_alive():
    assert CDNOW_BG.probability_alive(frequency=[0], recency=[0], T=[30])[0] == 1.0


def test_mbgnbd_customer_without_repeat_purchase_may_have_left():
    model = ModifiedBetaGeoModel(r=0.525, alpha=6.183, a=0.891, b=1.614)
    assert model.probability_alive(frequency=[0], recency=[0], T=[30])[0] < 1.0


def test_long_silence_after_frequent_buying_means_the_customer_is_probably_gone():
    alive = CDNOW_BG.probability_alive(frequency=[10, 10], recency=[38, 5], T=[39, 39])
    assert alive[0] > 0.9 > 0.01 > alive[1]


def test_pareto_nbd_probability_alive_is_finite_where_lifetimes_returns_nan():
    """lifetimes' ParetoNBDFitter gives NaN for hundreds of purchases with current SciPy."""
    alive = CDNOW_PARETO.probability_alive(
        frequency=[400, 500, 500, 300], recency=[5.0, 1.0, 37.0, 38.86], T=[6.0, 37.0, 37.0, 38.86]
    )
    assert np.all(np.isfinite(alive))
    assert alive[2] == pytest.approx(1.0) and alive[3] == pytest.approx(1.0)
    assert alive[0] < 1e-3


def test_pareto_nbd_likelihood_is_continuous_across_the_alpha_equals_beta_branch():
    kwargs = {"frequency": [0, 3, 40], "recency": [0, 10, 30], "T": [20, 20, 40]}
    below = ParetoNBDModel(r=0.5, alpha=10.0, s=0.6, beta=10.0 + 1e-7).log_likelihood(**kwargs)
    above = ParetoNBDModel(r=0.5, alpha=10.0 + 1e-7, s=0.6, beta=10.0).log_likelihood(**kwargs)
    np.testing.assert_allclose(below, above, rtol=1e-7)


def test_pareto_nbd_expected_purchases_has_the_right_limit_when_s_is_one():
    near = ParetoNBDModel(r=0.5, alpha=10.0, s=1.0 + 1e-12, beta=12.0).expected_purchases(52.0)
    exact = 0.5 / 10.0 * 12.0 * np.log1p(52.0 / 12.0)
    assert near == pytest.approx(exact, rel=1e-9)


def test_gamma_gamma_expected_spend_shrinks_a_customer_mean_towards_the_population_mean():
    model = GammaGammaModel(p=6.25, q=3.74, gamma=15.44)
    spend = model.conditional_expected_spend(frequency=[0, 1, 50], monetary_value=[0, 100, 100])
    assert spend[0] == pytest.approx(model.population_mean_spend)
    assert model.population_mean_spend < spend[1] < spend[2] < 100


def test_clv_is_the_discounted_sum_of_monthly_expected_purchases_times_spend_and_margin():
    x, t_x, T = np.array([2.0]), np.array([30.43]), np.array([38.86])
    clv = customer_lifetime_value(
        model=CDNOW_BG,
        frequency=x,
        recency=t_x,
        T=T,
        expected_spend=[20.0],
        margin=0.3,
        months=3,
        monthly_discount_rate=0.01,
        time_units_per_month=4.345,
    )
    cumulative = [
        CDNOW_BG.conditional_expected_purchases(t=m * 4.345, frequency=x, recency=t_x, T=T)[0]
        for m in range(4)
    ]
    by_hand = sum((cumulative[m] - cumulative[m - 1]) / 1.01**m for m in range(1, 4))
    assert clv[0] == pytest.approx(0.3 * 20.0 * by_hand, rel=1e-12)


def test_clv_of_duplicate_customers_is_computed_once_and_expanded():
    x = np.array([1.0, 0.0, 1.0, 5.0])
    t_x = np.array([3.0, 0.0, 3.0, 20.0])
    T = np.array([30.0, 30.0, 30.0, 30.0])
    det = discounted_expected_purchases(
        model=CDNOW_PARETO, frequency=x, recency=t_x, T=T, time_units_per_month=4.345
    )
    assert det[0] == det[2] and det[3] > det[0] > 0


def test_annual_discount_rate_converts_to_the_compounding_monthly_rate():
    assert (1 + monthly_rate_from_annual(0.10)) ** 12 == pytest.approx(1.10)


def test_bgbb_donor_who_gave_every_year_is_almost_surely_alive():
    model = BetaGeoBetaBinomModel(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    alive = model.probability_alive(frequency=[6, 0, 2], recency=[6, 0, 2], n_periods=[6, 6, 6])
    assert alive[0] > 0.9 and alive[1] < alive[0] and alive[2] < alive[0]


def test_bgbb_conditional_expectation_equals_the_sum_of_survival_probabilities():
    model = BetaGeoBetaBinomModel(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    one_year = model.conditional_expected_purchases(
        periods=1, frequency=[3], recency=[5], n_periods=[6]
    )
    five_years = model.conditional_expected_purchases(
        periods=5, frequency=[3], recency=[5], n_periods=[6]
    )
    assert 0 < one_year[0] < five_years[0] < 5


def test_sbg_retention_rates_rise_with_tenure_because_of_sorting():
    model = ShiftedBetaGeometricModel(gamma=0.704, delta=1.182)
    rates = model.retention_rate(np.arange(1, 13))
    assert np.all(np.diff(rates) > 0)
    np.testing.assert_allclose(model.survival(np.arange(1, 13)), np.cumprod(rates), rtol=1e-12)


@pytest.mark.parametrize("renewals", [0, 1, 4, 10])
def test_sbg_discounted_expected_residual_lifetime_equals_its_defining_sum(renewals):
    """DERL (Fader & Hardie 2010, eq. 6) = sum_k S(n + k) / S(n - 1) / (1 + d)^k."""
    model = ShiftedBetaGeometricModel(gamma=0.668, delta=3.806)
    d = 0.10
    n = renewals + 1
    k = np.arange(0, 5000)
    by_sum = np.sum(model.survival(n + k) / model.survival(n - 1) / (1 + d) ** k)
    derl = model.discounted_expected_residual_lifetime(renewals=renewals, discount_rate=d)
    assert derl == pytest.approx(by_sum, rel=1e-10)


def test_sbg_residual_lifetime_grows_with_renewals_already_made():
    model = ShiftedBetaGeometricModel(gamma=0.704, delta=1.182)
    derl = model.discounted_expected_residual_lifetime(renewals=np.arange(6), discount_rate=0.1)
    assert np.all(np.diff(derl) > 0)
