"""Pareto/NBD: Poisson purchasing with exponential lifetimes, both heterogeneous (gamma).

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987), "Counting your customers: who are they
and what will they do next?", Management Science 33(1), 1-24. The likelihood, P(alive) and the
conditional expectation follow Fader, P. S. & Hardie, B. G. S. (2005), "A note on deriving the
Pareto/NBD model and related expressions", http://brucehardie.com/notes/009/ (equations 22-23
for the likelihood, 18 for E[X(t)], 20-21 for P(alive) and 26 for the conditional expectation).

The published likelihood is a difference of two hypergeometric terms that cancel when the last
purchase is near the end of the window and overflow when x is in the hundreds; this is why
``lifetimes`` returns NaN there. A contiguous relation turns it into a sum of two positive terms
(the form used by pymc-marketing):

    L = C [ s/(r+s+x) F(t_x) + (r+x)/(r+s+x) G(T) ]

and Euler's transformation turns each 2F1(r+s+x, b; r+s+x+1; z) into a bounded 2F1(1, d; c; z),
evaluated in log space with its derivatives (:mod:`._special`). Nothing is subtracted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import digamma, gammaln

from ._fit import Fitted, maximise_log_likelihood, row_weights, weighted_sums
from ._rows import collapse_duplicates
from ._special import expm1_ratio, log_hyp2f1_one
from .bg_nbd import _check_rfm

__all__ = ["ParetoNBDModel", "fit_pareto_nbd"]


def _log_likelihood_terms(theta, x, t_x, big_t, *, gradient: bool):
    r, alpha, s, beta = theta
    big_a = r + s + x
    rx = r + x
    log_c = gammaln(rx) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    ones = np.ones_like(x)
    if alpha >= beta:
        z1 = (alpha - beta) / (alpha + t_x)
        z2 = (alpha - beta) / (alpha + big_t)
        h1 = log_hyp2f1_one(rx, big_a + 1.0, z1, derivatives=gradient)
        h2 = log_hyp2f1_one(rx + 1.0, big_a + 1.0, z2, derivatives=gradient)
        u1 = (
            np.log(s) - np.log(big_a) - rx * np.log(alpha + t_x) - s * np.log(beta + t_x) + h1.value
        )
        u2 = (
            np.log(rx)
            - np.log(big_a)
            - (rx + 1.0) * np.log(alpha + big_t)
            - (s - 1.0) * np.log(beta + big_t)
            + h2.value
        )
    else:
        z1 = (beta - alpha) / (beta + t_x)
        z2 = (beta - alpha) / (beta + big_t)
        h1 = log_hyp2f1_one(s + 1.0 * ones, big_a + 1.0, z1, derivatives=gradient)
        h2 = log_hyp2f1_one(s * ones, big_a + 1.0, z2, derivatives=gradient)
        u1 = (
            np.log(s)
            - np.log(big_a)
            - (s + 1.0) * np.log(beta + t_x)
            - (rx - 1.0) * np.log(alpha + t_x)
            + h1.value
        )
        u2 = (
            np.log(rx)
            - np.log(big_a)
            - s * np.log(beta + big_t)
            - rx * np.log(alpha + big_t)
            + h2.value
        )
    mix = np.logaddexp(u1, u2)
    ll = log_c + mix
    if not gradient:
        return ll, None, u2 - mix
    w1 = np.exp(u1 - mix)
    w2 = 1.0 - w1
    inv_a = 1.0 / big_a
    if alpha >= beta:
        u1_r = -inv_a - np.log(alpha + t_x) + h1.d_d + h1.d_c
        u1_alpha = -rx / (alpha + t_x) + h1.d_z * (beta + t_x) / (alpha + t_x) ** 2
        u1_s = 1.0 / s - inv_a - np.log(beta + t_x) + h1.d_c
        u1_beta = -s / (beta + t_x) - h1.d_z / (alpha + t_x)
        u2_r = 1.0 / rx - inv_a - np.log(alpha + big_t) + h2.d_d + h2.d_c
        u2_alpha = -(rx + 1.0) / (alpha + big_t) + h2.d_z * (beta + big_t) / (alpha + big_t) ** 2
        u2_s = -inv_a - np.log(beta + big_t) + h2.d_c
        u2_beta = -(s - 1.0) / (beta + big_t) - h2.d_z / (alpha + big_t)
    else:
        u1_r = -inv_a - np.log(alpha + t_x) + h1.d_c
        u1_alpha = -(rx - 1.0) / (alpha + t_x) - h1.d_z / (beta + t_x)
        u1_s = 1.0 / s - inv_a - np.log(beta + t_x) + h1.d_d + h1.d_c
        u1_beta = -(s + 1.0) / (beta + t_x) + h1.d_z * (alpha + t_x) / (beta + t_x) ** 2
        u2_r = 1.0 / rx - inv_a - np.log(alpha + big_t) + h2.d_c
        u2_alpha = -rx / (alpha + big_t) - h2.d_z / (beta + big_t)
        u2_s = -inv_a - np.log(beta + big_t) + h2.d_d + h2.d_c
        u2_beta = -s / (beta + big_t) + h2.d_z * (alpha + big_t) / (beta + big_t) ** 2
    grad = np.stack(
        [
            digamma(rx) - digamma(r) + np.log(alpha) + w1 * u1_r + w2 * u2_r,
            r / alpha + w1 * u1_alpha + w2 * u2_alpha,
            np.log(beta) + w1 * u1_s + w2 * u2_s,
            s / beta + w1 * u1_beta + w2 * u2_beta,
        ]
    )
    return ll, grad, u2 - mix


@dataclass(frozen=True, slots=True)
class ParetoNBDModel:
    """Pareto/NBD parameters: rates ~ Gamma(r, alpha), death rates ~ Gamma(s, beta)."""

    r: float
    alpha: float
    s: float
    beta: float

    @property
    def params(self) -> dict[str, float]:
        return asdict(self)

    def _theta(self) -> np.ndarray:
        return np.array([self.r, self.alpha, self.s, self.beta])

    def log_likelihood(self, *, frequency, recency, T) -> np.ndarray:
        """Individual log-likelihoods (Fader & Hardie 2005 note, equations 22-23)."""
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        return _log_likelihood_terms(self._theta(), x, t_x, big_t, gradient=False)[0]

    def probability_alive(self, *, frequency, recency, T) -> np.ndarray:
        """P(alive at T | x, t_x, T) = C (alpha+T)^-(r+x) (beta+T)^-s / L, within [0, 1]."""
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        ll, _, _ = _log_likelihood_terms(self._theta(), x, t_x, big_t, gradient=False)
        r, alpha, s, beta = self._theta()
        log_alive_term = (
            gammaln(r + x)
            - gammaln(r)
            + r * np.log(alpha)
            + s * np.log(beta)
            - (r + x) * np.log(alpha + big_t)
            - s * np.log(beta + big_t)
        )
        return np.clip(np.exp(log_alive_term - ll), 0.0, 1.0)

    def expected_purchases(self, t) -> np.ndarray:
        """E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s - 1)] (note, eq. 18)."""
        t = np.asarray(t, dtype=float)
        return self.r / self.alpha * self.beta * expm1_ratio(self.s - 1.0, np.log1p(t / self.beta))

    def conditional_expected_purchases(self, *, t, frequency, recency, T) -> np.ndarray:
        """E[X(T, T + t) | x, t_x, T] (note, equation 26), times P(alive)."""
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        alive = self.probability_alive(frequency=x, recency=t_x, T=big_t)
        t = np.asarray(t, dtype=float)
        per_alive = (
            (self.r + x)
            / (self.alpha + big_t)
            * (self.beta + big_t)
            * expm1_ratio(self.s - 1.0, np.log1p(t / (self.beta + big_t)))
        )
        return per_alive * alive


def fit_pareto_nbd(
    *, frequency, recency, T, weights=None, initial: tuple[float, ...] | None = None
) -> Fitted[ParetoNBDModel]:
    """Fit the Pareto/NBD model by maximum likelihood, with an exact analytic gradient.

    One row per customer is fine: identical rows are collapsed into weighted ones first.
    """
    x, t_x, big_t = _check_rfm(frequency, recency, T)
    w, (x, t_x, big_t) = collapse_duplicates(row_weights(weights, x.size), x, t_x, big_t)

    def log_likelihood(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad, _ = _log_likelihood_terms(theta, x, t_x, big_t, gradient=True)
        assert grad is not None  # gradient=True computes it
        return float(weighted_sums(ll, w)), weighted_sums(grad, w)

    if initial is None:
        rate = max(float((x @ w) / max(big_t @ w, 1e-12)), 1e-6)
        mean_t = float((big_t @ w) / max(w.sum(), 1e-12))
        initial = (1.0, 1.0 / rate, 1.0, max(mean_t, 1e-3))
    theta, diagnostics = maximise_log_likelihood(
        log_likelihood=log_likelihood,
        names=("r", "alpha", "s", "beta"),
        initial=initial,
        n_observations=float(w.sum()),
    )
    return Fitted(ParetoNBDModel(*map(float, theta)), diagnostics)
