"""P(X(t) = n), simulated customer bases and the parameter-uncertainty intervals."""

import numpy as np
import pytest

from egards.analytics.btyd import (
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    fit_bg_nbd,
    fit_pareto_nbd,
)
from egards.analytics.btyd.distributions import (
    prediction_interval,
    probability_of_purchases,
    sample_models,
    simulate_bg_nbd,
    simulate_pareto_nbd,
)

CDNOW_BG = (0.243, 4.414, 0.793, 2.426)  # FHL 2005
CDNOW_PARETO = ParetoNBDModel(r=0.55, alpha=10.58, s=0.61, beta=11.67)


@pytest.mark.parametrize("kind", [BetaGeoModel, ModifiedBetaGeoModel])
def test_the_distribution_of_purchases_sums_to_one_with_the_model_s_mean(kind):
    model = kind(*CDNOW_BG)
    n = np.arange(0, 2000)
    for t in (1.0, 39.0, 78.0):
        p = probability_of_purchases(model, t=t, n=n)
        assert np.all(p >= 0)
        assert p.sum() == pytest.approx(1.0, abs=1e-9)
        assert (n * p).sum() == pytest.approx(float(model.expected_purchases(t)), rel=1e-6)


@pytest.mark.parametrize("kind", [BetaGeoModel, ModifiedBetaGeoModel])
def test_the_distribution_and_the_mean_match_a_simulated_base(kind):
    """Simulation and formulas are independent: the simulation draws each customer's rate,
    drop-out probability and purchases one by one."""
    model = kind(0.243, 4.414, 1.793, 2.426)
    x, _, _ = simulate_bg_nbd(model, T=np.full(100_000, 39.0), rng=np.random.default_rng(7))
    p = probability_of_purchases(model, t=39.0, n=np.arange(6))
    for k in range(6):
        share = np.mean(x == k)
        assert share == pytest.approx(p[k], abs=4 * np.sqrt(p[k] * (1 - p[k]) / x.size))
    assert x.mean() == pytest.approx(float(model.expected_purchases(39.0)), abs=4 * x.std() / 316)


def test_a_fit_on_a_simulated_bg_nbd_base_recovers_the_parameters_within_their_errors():
    truth = BetaGeoModel(*CDNOW_BG)
    rng = np.random.default_rng(11)
    x, t_x, big_t = simulate_bg_nbd(truth, T=rng.uniform(30.0, 80.0, 20_000), rng=rng)
    fitted = fit_bg_nbd(frequency=x, recency=t_x, T=big_t)
    for name, value in truth.params.items():
        assert abs(fitted.model.params[name] - value) < 3 * fitted.standard_errors[name], name


def test_a_fit_on_a_simulated_pareto_nbd_base_recovers_the_parameters_within_their_errors():
    """Continuous purchase times: no flooring to the day, which biases s and beta."""
    rng = np.random.default_rng(3)
    x, t_x, big_t = simulate_pareto_nbd(CDNOW_PARETO, T=rng.uniform(30.0, 80.0, 20_000), rng=rng)
    assert np.all((t_x <= big_t) & ((x > 0) | (t_x == 0)))
    fitted = fit_pareto_nbd(frequency=x, recency=t_x, T=big_t)
    for name, value in CDNOW_PARETO.params.items():
        assert abs(fitted.model.params[name] - value) < 3 * fitted.standard_errors[name], name


def test_sampled_models_spread_as_the_fit_s_covariance():
    rng = np.random.default_rng(5)
    x, t_x, big_t = simulate_bg_nbd(
        BetaGeoModel(*CDNOW_BG), T=rng.uniform(30.0, 80.0, 5_000), rng=rng
    )
    fitted = fit_bg_nbd(frequency=x, recency=t_x, T=big_t)
    draws = sample_models(fitted, draws=4000, rng=rng)
    for name, se in fitted.standard_errors.items():
        values = np.array([getattr(m, name) for m in draws])
        assert values.std() == pytest.approx(se, rel=0.15), name
        assert np.median(values) == pytest.approx(getattr(fitted.model, name), rel=0.05)


def test_intervals_hold_the_estimate_and_narrow_as_the_base_grows():
    rng = np.random.default_rng(9)
    truth = BetaGeoModel(*CDNOW_BG)
    customer = {"frequency": [3.0], "recency": [30.0], "T": [39.0]}
    widths = []
    for size in (1_000, 30_000):
        x, t_x, big_t = simulate_bg_nbd(truth, T=rng.uniform(30.0, 80.0, size), rng=rng)
        fitted = fit_bg_nbd(frequency=x, recency=t_x, T=big_t)
        lower, median, upper = prediction_interval(
            fitted,
            lambda m: m.conditional_expected_purchases(t=52.0, **customer),
            level=0.9,
            rng=rng,
        )
        point = fitted.model.conditional_expected_purchases(t=52.0, **customer)
        assert lower[0] < point[0] < upper[0]
        assert lower[0] <= median[0] <= upper[0]
        widths.append(upper[0] - lower[0])
    assert widths[1] < widths[0] / 3  # about sqrt(30) narrower


def test_mbg_nbd_expected_purchases_of_a_new_customer_match_a_simulation():
    """Regression: E[X(t)] for MBG/NBD used the BG/NBD prefactor and gave 15.0 purchases
    in 39 weeks where customers make 0.99."""
    model = ModifiedBetaGeoModel(*CDNOW_BG)
    x, _, _ = simulate_bg_nbd(model, T=np.full(100_000, 39.0), rng=np.random.default_rng(1))
    assert float(model.expected_purchases(39.0)) == pytest.approx(x.mean(), rel=0.03)
    assert float(model.expected_purchases(39.0)) < float(
        BetaGeoModel(*CDNOW_BG).expected_purchases(39.0)
    )
