"""Discounted customer lifetime value from a purchase model and a spend model.

CLV = margin * E[spend] * sum_{m=1..M} (E[X(T, T + m P)] - E[X(T, T + (m - 1) P)]) / (1 + d)^m

where P is the length of a month in the model's time unit and d the monthly discount rate: the
expected purchases of each future month, valued at the expected spend per purchase and
discounted to today (the convention of ``lifetimes``, Fader, Hardie & Lee 2005 "RFM and CLV").

The expensive part, the conditional expectation at every horizon, is computed once per distinct
(x, t_x, T) row and, for the BG/NBD family, once per distinct (x, T): batch scoring of millions
of customers costs what their few distinct histories cost.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ._rows import unique_rows
from .bg_nbd import _check_rfm

__all__ = [
    "DAYS_PER_MONTH",
    "WEEKS_PER_MONTH",
    "PurchaseModel",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "monthly_rate_from_annual",
]

DAYS_PER_MONTH = 30.0
WEEKS_PER_MONTH = 4.345


class PurchaseModel(Protocol):
    def conditional_expected_purchases(self, *, t, frequency, recency, T) -> np.ndarray: ...


def monthly_rate_from_annual(annual_rate: float) -> float:
    """The monthly rate that compounds to ``annual_rate`` over twelve months."""
    return (1.0 + annual_rate) ** (1.0 / 12.0) - 1.0


def discounted_expected_purchases(
    *,
    model: PurchaseModel,
    frequency,
    recency,
    T,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    time_units_per_month: float = DAYS_PER_MONTH,
) -> np.ndarray:
    """Sum over the next ``months`` months of discounted expected purchases, per customer."""
    x, t_x, big_t = _check_rfm(frequency, recency, T)
    if months < 1:
        raise ValueError("months must be at least 1")
    (xu, txu, tu), inverse, _ = unique_rows(x, t_x, big_t)
    horizons = np.arange(0, months + 1, dtype=float)[:, None] * time_units_per_month
    cumulative = np.zeros((months + 1, xu.size))
    cumulative[1:] = model.conditional_expected_purchases(
        t=horizons[1:], frequency=xu, recency=txu, T=tu
    )
    monthly = np.maximum(np.diff(cumulative, axis=0), 0.0)
    discount = (1.0 + monthly_discount_rate) ** -np.arange(1, months + 1, dtype=float)
    # A plain reduction rather than BLAS: see weighted_sums.
    return np.add.reduce(monthly * discount[:, None], axis=0)[inverse]


def customer_lifetime_value(
    *,
    model: PurchaseModel,
    frequency,
    recency,
    T,
    expected_spend,
    margin: float = 1.0,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    time_units_per_month: float = DAYS_PER_MONTH,
) -> np.ndarray:
    """Discounted CLV over ``months`` months, per customer.

    ``expected_spend`` is the expected value of one future purchase, usually
    :meth:`GammaGammaModel.conditional_expected_spend`; ``margin`` turns revenue into profit.
    Use :func:`monthly_rate_from_annual` for an annual discount rate.
    """
    spend = np.asarray(expected_spend, dtype=float)
    det = discounted_expected_purchases(
        model=model,
        frequency=frequency,
        recency=recency,
        T=T,
        months=months,
        monthly_discount_rate=monthly_discount_rate,
        time_units_per_month=time_units_per_month,
    )
    return margin * spend * det
