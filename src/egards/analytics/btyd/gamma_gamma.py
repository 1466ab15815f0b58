"""Gamma-Gamma model of the average value of a customer's repeat transactions.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "RFM and CLV: using iso-value curves for
customer base analysis", Journal of Marketing Research 42(4), 415-430, and Fader & Hardie (2013),
"The Gamma-Gamma model of monetary value", http://brucehardie.com/notes/025/ (equation 1 for the
likelihood of the mean spend z-bar of x transactions, equation 5 for the conditional mean).

The model assumes spend is independent of purchasing; fit it on customers with at least one
repeat purchase (x > 0) and their mean repeat spend.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import digamma, gammaln

from ._fit import Fitted, as_float_array, maximise_log_likelihood, row_weights, weighted_sums
from ._rows import collapse_duplicates

__all__ = ["GammaGammaModel", "fit_gamma_gamma"]


def _check(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_array(frequency, "frequency")
    zbar = as_float_array(monetary_value, "monetary_value")
    if x.shape != zbar.shape:
        raise ValueError("frequency and monetary_value must have the same length")
    if np.any(x <= 0) or np.any(zbar <= 0):
        raise ValueError("fit the spend model on repeat buyers with a positive mean spend")
    return x, zbar


def _log_likelihood_terms(theta, x, zbar, *, gradient: bool):
    p, q, gamma = theta
    px = p * x
    log_denominator = np.log(gamma + x * zbar)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + px * np.log(x)
        + (px - 1.0) * np.log(zbar)
        - (px + q) * log_denominator
    )
    if not gradient:
        return ll, None
    psi = digamma(px + q)
    grad = np.stack(
        [
            x * (psi - digamma(px) + np.log(x) + np.log(zbar) - log_denominator),
            psi - digamma(q) + np.log(gamma) - log_denominator,
            q / gamma - (px + q) / (gamma + x * zbar),
        ]
    )
    return ll, grad


@dataclass(frozen=True, slots=True)
class GammaGammaModel:
    """Spend per transaction ~ Gamma(p, nu), nu ~ Gamma(q, gamma) across customers."""

    p: float
    q: float
    gamma: float

    @property
    def params(self) -> dict[str, float]:
        return asdict(self)

    @property
    def population_mean_spend(self) -> float:
        """E[Z] = p gamma / (q - 1) (infinite when q <= 1)."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else float("inf")

    def log_likelihood(self, *, frequency, monetary_value) -> np.ndarray:
        x, zbar = _check(frequency, monetary_value)
        return _log_likelihood_terms((self.p, self.q, self.gamma), x, zbar, gradient=False)[0]

    def conditional_expected_spend(self, *, frequency, monetary_value) -> np.ndarray:
        """E[M | x, z-bar] = (gamma p + p x z-bar) / (p x + q - 1) (Fader & Hardie 2013, eq. 5).

        A weighted average of the population mean and the customer's own mean; for a customer
        with no repeat purchase it is the population mean.
        """
        x = np.asarray(frequency, dtype=float)
        zbar = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
        return (self.gamma * self.p + self.p * x * zbar) / (self.p * x + self.q - 1.0)


def fit_gamma_gamma(
    *, frequency, monetary_value, weights=None, initial: tuple[float, float, float] | None = None
) -> Fitted[GammaGammaModel]:
    """Fit the Gamma-Gamma spend model by maximum likelihood on repeat buyers.

    Identical (frequency, spend) rows are collapsed into weighted ones first.
    """
    x, zbar = _check(frequency, monetary_value)
    w, (x, zbar) = collapse_duplicates(row_weights(weights, x.size), x, zbar)

    def log_likelihood(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = _log_likelihood_terms(theta, x, zbar, gradient=True)
        assert grad is not None  # gradient=True computes it
        return float(weighted_sums(ll, w)), weighted_sums(grad, w)

    if initial is None:
        initial = (1.0, 2.0, float(np.average(zbar, weights=w)))
    theta, diagnostics = maximise_log_likelihood(
        log_likelihood=log_likelihood,
        names=("p", "q", "gamma"),
        initial=initial,
        n_observations=float(w.sum()),
    )
    return Fitted(GammaGammaModel(*map(float, theta)), diagnostics)
