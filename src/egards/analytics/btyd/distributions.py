"""What the point predictions leave out: the distribution of purchases, simulated customer
bases, and the uncertainty that comes from the parameters.

* :func:`probability_of_purchases`: P(X(t) = n) for a new customer, BG/NBD (Fader, Hardie &
  Lee 2005, equation 8) and MBG/NBD (Batislam et al. 2007), the ``lifetimes`` method of the
  same name.
* :func:`simulate_bg_nbd`, :func:`simulate_pareto_nbd`: customer bases drawn from a model, in
  continuous time (purchase times are not floored to a day), summarised as (frequency,
  recency, T). Fitting a simulated base is how parameter recovery is checked.
* :func:`sample_models` and :func:`prediction_interval`: a *cheap* substitute for a Bayesian
  posterior. Parameters are drawn from the normal approximation of the estimates on the log
  scale (the fit's covariance, from the observed information) and a prediction is computed for
  each draw; the spread of those predictions is the uncertainty that comes from estimating the
  parameters on this customer base. It is not a full predictive interval: it leaves out the
  randomness of each customer's own future purchases (a customer expected to buy 1.2 times
  buys 0, 1, 2, ... times), and relies on the normal approximation, which is poor for small
  bases or estimates near a boundary. Use it to tell how much the fit can be trusted, not to
  bound what one customer will do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
from scipy.special import betaln, gammaln

from ._fit import Fitted
from .bg_nbd import BetaGeoModel
from .pareto_nbd import ParetoNBDModel

__all__ = [
    "prediction_interval",
    "probability_of_purchases",
    "sample_models",
    "simulate_bg_nbd",
    "simulate_pareto_nbd",
]

M = TypeVar("M")


def probability_of_purchases(model: BetaGeoModel, *, t: float, n) -> np.ndarray:
    """P(X(t) = n): the probability that a new customer makes ``n`` purchases in ``(0, t]``.

    FHL (2005), equation 8: still alive after the n-th purchase and n purchases from the NBD,
    or dropped out after the n-th purchase having made at least n. For MBG/NBD the customer
    may also drop out at time zero, which shifts the beta terms by one.
    """
    n = np.asarray(n, dtype=float)
    if np.any(n < 0) or np.any(n != np.round(n)):
        raise ValueError("n counts purchases: a non-negative integer")
    if t < 0:
        raise ValueError("t must be non-negative")
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    modified = model._modified
    shift = 1.0 if modified else 0.0
    log_p0 = r * (np.log(alpha) - np.log(alpha + t))
    log_q = np.log(t) - np.log(alpha + t) if t > 0 else -np.inf

    def log_nbd(j: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            jq = np.where(j > 0, j * log_q, 0.0)
        return gammaln(r + j) - gammaln(r) - gammaln(j + 1.0) + log_p0 + jq

    beta_ab = betaln(a, b)
    alive = np.exp(betaln(a, b + n + shift) - beta_ab + log_nbd(n))
    # Dropped out just after purchase n (for MBG/NBD, n = 0 is dropping out at once): the
    # NBD count must have reached n, P(N(t) >= n) = 1 - sum_{j < n} P(N(t) = j).
    top = int(n.max()) if n.size else 0
    j = np.arange(0, top + 1, dtype=float)
    cumulative = np.concatenate([[0.0], np.cumsum(np.exp(log_nbd(j)))])
    upto = n.astype(np.int64)  # the terms j = 0 .. n - 1
    at_least = np.clip(1.0 - cumulative[upto], 0.0, 1.0)
    gone_arg = np.where(n + shift > 0, b + n - 1.0 + shift, 1.0)
    gone = np.where(n + shift > 0, np.exp(betaln(a + 1.0, gone_arg) - beta_ab), 0.0)
    return alive + gone * at_least


def _summarise(first_and_times: list[np.ndarray], big_t: np.ndarray):
    frequency = np.array([times.size for times in first_and_times], dtype=float)
    recency = np.array([times[-1] if times.size else 0.0 for times in first_and_times])
    return frequency, recency, big_t


def simulate_bg_nbd(
    model: BetaGeoModel, *, T, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) of customers drawn from a BG/NBD (or MBG/NBD) model.

    ``T`` is each customer's age at the end of the window (one value per customer). Each
    customer has a purchase rate from Gamma(r, alpha) and a drop-out probability from Beta(a,
    b); after each repeat purchase (and, for MBG/NBD, at the first one) the customer drops out
    with that probability. Times are continuous.
    """
    big_t = np.asarray(T, dtype=float)
    size = big_t.size
    rate = rng.gamma(model.r, 1.0 / model.alpha, size)
    p = rng.beta(model.a, model.b, size)
    modified = model._modified
    histories = []
    for lam, drop, horizon in zip(rate, p, big_t, strict=True):
        times: list[float] = []
        if modified and rng.random() < drop:
            histories.append(np.array(times))
            continue
        now = 0.0
        while True:
            now += rng.exponential(1.0 / lam)
            if now > horizon:
                break
            times.append(now)
            if rng.random() < drop:
                break
        histories.append(np.array(times))
    return _summarise(histories, big_t)


def simulate_pareto_nbd(
    model: ParetoNBDModel, *, T, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) of customers drawn from a Pareto/NBD model, vectorised.

    Rates ~ Gamma(r, alpha), death rates ~ Gamma(s, beta), lifetimes exponential; given the
    number of purchases in the observed part of the lifetime (Poisson), the purchase times are
    uniform on it, so the last one is the maximum of that many uniforms. Times are continuous.
    """
    big_t = np.asarray(T, dtype=float)
    size = big_t.size
    rate = rng.gamma(model.r, 1.0 / model.alpha, size)
    death = rng.gamma(model.s, 1.0 / model.beta, size)
    lifetime = rng.exponential(1.0 / death)
    observed = np.minimum(lifetime, big_t)
    frequency = rng.poisson(rate * observed).astype(float)
    # The maximum of k uniforms on (0, L) is L U^(1/k).
    with np.errstate(divide="ignore"):
        recency = np.where(
            frequency > 0, observed * rng.random(size) ** (1.0 / np.maximum(frequency, 1)), 0.0
        )
    return frequency, recency, big_t


def sample_models(fitted: Fitted[M], *, draws: int, rng: np.random.Generator) -> list[M]:
    """``draws`` models with parameters from the fit's normal approximation on the log scale.

    The covariance of the log-parameters is the fit's covariance divided by the outer product
    of the estimates (the delta method, reversed). See the module's notes on what this leaves
    out.
    """
    model: Any = fitted.model
    names = list(fitted.standard_errors)
    theta = np.array([getattr(model, name) for name in names])
    covariance = np.asarray(fitted.diagnostics.covariance) / np.outer(theta, theta)
    if not np.all(np.isfinite(covariance)):
        raise ValueError("the fit has no usable covariance (it did not converge to a maximum)")
    log_draws = rng.multivariate_normal(np.log(theta), covariance, size=draws, method="eigh")
    return [
        replace(model, **dict(zip(names, map(float, np.exp(row)), strict=True)))
        for row in log_draws
    ]


def prediction_interval(
    fitted: Fitted[M],
    predict: Callable[[M], np.ndarray],
    *,
    level: float = 0.9,
    draws: int = 200,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, median, upper) of ``predict(model)`` over models drawn by :func:`sample_models`.

    ``predict`` returns one number per customer (P(alive), expected purchases, CLV ...); the
    bounds are the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles across draws. Parameter
    uncertainty only: read the module's notes before using them.
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    predictions = np.stack(
        [np.asarray(predict(m), dtype=float) for m in sample_models(fitted, draws=draws, rng=rng)]
    )
    tail = (1.0 - level) / 2.0
    lower, median, upper = np.quantile(predictions, [tail, 0.5, 1.0 - tail], axis=0)
    return lower, median, upper
