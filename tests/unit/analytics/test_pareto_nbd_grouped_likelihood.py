"""The Pareto/NBD fit evaluates each part of the likelihood once per distinct (x, t_x) and
(x, T) pair: it must give the sum of the rows' own log-likelihoods and gradients."""

import numpy as np
import pytest

from egards.analytics.btyd.pareto_nbd import (
    _Histories,
    _log_likelihood_terms,
    _weighted_log_likelihood,
)


def _histories(rng: np.random.Generator, n: int):
    """Histories on a coarse calendar, so that many customers share (x, t_x) or (x, T)."""
    big_t = rng.integers(190, 274, n) / 7.0
    x = rng.choice([0, 1, 2, 3, 5, 8, 40, 300], n).astype(float)
    last = np.minimum(np.ceil(rng.uniform(0.0, 1.0, n) * big_t), big_t)  # whole weeks
    t_x = np.where(x > 0, last, 0.0)
    return x, t_x, big_t, rng.integers(1, 50, n).astype(float)


def _points(rng: np.random.Generator):
    ordinary = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), (12, 4)))
    extreme = np.array(
        [
            [0.55, 1e-3, 0.61, 1e4],  # alpha far below beta: z near 1
            [0.55, 1e4, 0.61, 1e-3],  # and far above
            [50.0, 3e3, 0.05, 0.01],
            [0.243, 4.414, 0.793, 4.414],  # alpha = beta: z = 0
        ]
    )
    return np.vstack([ordinary, extreme])


@pytest.mark.parametrize("seed", [1])
def test_the_grouped_likelihood_and_gradient_equal_the_rows_summed(seed):
    rng = np.random.default_rng(seed)
    x, t_x, big_t, w = _histories(rng, 1500)
    histories = _Histories.of(x, t_x, big_t, w)
    assert histories.recency_index.max() + 1 < 0.5 * x.size  # the pairs do repeat
    for theta in _points(rng):
        ll, grad, _ = _log_likelihood_terms(theta, x, t_x, big_t, gradient=True)
        assert grad is not None
        total, gradient = _weighted_log_likelihood(theta, histories)
        assert total == pytest.approx(float(ll @ w), rel=1e-10)
        # Compared with the size of the terms summed, not the sum (which cancels at an optimum).
        scale = np.abs(grad) @ w
        np.testing.assert_array_less(np.abs(gradient - grad @ w), 1e-10 * scale + 1e-300)


def test_predictions_computed_per_distinct_pair_equal_the_rows_own():
    rng = np.random.default_rng(3)
    x, t_x, big_t, _ = _histories(rng, 1500)
    for theta in _points(rng)[::4]:
        per_row, _, alive_per_row = _log_likelihood_terms(theta, x, t_x, big_t, gradient=True)
        grouped, _, alive = _log_likelihood_terms(theta, x, t_x, big_t, gradient=False)
        np.testing.assert_allclose(grouped, per_row, rtol=1e-13)
        np.testing.assert_allclose(alive, alive_per_row, rtol=1e-13, atol=1e-300)
