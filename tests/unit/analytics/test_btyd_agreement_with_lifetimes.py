"""Agreement with ``lifetimes`` (0.11.3) where ``lifetimes`` is right.

Skipped when ``lifetimes`` is not installed; it is a test-only reference, never a runtime
dependency.
"""

import numpy as np
import pytest

from egards.analytics.btyd import (
    GammaGammaModel,
    fit_bg_nbd,
    fit_gamma_gamma,
    fit_pareto_nbd,
)
from egards.analytics.btyd.clv import customer_lifetime_value

lifetimes = pytest.importorskip("lifetimes")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def random_customers():
    """Customers drawn from a BG/NBD process, on a daily grid (times in weeks)."""
    rng = np.random.default_rng(20240601)
    n = 3000
    lam = rng.gamma(0.5, 1 / 6.0, n)
    p = rng.beta(0.8, 2.5, n)
    big_t = rng.integers(1, 40 * 7, n) / 7.0
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        clock = 0.0
        while True:
            clock += rng.exponential(1 / lam[i]) if lam[i] > 0 else np.inf
            if clock > big_t[i]:
                break
            x[i] += 1
            t_x[i] = np.floor(clock * 7) / 7.0
            if rng.random() < p[i]:
                break
    return x, t_x, big_t


def test_bgnbd_parameters_and_predictions_agree_with_lifetimes(random_customers):
    x, t_x, big_t = random_customers
    ours = fit_bg_nbd(frequency=x, recency=t_x, T=big_t).model
    theirs = lifetimes.BetaGeoFitter().fit(x, t_x, big_t)
    np.testing.assert_allclose(
        [ours.r, ours.alpha, ours.a, ours.b],
        theirs.params_[["r", "alpha", "a", "b"]].to_numpy(),
        rtol=1e-3,
    )
    # Same parameters, so predictions can be compared to rounding.
    same = lifetimes.BetaGeoFitter()
    same.params_ = pd.Series({"r": ours.r, "alpha": ours.alpha, "a": ours.a, "b": ours.b})
    np.testing.assert_allclose(
        ours.probability_alive(frequency=x, recency=t_x, T=big_t),
        same.conditional_probability_alive(x, t_x, big_t),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        ours.conditional_expected_purchases(t=10.0, frequency=x, recency=t_x, T=big_t),
        same.conditional_expected_number_of_purchases_up_to_time(10.0, x, t_x, big_t),
        rtol=1e-8,
    )


def test_pareto_nbd_agrees_with_lifetimes_on_moderate_histories(random_customers):
    x, t_x, big_t = random_customers
    keep = x < 30  # lifetimes overflows beyond; see the NaN test in test_btyd_predictions
    ours = fit_pareto_nbd(frequency=x[keep], recency=t_x[keep], T=big_t[keep]).model
    theirs = lifetimes.ParetoNBDFitter().fit(x[keep], t_x[keep], big_t[keep])
    np.testing.assert_allclose(
        [ours.r, ours.alpha, ours.s, ours.beta],
        theirs.params_[["r", "alpha", "s", "beta"]].to_numpy(),
        rtol=5e-3,
    )


def test_discounted_clv_agrees_with_lifetimes(random_customers):
    x, t_x, big_t = random_customers
    bg = fit_bg_nbd(frequency=x, recency=t_x, T=big_t).model
    theirs_bg = lifetimes.BetaGeoFitter()
    theirs_bg.params_ = pd.Series(bg.params)
    theirs_bg.predict = theirs_bg.conditional_expected_number_of_purchases_up_to_time
    spend = np.where(x > 0, 20.0 + x, 0.0)
    gg = GammaGammaModel(p=6.25, q=3.74, gamma=15.44)
    theirs_gg = lifetimes.GammaGammaFitter()
    theirs_gg.params_ = pd.Series({"p": gg.p, "q": gg.q, "v": gg.gamma})
    ours = customer_lifetime_value(
        model=bg,
        frequency=x,
        recency=t_x,
        T=big_t,
        expected_spend=gg.conditional_expected_spend(frequency=x, monetary_value=spend),
        months=12,
        monthly_discount_rate=0.01,
        time_units_per_month=4.345,
    )
    reference = theirs_gg.customer_lifetime_value(
        theirs_bg,
        pd.Series(x),
        pd.Series(t_x),
        pd.Series(big_t),
        pd.Series(spend),
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    np.testing.assert_allclose(ours, reference.to_numpy(), rtol=1e-8, atol=1e-10)


def test_gamma_gamma_agrees_with_lifetimes(random_customers):
    x, _, _ = random_customers
    rng = np.random.default_rng(7)
    repeat = x > 0
    spend = rng.gamma(6.0, 1.0 / rng.gamma(3.5, 1 / 15.0, repeat.sum()))
    ours = fit_gamma_gamma(frequency=x[repeat], monetary_value=spend).model
    theirs = lifetimes.GammaGammaFitter().fit(x[repeat], spend)
    np.testing.assert_allclose(
        [ours.p, ours.q, ours.gamma], theirs.params_[["p", "q", "v"]].to_numpy(), rtol=2e-3
    )
