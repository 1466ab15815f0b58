"""Properties that must hold for every valid input, including extreme ones."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from egards.analytics.btyd import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from egards.analytics.btyd._special import log_hyp2f1_one
from egards.analytics.btyd.bg_nbd import _log_likelihood_terms as bg_terms
from egards.analytics.btyd.pareto_nbd import _log_likelihood_terms as pareto_terms

positive = st.floats(min_value=1e-2, max_value=1e2)
horizon = st.floats(min_value=0.0, max_value=1e4)


@st.composite
def histories(draw):
    """A customer history, pushed towards the edges: T = 0, t_x = T, x in the hundreds."""
    big_t = draw(st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1e4)))
    x = draw(st.one_of(st.just(0), st.integers(min_value=0, max_value=800)))
    if x == 0 or big_t == 0.0:
        return 0.0, 0.0, big_t
    t_x = draw(st.one_of(st.just(big_t), st.floats(min_value=0.0, max_value=big_t)))
    return float(x), t_x, big_t


def _models(r, alpha, a, b):
    return [
        BetaGeoModel(r=r, alpha=alpha, a=a, b=b),
        ModifiedBetaGeoModel(r=r, alpha=alpha, a=a, b=b),
        ParetoNBDModel(r=r, alpha=alpha, s=a, beta=b),
    ]


@settings(max_examples=80, deadline=None)
@given(positive, positive, positive, positive, histories())
def test_log_likelihood_is_finite_for_any_valid_history(r, alpha, a, b, history):
    x, t_x, big_t = history
    for model in _models(r, alpha, a, b):
        ll = model.log_likelihood(frequency=[x], recency=[t_x], T=[big_t])
        assert np.all(np.isfinite(ll)), model


@settings(max_examples=80, deadline=None)
@given(positive, positive, positive, positive, histories())
def test_probability_alive_is_a_probability(r, alpha, a, b, history):
    x, t_x, big_t = history
    for model in _models(r, alpha, a, b):
        alive = model.probability_alive(frequency=[x], recency=[t_x], T=[big_t])
        assert np.all((alive >= 0.0) & (alive <= 1.0)), model


@settings(max_examples=60, deadline=None)
@given(positive, positive, positive, positive, histories(), horizon, horizon)
def test_expected_purchases_are_non_negative_and_grow_with_the_horizon(
    r, alpha, a, b, history, t1, t2
):
    x, t_x, big_t = history
    short, long = sorted((t1, t2))
    for model in _models(r, alpha, a, b):
        values = model.conditional_expected_purchases(
            t=np.array([[short], [long]]), frequency=[x], recency=[t_x], T=[big_t]
        ).ravel()
        assert np.all(np.isfinite(values)) and np.all(values >= 0), model
        assert values[1] >= values[0] * (1 - 1e-9) - 1e-12, model
        unconditional = model.expected_purchases(np.array([short, long]))
        assert np.all(unconditional >= 0), (model, unconditional)
        assert unconditional[1] >= unconditional[0] - 1e-12, (model, short, long, unconditional)


@settings(max_examples=60, deadline=None)
@given(positive, positive, positive, positive)
def test_bgnbd_and_pareto_gradients_match_finite_differences(r, alpha, a, b):
    x = np.array([0.0, 1.0, 7.0, 250.0])
    t_x = np.array([0.0, 2.0, 30.0, 39.0])
    big_t = np.array([39.0, 39.0, 39.0, 39.0])
    theta = np.array([r, alpha, a, b])
    for terms in (
        lambda th, g: bg_terms(th, x, t_x, big_t, False, gradient=g)[:2],
        lambda th, g: bg_terms(th, x, t_x, big_t, True, gradient=g)[:2],
        lambda th, g: pareto_terms(th, x, t_x, big_t, gradient=g)[:2],
    ):
        _, grad = terms(theta, True)
        assert grad is not None
        # Compare in log-parameter space, where the optimiser works.
        analytic = grad.sum(axis=1) * theta
        numeric = np.empty(4)
        for i in range(4):
            step = np.zeros(4)
            step[i] = 1e-6
            up = terms(theta * np.exp(step), False)[0].sum()
            down = terms(theta * np.exp(-step), False)[0].sum()
            numeric[i] = (up - down) / 2e-6
        np.testing.assert_allclose(
            analytic, numeric, rtol=2e-4, atol=2e-4 * (1 + np.abs(numeric).max())
        )


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=1e-2, max_value=2e3),
    st.floats(min_value=1e-2, max_value=2e3),
    st.floats(min_value=0.0, max_value=1.0 - 1e-9),
)
def test_log_hyp2f1_is_finite_and_bounded_by_the_geometric_series(d, gap, z):
    value = log_hyp2f1_one(d, d + gap, z).value
    assert np.isfinite(value)
    assert -1e-12 <= value <= -np.log1p(-z) + 1e-9
