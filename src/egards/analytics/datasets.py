"""Reference data shipped with the package, for tests, examples and benchmarks.

CDNOW (1/10th sample, Fader, Hardie & Lee 2005) and the donations data of Fader, Hardie &
Shang (2010), as distributed in the MIT-licensed ``lifetimes`` package.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

__all__ = [
    "Transactions",
    "load_cdnow_sample_transactions",
    "load_cdnow_summary",
    "load_cdnow_summary_with_spend",
    "load_donations",
]


def _read(name: str) -> str:
    return files("egards.analytics").joinpath("data", name).read_text(encoding="utf-8")


def _columns(name: str) -> dict[str, np.ndarray]:
    reader = csv.DictReader(io.StringIO(_read(name)))
    rows = list(reader)
    return {key: np.array([float(row[key]) for row in rows]) for key in reader.fieldnames or []}


@dataclass(frozen=True, slots=True)
class Transactions:
    customer_id: np.ndarray
    date: np.ndarray
    quantity: np.ndarray
    monetary_value: np.ndarray


def load_cdnow_sample_transactions() -> Transactions:
    """6,919 purchases of the 2,357 sample customers, 1997-01-01 to 1998-06-30.

    ``customer_id`` is the sample id (1..2357) used by the published summaries.
    """
    ids, dates, quantities, values = [], [], [], []
    for line in _read("CDNOW_sample.txt").splitlines():
        parts = line.split()
        if not parts:
            continue
        ids.append(int(parts[1]))
        raw = parts[2]
        dates.append(f"{raw[:4]}-{raw[4:6]}-{raw[6:]}")
        quantities.append(int(parts[3]))
        values.append(float(parts[4]))
    return Transactions(
        customer_id=np.array(ids),
        date=np.array(dates, dtype="datetime64[D]"),
        quantity=np.array(quantities),
        monetary_value=np.array(values),
    )


def load_cdnow_summary() -> dict[str, np.ndarray]:
    """Columns ID, frequency, recency, T (weeks; calibration ends 1997-09-30)."""
    return _columns("cdnow_customers_summary.csv")


def load_cdnow_summary_with_spend() -> dict[str, np.ndarray]:
    """Columns ID, x, t_x, T, zbar (mean repeat spend, dollars)."""
    return _columns("cdnow_customers_summary_with_transactions.csv")


def load_donations() -> dict[str, np.ndarray]:
    """Columns frequency, recency, periods, weights: 11,104 donors, 1995 cohort, 6 years."""
    return _columns("donations.csv")
