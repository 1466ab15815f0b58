"""BG/BB: discrete-time, noncontractual purchasing (one transaction opportunity per period).

Fader, P. S., Hardie, B. G. S. & Shang, J. (2010), "Customer-base analysis in a discrete-time
noncontractual setting", Marketing Science 29(6), 1086-1108: equation (5) for the likelihood of
(x, t_x, n), (8) for E[X(n)], (11) for P(alive) and (13) for the conditional expectation.

Transactions ~ Bernoulli(p) while alive, p ~ Beta(alpha, beta); the customer dies at the start
of each period with probability theta ~ Beta(gamma, delta).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln

from ._fit import Fitted, as_float_array, maximise_log_likelihood, row_weights, weighted_sums
from ._rows import collapse_duplicates

__all__ = ["BetaGeoBetaBinomModel", "fit_bg_bb"]


def _check(frequency, recency, n_periods):
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    n = as_float_array(n_periods, "n_periods")
    if not (x.shape == t_x.shape == n.shape):
        raise ValueError("frequency, recency and n_periods must have the same length")
    if np.any(x < 0) or np.any(x > t_x) or np.any(t_x > n):
        raise ValueError("need 0 <= frequency <= recency <= n_periods")
    if np.any(x != np.round(x)) or np.any(t_x != np.round(t_x)) or np.any(n != np.round(n)):
        raise ValueError("BG/BB counts periods: frequency, recency and n_periods are integers")
    return x, t_x, n


def _log_likelihood_terms(theta, x, t_x, n, *, gradient: bool):
    alpha, beta, gamma, delta = theta
    b_ab = betaln(alpha, beta)
    b_gd = betaln(gamma, delta)
    # Alive through period n.
    t0 = betaln(alpha + x, beta + n - x) - b_ab + betaln(gamma, delta + n) - b_gd
    # Died at the start of period t_x + i + 1, for i = 0 .. n - t_x - 1.
    width = int(np.max(n - t_x)) if x.size else 0
    i = np.arange(width)[:, None]
    m = t_x[None, :] + i
    valid = i < (n - t_x)[None, :]
    m_safe = np.where(valid, m, t_x[None, :])
    ti = np.where(
        valid,
        betaln(alpha + x, beta + m_safe - x) - b_ab + betaln(gamma + 1.0, delta + m_safe) - b_gd,
        -np.inf,
    )
    stacked = np.vstack([t0[None, :], ti])
    top = np.max(stacked, axis=0)
    weights = np.exp(stacked - top)
    total = weights.sum(axis=0)
    ll = top + np.log(total)
    if not gradient:
        return ll, None
    weights /= total
    psi_ab, psi_gd = digamma(alpha + beta), digamma(gamma + delta)
    psi_ax = digamma(alpha + x)
    m_all = np.vstack([n[None, :], m_safe])
    d_alpha = psi_ax - digamma(alpha + beta + m_all) - digamma(alpha) + psi_ab
    d_beta = digamma(beta + m_all - x) - digamma(alpha + beta + m_all) - digamma(beta) + psi_ab
    survived = np.zeros_like(m_all)
    survived[0] = 1.0
    # Alive row: B(gamma, delta + n); death rows: B(gamma + 1, delta + m).
    g_shift = 1.0 - survived
    d_gamma = (
        digamma(gamma + g_shift)
        - digamma(gamma + delta + g_shift + m_all)
        - digamma(gamma)
        + psi_gd
    )
    d_delta = digamma(delta + m_all) - digamma(gamma + delta + g_shift + m_all) - digamma(delta)
    d_delta = d_delta + psi_gd
    grad = np.stack(
        [
            (weights * d_alpha).sum(0),
            (weights * d_beta).sum(0),
            (weights * d_gamma).sum(0),
            (weights * d_delta).sum(0),
        ]
    )
    return ll, grad


@dataclass(frozen=True, slots=True)
class BetaGeoBetaBinomModel:
    """BG/BB parameters."""

    alpha: float
    beta: float
    gamma: float
    delta: float

    @property
    def params(self) -> dict[str, float]:
        return asdict(self)

    def _theta(self):
        return (self.alpha, self.beta, self.gamma, self.delta)

    def log_likelihood(self, *, frequency, recency, n_periods) -> np.ndarray:
        """Individual log-likelihoods (FHS 2010, equation 5)."""
        x, t_x, n = _check(frequency, recency, n_periods)
        return _log_likelihood_terms(self._theta(), x, t_x, n, gradient=False)[0]

    def probability_alive(self, *, frequency, recency, n_periods) -> np.ndarray:
        """P(alive in period n + 1 | x, t_x, n) (FHS 2010, equation 11)."""
        x, t_x, n = _check(frequency, recency, n_periods)
        a, b, g, d = self._theta()
        ll = _log_likelihood_terms(self._theta(), x, t_x, n, gradient=False)[0]
        log_alive = betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n + 1.0) - betaln(g, d)
        return np.clip(np.exp(log_alive - ll), 0.0, 1.0)

    def _survival_sum(self, start, periods) -> np.ndarray:
        """sum_{k=1..periods} B(gamma, delta + start + k) / B(gamma, delta), in closed form."""
        g, d = self.gamma, self.delta
        if abs(g - 1.0) < 1e-9:
            g = 1.0 + 1e-9  # the closed form has a removable singularity at gamma = 1
        u = gammaln(1.0 + d + start) - gammaln(g + d + start)
        v = gammaln(1.0 + d + start + periods) - gammaln(g + d + start + periods)
        scale = d / (g - 1.0) * np.exp(gammaln(g + d) - gammaln(1.0 + d))
        return scale * np.exp(u) * -np.expm1(v - u)

    def expected_purchases(self, n_periods) -> np.ndarray:
        """E[X(n)] for a new customer (FHS 2010, equation 8)."""
        n = np.asarray(n_periods, dtype=float)
        return self.alpha / (self.alpha + self.beta) * self._survival_sum(0.0, n)

    def conditional_expected_purchases(
        self, *, periods, frequency, recency, n_periods
    ) -> np.ndarray:
        """E[X(n, n + n*) | x, t_x, n] for the next ``periods`` periods (FHS 2010, eq. 13)."""
        x, t_x, n = _check(frequency, recency, n_periods)
        a, b = self.alpha, self.beta
        ll = _log_likelihood_terms(self._theta(), x, t_x, n, gradient=False)[0]
        log_p_alive_part = betaln(a + x + 1.0, b + n - x) - betaln(a, b) - ll
        return np.exp(log_p_alive_part) * self._survival_sum(n, np.asarray(periods, dtype=float))


def fit_bg_bb(
    *, frequency, recency, n_periods, weights=None, initial: tuple[float, ...] | None = None
) -> Fitted[BetaGeoBetaBinomModel]:
    """Fit the BG/BB model by maximum likelihood (FHS 2010, equation 5).

    Data are usually given as the distinct (x, t_x, n) patterns with their counts in
    ``weights``, as in the published donations example; one row per customer works as well
    (identical rows are collapsed into weighted ones first).
    """
    x, t_x, n = _check(frequency, recency, n_periods)
    w, (x, t_x, n) = collapse_duplicates(row_weights(weights, x.size), x, t_x, n)

    def log_likelihood(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = _log_likelihood_terms(theta, x, t_x, n, gradient=True)
        assert grad is not None  # gradient=True computes it
        return float(weighted_sums(ll, w)), weighted_sums(grad, w)

    theta, diagnostics = maximise_log_likelihood(
        log_likelihood=log_likelihood,
        names=("alpha", "beta", "gamma", "delta"),
        initial=initial or (1.0, 1.0, 1.0, 1.0),
        n_observations=float(w.sum()),
    )
    return Fitted(BetaGeoBetaBinomModel(*map(float, theta)), diagnostics)
