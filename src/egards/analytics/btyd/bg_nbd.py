"""BG/NBD and MBG/NBD: continuous-time purchasing with drop-out just after a purchase.

BG/NBD: Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "'Counting your customers' the easy
way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284, equation (6) for
the likelihood, (9) for E[X(t)], (10) for the conditional expectation and the probability of
being alive in Fader, Hardie & Lee (2008), "Computing P(alive) using the BG/NBD model",
http://brucehardie.com/notes/021/.

MBG/NBD: Batislam, E. P., Denizel, M. & Filiztekin, A. (2007), "Empirical validation and
comparison of models for customer base analysis", International Journal of Research in Marketing
24(3), 201-209, where a customer may also drop out at time zero, so that a customer with no repeat
purchase is not certainly alive.

Time is in whatever unit the summary used (days or weeks); ``alpha`` carries that unit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TypeVar

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from ._fit import Fitted, as_float_array, maximise_log_likelihood, row_weights
from ._rows import codes_of, collapse_duplicates, unique_rows

__all__ = [
    "BetaGeoModel",
    "ModifiedBetaGeoModel",
    "fit_bg_nbd",
    "fit_mbg_nbd",
]


def _check_rfm(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    big_t = as_float_array(T, "T")
    if not (x.shape == t_x.shape == big_t.shape):
        raise ValueError("frequency, recency and T must have the same length")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > big_t + 1e-9 * np.maximum(1.0, big_t)):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("a customer with no repeat purchase has recency 0")
    return x, t_x, np.maximum(big_t, t_x)


def _tail(p, q, c, z) -> np.ndarray:
    """(1 - z)**p 2F1(p, q; c; z) for z in [0, 1), without overflow or 0 * inf.

    When c - p - q >= 0 the series converges at z = 1 and is bounded; otherwise Euler's
    transformation 2F1(p, q; c; z) = (1 - z)**(c - p - q) 2F1(c - p, c - q; c; z) gives a
    series that converges at z = 1. Either way the hypergeometric factor stays finite.
    """
    p, q, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (p, q, c, z)))
    log1m = np.log1p(-z)
    direct = (c - p - q) >= 0
    out = np.empty(z.shape)
    d = direct
    out[d] = np.exp(p[d] * log1m[d]) * hyp2f1(p[d], q[d], c[d], z[d])
    e = ~direct
    out[e] = np.exp((c[e] - q[e]) * log1m[e]) * hyp2f1(c[e] - p[e], c[e] - q[e], c[e], z[e])
    bad = ~np.isfinite(out)
    if np.any(bad):
        # SciPy's hyp2f1 gives up on a few extreme parameter sets; sum the (convergent)
        # transformed series directly for those.
        pb, qb, cb, zb = p[bad], q[bad], c[bad], z[bad]
        flip = (cb - pb - qb) < 0
        a1 = np.where(flip, cb - pb, pb)
        b1 = np.where(flip, cb - qb, qb)
        power = np.where(flip, cb - qb, pb)
        out[bad] = np.exp(power * np.log1p(-zb)) * _hyp2f1_series(a1, b1, cb, zb)
    return out


def _hyp2f1_series(a, b, c, z, max_terms: int = 1_000_000) -> np.ndarray:
    term = np.ones_like(z)
    total = np.ones_like(z)
    for n in range(max_terms):
        term = term * (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z
        total = total + term
        if n > 8 and np.all(np.abs(term) <= 1e-17 * np.abs(total)):
            break
    return total


def _smooth_through(function, value: float, singular_at: float, width: float = 1e-6):
    """Evaluate ``function(value)``, smooth but 0/0 at ``singular_at``, by interpolation there."""
    if abs(value - singular_at) >= width:
        return function(value)
    low, high = function(singular_at - width), function(singular_at + width)
    return low + (value - (singular_at - width)) / (2.0 * width) * (high - low)


def _conditional_numerator(
    *, t: np.ndarray, x: np.ndarray, big_t: np.ndarray, alpha, r, a, b, modified: bool
) -> np.ndarray:
    """Expected purchases in (T, T + t] for a customer known to be alive at T.

    The textbook form multiplies ((alpha + T) / (alpha + T + t))**(r + x) by a hypergeometric
    function that grows like its inverse; Euler's transformation 2F1(a, b; c; z) =
    (1 - z)**(c - a - b) 2F1(c - a, c - b; c; z) folds the two together so that nothing
    overflows when x is in the hundreds.
    """
    shift = 1.0 if modified else 0.0
    if t.ndim and t.shape[-1] == x.size and x.size > 1:
        # One horizon per customer: nothing to share.
        xu, tu, inverse, tt = x, big_t, np.arange(x.size), t
    else:
        (xu, tu), inverse, _ = unique_rows(x, big_t)
        tt = t
    z = tt / (alpha + tu + tt)

    def at(a_: float, b_: float) -> np.ndarray:
        c = a_ + b_ + xu - 1.0 + shift
        return c / (a_ - 1.0) * (1.0 - _tail(r + xu, b_ + xu + shift, c, z))

    # a = 1 and, for x = 0, a + b = 1 are removable singularities of the closed form.
    value = _smooth_through(
        lambda a_: _smooth_through(lambda b_: at(a_, b_), b, 1.0 - a_ - shift), a, 1.0
    )
    value = np.maximum(value, 0.0)
    return value[..., inverse]


@dataclass(frozen=True, slots=True)
class BetaGeoModel:
    """BG/NBD parameters: purchase rates ~ Gamma(r, alpha), drop-out probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    _modified = False

    @property
    def params(self) -> dict[str, float]:
        return asdict(self)

    def log_likelihood(self, *, frequency, recency, T) -> np.ndarray:
        """Individual log-likelihoods (FHL 2005, equation 6; MBG/NBD: Batislam et al. 2007)."""
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        theta = np.array([self.r, self.alpha, self.a, self.b])
        return _log_likelihood_terms(theta, x, t_x, big_t, self._modified, gradient=False)[0]

    def probability_alive(self, *, frequency, recency, T) -> np.ndarray:
        """P(alive at T | x, t_x, T), always within [0, 1]."""
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        return np.exp(-self._log_alive_denominator(x, t_x, big_t))

    def _log_alive_denominator(self, x, t_x, big_t) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if self._modified:
            log_ratio = np.log(a) - np.log(b + x)
        else:
            log_ratio = np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300))
        log_odds = log_ratio + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        if not self._modified:
            log_odds = np.where(x > 0, log_odds, -np.inf)
        return np.logaddexp(0.0, log_odds)

    def expected_purchases(self, t) -> np.ndarray:
        """E[X(t)] for a customer who has just made a first purchase (FHL 2005, equation 9)."""
        t = np.asarray(t, dtype=float)
        shift = 1.0 if self._modified else 0.0
        z = t / (self.alpha + t)
        b, r = self.b, self.r

        def at(a: float, b_: float) -> np.ndarray:
            # E[(1 - p)^shift / p (1 - exp(-lambda p t))] over p ~ Beta(a, b): for MBG/NBD the
            # customer must first survive time zero, which turns Beta(a - 1, b) into
            # Beta(a - 1, b + 1) (prefactor b / (a - 1) instead of (a + b - 1) / (a - 1)).
            c = a + b_ - 1.0 + shift
            prefactor = b_ if self._modified else a + b_ - 1.0
            return prefactor / (a - 1.0) * (1.0 - _tail(r, b_ + shift, c, z))

        value = _smooth_through(
            lambda a: _smooth_through(lambda b_: at(a, b_), b, 1.0 - a), self.a, 1.0
        )
        return np.maximum(value, 0.0)

    def conditional_expected_purchases(self, *, t, frequency, recency, T) -> np.ndarray:
        """E[X(T, T + t) | x, t_x, T] (FHL 2005, equation 10).

        ``t`` is a horizon in the model's time unit; an array of shape ``(H, 1)`` gives ``H``
        horizons at once, sharing the special-function work across customers with the same
        ``(x, T)``.
        """
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        numerator = _conditional_numerator(
            t=np.asarray(t, dtype=float),
            x=x,
            big_t=big_t,
            alpha=self.alpha,
            r=self.r,
            a=self.a,
            b=self.b,
            modified=self._modified,
        )
        return numerator * np.exp(-self._log_alive_denominator(x, t_x, big_t))


@dataclass(frozen=True, slots=True)
class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD parameters (Batislam, Denizel & Filiztekin 2007)."""

    _modified = True


def _log_likelihood_terms(
    theta, x, t_x, big_t, modified: bool, *, gradient: bool, by_x=None, by_tx=None, by_t=None
):
    """Individual log-likelihoods and their gradient with respect to (r, alpha, a, b).

    ``by_x`` is ``(distinct x, inverse)``: special functions that depend on the customer only
    through x are then evaluated once per distinct x (a few dozen values) rather than per row;
    ``by_tx`` and ``by_t`` do the same for the logarithms of alpha + t_x and alpha + T (dates
    are days, so there are a few hundred distinct values).
    """
    r, alpha, a, b = theta
    shift = 1.0 if modified else 0.0
    xs, xi = by_x if by_x is not None else (x, slice(None))
    beta_ab = betaln(a, b)
    has_term_u = np.ones_like(xs, dtype=bool) if modified else xs > 0
    b_arg_u = np.where(has_term_u, b + xs - 1.0 + shift, 1.0)
    a1 = (gammaln(r + xs) - gammaln(r))[xi] + r * np.log(alpha)
    c2 = (betaln(a, b + xs + shift) - beta_ab)[xi]
    c3 = np.where(has_term_u, betaln(a + 1.0, b_arg_u) - beta_ab, -np.inf)[xi]
    t_vals, t_idx = by_t if by_t is not None else (big_t, slice(None))
    tx_vals, tx_idx = by_tx if by_tx is not None else (t_x, slice(None))
    log_a_t = np.log(alpha + t_vals)[t_idx]
    log_a_tx = np.log(alpha + tx_vals)[tx_idx]
    # Alive at T: B(a, b + x [+ 1]) / B(a, b) (alpha + T)^-(r + x); dropped out after the last
    # purchase: B(a + 1, b + x - 1 [+ 1]) / B(a, b) (alpha + t_x)^-(r + x).
    a2 = c2 - (r + x) * log_a_t
    a3 = c3 - (r + x) * log_a_tx
    mix = np.logaddexp(a2, a3)
    ll = a1 + mix
    if not gradient:
        return ll, None
    w3 = np.exp(a3 - mix)
    w2 = 1.0 - w3
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + xs + shift)
    d_r = (digamma(r + xs) - digamma(r))[xi] + np.log(alpha) - w2 * log_a_t - w3 * log_a_tx
    inv_t = (1.0 / (alpha + t_vals))[t_idx]
    inv_tx = (1.0 / (alpha + tx_vals))[tx_idx]
    d_alpha = r / alpha - (r + x) * (w2 * inv_t + w3 * inv_tx)
    d_a2_a = (psi_ab - psi_abx)[xi]
    d_a2_b = (digamma(b + xs + shift) - psi_abx - digamma(b) + psi_ab)[xi]
    d_a3_a = (digamma(a + 1.0) - psi_abx - digamma(a) + psi_ab)[xi]
    d_a3_b = np.where(has_term_u, digamma(b_arg_u) - psi_abx - digamma(b) + psi_ab, 0.0)[xi]
    d_a = w2 * d_a2_a + w3 * d_a3_a
    d_b = w2 * d_a2_b + w3 * d_a3_b
    return ll, np.stack([d_r, d_alpha, d_a, d_b])


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    distinct, inverse = np.unique(values, return_inverse=True)
    if distinct.size > values.size // 4:
        return None  # hardly any repetition: indexing would cost more than it saves
    return distinct, inverse.reshape(-1)


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Sum of products in one pass, without BLAS (see ``weighted_sums``)."""
    return float(np.einsum("i,i->", u, v))


B = TypeVar("B", bound=BetaGeoModel)


def _weighted_log_likelihood(x, t_x, big_t, w, modified: bool):
    """The weighted log-likelihood and its gradient as one function of (r, alpha, a, b).

    The same equation as ``_log_likelihood_terms``, summed as it goes: the terms that depend
    on a customer only through x are weighted by the total weight of each x (a few dozen
    values), the logarithms of alpha + T and alpha + t_x are taken once per distinct date,
    and the only per-row work left is the two-component mixture.
    """
    shift = 1.0 if modified else 0.0
    xs, xi = codes_of(x)
    ts, ti = codes_of(big_t)
    txs, txi = codes_of(t_x)
    w_by_x = np.bincount(xi, weights=w, minlength=xs.size)
    wx = w * x
    total_w = float(w.sum())
    has_term_u = np.ones_like(xs, dtype=bool) if modified else xs > 0

    def value_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = (float(v) for v in theta)
        beta_ab = betaln(a, b)
        b_arg_u = np.where(has_term_u, b + xs - 1.0 + shift, 1.0)
        c2 = betaln(a, b + xs + shift) - beta_ab
        c3 = np.where(has_term_u, betaln(a + 1.0, b_arg_u) - beta_ab, -np.inf)
        log_t = np.log(alpha + ts)[ti]
        log_tx = np.log(alpha + txs)[txi]
        gap = log_t - log_tx
        # a3 - a2: the log-odds of "dropped out after the last purchase" against "alive at T".
        odds = (c3 - c2)[xi] + (r + x) * gap
        soft = np.logaddexp(0.0, odds)
        value = (
            _dot(w_by_x, gammaln(r + xs) - gammaln(r) + c2)
            + total_w * r * np.log(alpha)
            - r * _dot(w, log_t)
            - _dot(wx, log_t)
            + _dot(w, soft)
        )
        w3 = w * np.exp(odds - soft)  # weight times P(dropped out | x, t_x, T)
        w3_by_x = np.bincount(xi, weights=w3, minlength=xs.size)
        psi_ab = digamma(a + b)
        psi_abx = digamma(a + b + xs + shift)
        d_r = (
            _dot(w_by_x, digamma(r + xs) - digamma(r))
            + total_w * np.log(alpha)
            - _dot(w, log_t)
            + _dot(w3, gap)
        )
        inv_t = (1.0 / (alpha + ts))[ti]
        inv_tx = (1.0 / (alpha + txs))[txi]
        d_alpha = (
            total_w * r / alpha
            - r * _dot(w, inv_t)
            - _dot(wx, inv_t)
            - _dot(w3 * (r + x), inv_tx - inv_t)
        )
        a2_a = psi_ab - psi_abx
        a2_b = digamma(b + xs + shift) - psi_abx - digamma(b) + psi_ab
        a3_a = digamma(a + 1.0) - psi_abx - digamma(a) + psi_ab
        a3_b = np.where(has_term_u, digamma(b_arg_u) - psi_abx - digamma(b) + psi_ab, 0.0)
        d_a = _dot(w_by_x, a2_a) + _dot(w3_by_x, a3_a - a2_a)
        d_b = _dot(w_by_x, a2_b) + _dot(w3_by_x, a3_b - a2_b)
        return float(value), np.array([d_r, d_alpha, d_a, d_b])

    return value_and_gradient


def _fit(
    model: type[B], *, frequency, recency, T, weights, initial, penalty: float = 0.0
) -> Fitted[B]:
    modified = model._modified
    x, t_x, big_t = _check_rfm(frequency, recency, T)
    w, (x, t_x, big_t) = collapse_duplicates(row_weights(weights, x.size), x, t_x, big_t)
    log_likelihood = _weighted_log_likelihood(x, t_x, big_t, w, modified)

    if initial is None:
        # Method-of-moments flavoured start: mean repeat rate for r / alpha, a fifth drop-out.
        rate = max(float((x @ w) / max(big_t @ w, 1e-12)), 1e-6)
        initial = (1.0, 1.0 / rate, 1.0, 3.0)
    if penalty > 0:
        log_likelihood = _shrunk_towards(log_likelihood, initial, penalty * float(w.sum()))
    theta, diagnostics = maximise_log_likelihood(
        log_likelihood=log_likelihood,
        names=("r", "alpha", "a", "b"),
        initial=initial,
        n_observations=float(w.sum()),
    )
    return Fitted(model(*map(float, theta)), diagnostics)


def _shrunk_towards(log_likelihood, centre, strength: float):
    """The log-likelihood minus ``strength * sum(log(theta / centre) ** 2)``: a Gaussian prior
    on the log-parameters that keeps a small or degenerate population's estimates off the
    optimiser's bounds (the role of ``penalizer_coef`` in the lifetimes package)."""
    log_centre = np.log(np.asarray(centre, dtype=float))

    def penalised(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = log_likelihood(theta)
        distance = np.log(theta) - log_centre
        return (
            value - strength * float(distance @ distance),
            gradient - 2.0 * strength * distance / theta,
        )

    return penalised


def fit_bg_nbd(
    *,
    frequency,
    recency,
    T,
    weights=None,
    initial: tuple[float, ...] | None = None,
    penalty: float = 0.0,
) -> Fitted[BetaGeoModel]:
    """Fit the BG/NBD model by maximum likelihood (FHL 2005, equation 6).

    Pass one row per customer: identical rows are collapsed into one weighted row before
    fitting, so millions of customers fit in a fraction of a second. ``weights`` (optional)
    count how many customers each row stands for, for data already aggregated. A ``penalty``
    above zero shrinks the log-parameters towards the starting point, by that much per
    customer (maximum a posteriori rather than maximum likelihood).
    """
    return _fit(
        BetaGeoModel,
        frequency=frequency,
        recency=recency,
        T=T,
        weights=weights,
        initial=initial,
        penalty=penalty,
    )


def fit_mbg_nbd(
    *, frequency, recency, T, weights=None, initial: tuple[float, ...] | None = None
) -> Fitted[ModifiedBetaGeoModel]:
    """Fit the MBG/NBD model by maximum likelihood (Batislam, Denizel & Filiztekin 2007)."""
    return _fit(
        ModifiedBetaGeoModel,
        frequency=frequency,
        recency=recency,
        T=T,
        weights=weights,
        initial=initial,
    )
