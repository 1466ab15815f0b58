"""From raw transactions to the (frequency, recency, T, spend) summary the models consume.

Conventions are those of the buy-till-you-die literature as implemented by ``lifetimes``
(``summary_data_from_transaction_data`` / ``calibration_and_holdout_data``):

* transactions are first grouped into periods (a day by default): several purchases in the
  same period are one purchase, whose value is their sum;
* ``frequency`` is the number of *repeat* periods with a purchase (the first one is not
  counted);
* ``recency`` is the age of the customer at the last purchase (0 without repeat purchase) and
  ``T`` the age at the end of the observation window, both measured from the first purchase;
* ``monetary_value`` is the mean value of the repeat purchases (0 without repeat purchase);
* with a calibration end, customers whose first purchase is later are dropped, and purchases
  after it count in the hold-out columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .btyd._rows import unique_rows

__all__ = ["CustomerSummary", "compress", "summarise_transactions"]

Period = Literal["D", "W"]
_DAYS = {"D": 1, "W": 7}


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """One row per customer, times in ``time_unit`` (days or weeks)."""

    customer_id: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray
    time_unit: Period
    frequency_holdout: np.ndarray | None = None
    monetary_value_holdout: np.ndarray | None = None
    duration_holdout: float | None = None

    def __len__(self) -> int:
        return int(self.customer_id.size)


def _period_index(days: np.ndarray, period: Period) -> np.ndarray:
    if period == "D":
        return days
    # Weeks start on Monday; 1970-01-01 was a Thursday.
    return (days + 3) // 7


def summarise_transactions(
    *,
    customer_id,
    date,
    monetary_value=None,
    observation_end,
    calibration_end=None,
    period: Period = "D",
    time_unit: Period = "D",
) -> CustomerSummary:
    """Summarise transactions per customer.

    ``date`` is anything NumPy turns into ``datetime64[D]``; ``observation_end`` is the last
    day observed (inclusive) and ``calibration_end``, if given, the last day of the calibration
    window. ``period`` groups purchases (one purchase per customer per day or per week) and
    ``time_unit`` expresses recency and T (CDNOW: days grouped, times in weeks).
    """
    ids = np.asarray(customer_id)
    days = np.asarray(date, dtype="datetime64[D]").astype(np.int64)
    values = (
        np.zeros(ids.size) if monetary_value is None else np.asarray(monetary_value, dtype=float)
    )
    if not (ids.shape == days.shape == values.shape):
        raise ValueError("customer_id, date and monetary_value must have the same length")
    end = int(np.datetime64(observation_end, "D").astype(np.int64))
    cal_end = (
        end
        if calibration_end is None
        else int(np.datetime64(calibration_end, "D").astype(np.int64))
    )
    if cal_end > end:
        raise ValueError("the calibration period must end before the observation period")

    keep = days <= end
    ids, days, values = ids[keep], days[keep], values[keep]
    periods = _period_index(days, period)

    # One purchase per customer and period, valued at the period's total.
    unique_ids, id_codes = np.unique(ids, return_inverse=True)
    (cust_codes_src, period_u), inverse, _ = unique_rows(id_codes.reshape(-1), periods)
    period_value = np.bincount(inverse, weights=values, minlength=period_u.size)
    order = np.lexsort((period_u, cust_codes_src))
    cust = cust_codes_src[order]
    per = period_u[order]
    val = period_value[order]

    cal_period_end = _period_index(np.array([cal_end]), period)[0]
    obs_period_end = _period_index(np.array([end]), period)[0]
    in_cal = per <= cal_period_end

    boundaries = np.flatnonzero(np.diff(cust)) + 1
    starts = np.concatenate([[0], boundaries])
    first_period = per[starts]
    first_value = val[starts]
    customer_codes = cust[starts]
    counts_cal = np.add.reduceat(in_cal.astype(np.int64), starts)
    last_cal = np.maximum.reduceat(np.where(in_cal, per, np.iinfo(np.int64).min), starts)
    value_cal = np.add.reduceat(np.where(in_cal, val, 0.0), starts)
    value_hold = np.add.reduceat(np.where(in_cal, 0.0, val), starts)
    counts_hold = np.add.reduceat((~in_cal).astype(np.int64), starts)

    active = first_period <= cal_period_end
    scale = _DAYS[period] / _DAYS[time_unit]
    frequency = (counts_cal - 1)[active].astype(float)
    recency = ((last_cal - first_period)[active] * scale).astype(float)
    big_t = ((cal_period_end - first_period)[active] * scale).astype(float)
    repeat_value = (value_cal - first_value)[active]
    monetary = np.divide(
        repeat_value, frequency, out=np.zeros_like(repeat_value), where=frequency > 0
    )
    result_ids = unique_ids[customer_codes[active]]
    if calibration_end is None:
        return CustomerSummary(result_ids, frequency, recency, big_t, monetary, time_unit)
    hold = counts_hold[active].astype(float)
    hold_monetary = np.divide(value_hold[active], hold, out=np.zeros_like(hold), where=hold > 0)
    return CustomerSummary(
        result_ids,
        frequency,
        recency,
        big_t,
        monetary,
        time_unit,
        frequency_holdout=hold,
        monetary_value_holdout=hold_monetary,
        duration_holdout=float((obs_period_end - cal_period_end) * scale),
    )


def compress(
    *, frequency, recency, T
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (frequency, recency, T) rows, their counts, and the map back to customers.

    Returns ``frequency, recency, T, weights, inverse``: fit on the distinct rows with
    ``weights=weights`` and expand predictions with ``prediction[inverse]``. Because purchase
    dates are days, a base of millions of customers has only tens of thousands of distinct
    histories; this is where the speed of batch fitting and scoring comes from.
    """
    (x, t_x, big_t), inverse, counts = unique_rows(
        np.asarray(frequency, dtype=float),
        np.asarray(recency, dtype=float),
        np.asarray(T, dtype=float),
    )
    return x, t_x, big_t, counts.astype(float), inverse
