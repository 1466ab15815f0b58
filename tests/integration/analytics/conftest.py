"""A synthetic customer base with a realistic purchase history, written in bulk."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import insert, select

from egards.bulk import copy_rows
from egards.customers.models import Customer
from egards.db import utcnow

AS_OF = date(2026, 6, 30)


def add_customers(db, count: int, *, prefix: str = "AN") -> list[int]:
    now = utcnow()
    with db.unit_of_work() as session:
        session.execute(
            insert(Customer.__table__),
            [
                {
                    "external_id": f"{prefix}{n:06d}",
                    "first_name": "Camille",
                    "last_name": f"Test{n}",
                    "search_last_first": f"test{n} camille",
                    "search_first_last": f"camille test{n}",
                    "preferred_language": "fr",
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(count)
            ],
        )
        return list(
            session.scalars(
                select(Customer.id)
                .where(Customer.external_id.like(f"{prefix}%"))
                .order_by(Customer.id)
            )
        )


def purchase_history(ids: list[int], *, as_of: date = AS_OF, seed: int = 5):
    """Loyal frequent buyers, occasional ones, lapsed ones and one-off tourists over 3 years."""
    rng = np.random.default_rng(seed)
    end = (as_of - date(1970, 1, 1)).days
    cid, day, amount = [], [], []
    for n, customer in enumerate(ids):
        kind = n % 4
        start = end - int(rng.integers(400, 1100))
        if kind == 3:  # tourist: one purchase
            days = [int(rng.integers(start, end))]
        else:
            rate = {0: 1 / 12, 1: 1 / 45, 2: 1 / 20}[kind]
            stop = end if kind != 2 else int(rng.integers(start + 60, end - 200))
            gaps = rng.exponential(1 / rate, size=400).cumsum().astype(int)
            days = [start] + [start + g for g in gaps if start + g <= stop]
        for d in days:
            cid.append(customer)
            day.append(d)
            amount.append(int(rng.gamma(2.0, 2500.0 if kind == 0 else 1500.0)) + 100)
    return np.array(cid), np.array(day), np.array(amount)


def write_transactions(db, ids, days, amounts, *, label: str = "tests") -> None:
    table = pa.table(
        {
            "customer_id": pa.array(ids, pa.int64()),
            "on": pa.array(np.asarray(days, dtype=np.int32)).cast(pa.date32()),
            "amount_cents": pa.array(amounts, pa.int64()),
            "label": pa.array([label] * len(ids), pa.string()),
        }
    )
    with db.unit_of_work() as session:
        copy_rows(session, "analytics_transactions", table)


@pytest.fixture
def population(db):
    """400 customers with three years of purchases; returns their ids."""
    ids = add_customers(db, 400)
    write_transactions(db, *purchase_history(ids))
    return ids


def day(value: date) -> int:
    return (value - date(1970, 1, 1)).days


__all__ = ["AS_OF", "add_customers", "day", "purchase_history", "timedelta", "write_transactions"]
