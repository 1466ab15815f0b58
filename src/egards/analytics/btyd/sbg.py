"""Shifted-beta-geometric (sBG) model of contract renewal, by cohort.

Fader, P. S. & Hardie, B. G. S. (2007), "How to project customer retention", Journal of
Interactive Marketing 21(1), 76-90: each customer renews at the end of each period with a
constant probability 1 - theta, theta ~ Beta(gamma, delta) across customers; equations (5)-(7)
for P(T = t), the survivor function and the retention rates, and the likelihood of the appendix.

Fader, P. S. & Hardie, B. G. S. (2010), "Customer-base valuation in a contractual setting: the
perils of ignoring heterogeneity", Marketing Science 29(1), 85-93: equation (6) for the
discounted expected residual lifetime (DERL) of a customer who has renewed n - 1 times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import cast

import numpy as np
from scipy.special import betaln, digamma

from ._fit import Fitted, maximise_log_likelihood
from ._special import log_hyp2f1_one

__all__ = ["ShiftedBetaGeometricModel", "fit_sbg"]


@dataclass(frozen=True, slots=True)
class ShiftedBetaGeometricModel:
    """sBG parameters: churn probability theta ~ Beta(gamma, delta)."""

    gamma: float
    delta: float

    @property
    def params(self) -> dict[str, float]:
        return asdict(self)

    def survival(self, periods) -> np.ndarray:
        """S(t) = B(gamma, delta + t) / B(gamma, delta): share still subscribed after t periods."""
        t = np.asarray(periods, dtype=float)
        return np.exp(betaln(self.gamma, self.delta + t) - betaln(self.gamma, self.delta))

    def churn_probability(self, periods) -> np.ndarray:
        """P(T = t) = B(gamma + 1, delta + t - 1) / B(gamma, delta), t = 1, 2, ..."""
        t = np.asarray(periods, dtype=float)
        return np.exp(
            betaln(self.gamma + 1.0, self.delta + t - 1.0) - betaln(self.gamma, self.delta)
        )

    def retention_rate(self, periods) -> np.ndarray:
        """r_t = (delta + t - 1) / (gamma + delta + t - 1): rises with t through sorting."""
        t = np.asarray(periods, dtype=float)
        return (self.delta + t - 1.0) / (self.gamma + self.delta + t - 1.0)

    def expected_survivors(self, *, cohort_size: float, periods) -> np.ndarray:
        return cohort_size * self.survival(periods)

    def discounted_expected_residual_lifetime(self, *, renewals, discount_rate) -> np.ndarray:
        """DERL(d | gamma, delta, n - 1 renewals), in payments of one unit per period.

        (delta + n - 1) / (gamma + delta + n - 1) * 2F1(1, delta + n; gamma + delta + n;
        1 / (1 + d)), Fader & Hardie (2010), equation (6): the value, just before the n-th
        renewal decision, of one unit received at each renewal, discounted at ``d`` per period.
        Multiply by the margin per period to get a residual customer value.
        """
        n = np.asarray(renewals, dtype=float) + 1.0
        d = np.asarray(discount_rate, dtype=float)
        if np.any(d <= 0):
            raise ValueError("the discount rate must be positive for the sum to converge")
        g, dl = self.gamma, self.delta
        log_h = log_hyp2f1_one(dl + n, g + dl + n, 1.0 / (1.0 + d)).value
        return (dl + n - 1.0) / (g + dl + n - 1.0) * np.exp(log_h)

    def discounted_expected_lifetime(self, *, discount_rate) -> np.ndarray:
        """DEL for a customer about to make the first payment: 1 + DERL after zero renewals."""
        return 1.0 + self.discounted_expected_residual_lifetime(
            renewals=0, discount_rate=discount_rate
        )


def _cohort_counts(survivors: Sequence[float]) -> tuple[np.ndarray, np.ndarray, float, int]:
    alive = np.asarray(survivors, dtype=float)
    if alive.ndim != 1 or alive.size < 2:
        raise ValueError("a cohort needs its initial size and at least one later count")
    if np.any(np.diff(alive) > 0) or np.any(alive < 0):
        raise ValueError("survivor counts cannot increase")
    lost = alive[:-1] - alive[1:]
    periods = np.arange(1, alive.size, dtype=float)
    return periods, lost, float(alive[-1]), alive.size - 1


def fit_sbg(
    *, survivors: Sequence[float] | Sequence[Sequence[float]], initial=(1.0, 1.0)
) -> Fitted[ShiftedBetaGeometricModel]:
    """Fit the sBG model to one or several cohorts' survivor counts.

    ``survivors`` is a cohort's head-count at the start and after each period
    (1000, 869, 743, ...), or a list of such series (cohorts of different ages share the
    parameters). The log-likelihood is sum_t lost_t log P(T = t) + alive_last log S(t_last).
    """
    series = cast(
        "Sequence[Sequence[float]]",
        [survivors] if len(survivors) and np.ndim(survivors[0]) == 0 else survivors,
    )
    cohorts = [_cohort_counts(s) for s in series]
    total = float(sum(np.asarray(s, dtype=float)[0] for s in series))

    def log_likelihood(theta: np.ndarray) -> tuple[float, np.ndarray]:
        g, d = theta
        value = 0.0
        grad = np.zeros(2)
        psi_gd, psi_g, psi_d = digamma(g + d), digamma(g), digamma(d)
        for periods, lost, alive_last, last in cohorts:
            b0 = betaln(g, d)
            log_p = betaln(g + 1.0, d + periods - 1.0) - b0
            log_s = betaln(g, d + last) - b0
            value += float(lost @ log_p + alive_last * log_s)
            psi_t = digamma(g + d + periods)
            grad[0] += lost @ (digamma(g + 1.0) - psi_t - psi_g + psi_gd)
            grad[1] += lost @ (digamma(d + periods - 1.0) - psi_t - psi_d + psi_gd)
            psi_last = digamma(g + d + last)
            grad[0] += alive_last * (psi_gd - psi_last)
            grad[1] += alive_last * (digamma(d + last) - psi_last - psi_d + psi_gd)
        return value, grad

    theta, diagnostics = maximise_log_likelihood(
        log_likelihood=log_likelihood,
        names=("gamma", "delta"),
        initial=initial,
        n_observations=total,
    )
    return Fitted(ShiftedBetaGeometricModel(*map(float, theta)), diagnostics)
