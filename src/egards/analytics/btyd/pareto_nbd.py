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
from ._rows import codes_of, collapse_duplicates, unique_rows
from ._special import expm1_ratio, log_hyp2f1_one
from .bg_nbd import _check_rfm

__all__ = ["ParetoNBDModel", "fit_pareto_nbd"]


def _recency_part(theta, x, t_x, *, gradient: bool):
    """The term of the likelihood that depends on a customer through (x, t_x) only.

    Returns its logarithm u1 (up to the common factor C) and, with ``gradient``, its partial
    derivatives with respect to r, alpha, s and beta.
    """
    r, alpha, s, beta = theta
    big_a = r + s + x
    rx = r + x
    log_a_t = np.log(alpha + t_x)
    log_b_t = np.log(beta + t_x)
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t_x)
        h = log_hyp2f1_one(rx, big_a + 1.0, z, derivatives=gradient)
        u = np.log(s) - np.log(big_a) - rx * log_a_t - s * log_b_t + h.value
    else:
        z = (beta - alpha) / (beta + t_x)
        h = log_hyp2f1_one(s + 1.0 + 0.0 * x, big_a + 1.0, z, derivatives=gradient)
        u = np.log(s) - np.log(big_a) - (s + 1.0) * log_b_t - (rx - 1.0) * log_a_t + h.value
    if not gradient:
        return u, None
    inv_a = 1.0 / big_a
    if alpha >= beta:
        d_r = -inv_a - log_a_t + h.d_d + h.d_c
        d_alpha = -rx / (alpha + t_x) + h.d_z * (beta + t_x) / (alpha + t_x) ** 2
        d_s = 1.0 / s - inv_a - log_b_t + h.d_c
        d_beta = -s / (beta + t_x) - h.d_z / (alpha + t_x)
    else:
        d_r = -inv_a - log_a_t + h.d_c
        d_alpha = -(rx - 1.0) / (alpha + t_x) - h.d_z / (beta + t_x)
        d_s = 1.0 / s - inv_a - log_b_t + h.d_d + h.d_c
        d_beta = -(s + 1.0) / (beta + t_x) + h.d_z * (alpha + t_x) / (beta + t_x) ** 2
    return u, np.stack([d_r, d_alpha, d_s, d_beta])


def _tenure_part(theta, x, big_t, *, gradient: bool):
    """The term of the likelihood that depends on a customer through (x, T) only (the
    customer still alive at T), with its partial derivatives like :func:`_recency_part`."""
    r, alpha, s, beta = theta
    big_a = r + s + x
    rx = r + x
    log_a_t = np.log(alpha + big_t)
    log_b_t = np.log(beta + big_t)
    if alpha >= beta:
        z = (alpha - beta) / (alpha + big_t)
        h = log_hyp2f1_one(rx + 1.0, big_a + 1.0, z, derivatives=gradient)
        u = np.log(rx) - np.log(big_a) - (rx + 1.0) * log_a_t - (s - 1.0) * log_b_t + h.value
    else:
        z = (beta - alpha) / (beta + big_t)
        h = log_hyp2f1_one(s + 0.0 * x, big_a + 1.0, z, derivatives=gradient)
        u = np.log(rx) - np.log(big_a) - s * log_b_t - rx * log_a_t + h.value
    if not gradient:
        return u, None
    inv_a = 1.0 / big_a
    if alpha >= beta:
        d_r = 1.0 / rx - inv_a - log_a_t + h.d_d + h.d_c
        d_alpha = -(rx + 1.0) / (alpha + big_t) + h.d_z * (beta + big_t) / (alpha + big_t) ** 2
        d_s = -inv_a - log_b_t + h.d_c
        d_beta = -(s - 1.0) / (beta + big_t) - h.d_z / (alpha + big_t)
    else:
        d_r = 1.0 / rx - inv_a - log_a_t + h.d_c
        d_alpha = -rx / (alpha + big_t) - h.d_z / (beta + big_t)
        d_s = -inv_a - log_b_t + h.d_d + h.d_c
        d_beta = -s / (beta + big_t) + h.d_z * (alpha + big_t) / (beta + big_t) ** 2
    return u, np.stack([d_r, d_alpha, d_s, d_beta])


def _log_c(theta, x):
    r, alpha, s, beta = theta
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)


def _log_c_gradient(theta, x):
    r, alpha, s, beta = theta
    ones = np.ones_like(x)
    return np.stack(
        [
            digamma(r + x) - digamma(r) + np.log(alpha),
            r / alpha * ones,
            np.log(beta) * ones,
            s / beta * ones,
        ]
    )


def _log_likelihood_terms(theta, x, t_x, big_t, *, gradient: bool):
    """Each row's log-likelihood, its gradient (4 x n) and log P(alive).

    Without the gradient (predictions for every customer) each part is computed once per
    distinct (x, t_x) or (x, T) pair, as in the fit: far fewer than customers.
    """
    if gradient:
        u1, g1 = _recency_part(theta, x, t_x, gradient=True)
        u2, g2 = _tenure_part(theta, x, big_t, gradient=True)
    else:
        (rx, rt), recency_index, _ = unique_rows(x, t_x)
        (tx, tt), tenure_index, _ = unique_rows(x, big_t)
        u1 = _recency_part(theta, rx, rt, gradient=False)[0][recency_index]
        u2 = _tenure_part(theta, tx, tt, gradient=False)[0][tenure_index]
        g1 = g2 = None
    mix = np.logaddexp(u1, u2)
    ll = _log_c(theta, x) + mix
    if not gradient:
        return ll, None, u2 - mix
    assert g1 is not None and g2 is not None
    w1 = np.exp(u1 - mix)
    grad = _log_c_gradient(theta, x) + w1 * g1 + (1.0 - w1) * g2
    return ll, grad, u2 - mix


@dataclass(frozen=True, slots=True)
class _Histories:
    """Weighted histories laid out for the fit.

    The likelihood of a history is C(x) [part(x, t_x) + part(x, T)]: the hypergeometric
    functions, the costly part, depend on a customer through (x, t_x) or through (x, T) only.
    On a million customers there are about 105,000 distinct histories (x, t_x, T) but only
    about 4,000 distinct (x, t_x) and 2,000 distinct (x, T), so each part is evaluated once per
    distinct pair and gathered per history.
    """

    weights: np.ndarray
    xs: np.ndarray
    x_weights: np.ndarray
    recency: tuple[np.ndarray, np.ndarray]
    recency_index: np.ndarray
    tenure: tuple[np.ndarray, np.ndarray]
    tenure_index: np.ndarray

    @classmethod
    def of(cls, x, t_x, big_t, weights) -> _Histories:
        xs, x_index = codes_of(x)
        (rx, rt), recency_index, _ = unique_rows(x, t_x)
        (tx, tt), tenure_index, _ = unique_rows(x, big_t)
        return cls(
            weights=weights,
            xs=xs,
            x_weights=np.bincount(x_index, weights=weights, minlength=xs.size),
            recency=(rx, rt),
            recency_index=recency_index,
            tenure=(tx, tt),
            tenure_index=tenure_index,
        )


def _weighted_log_likelihood(theta, histories: _Histories) -> tuple[float, np.ndarray]:
    """The weighted sum of the rows' log-likelihoods and its gradient, part by part."""
    h = histories
    u1, g1 = _recency_part(theta, *h.recency, gradient=True)
    u2, g2 = _tenure_part(theta, *h.tenure, gradient=True)
    assert g1 is not None and g2 is not None  # gradient=True computes them
    v1 = u1[h.recency_index]
    v2 = u2[h.tenure_index]
    mix = np.logaddexp(v1, v2)
    total = float(weighted_sums(_log_c(theta, h.xs), h.x_weights)) + float(
        weighted_sums(mix, h.weights)
    )
    # Each part's derivatives are weighted by the share of the mixture it carries, summed
    # over the histories that share the pair.
    share1 = np.exp(v1 - mix)
    np.multiply(share1, h.weights, out=share1)
    share2 = h.weights - share1
    on1 = np.bincount(h.recency_index, weights=share1, minlength=u1.size)
    on2 = np.bincount(h.tenure_index, weights=share2, minlength=u2.size)
    gradient = (
        weighted_sums(_log_c_gradient(theta, h.xs), h.x_weights)
        + weighted_sums(g1, on1)
        + weighted_sums(g2, on2)
    )
    return total, gradient


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

    histories = _Histories.of(x, t_x, big_t, w)

    def log_likelihood(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _weighted_log_likelihood(theta, histories)

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
