"""Demo value and risk: score the demo customers from their loyalty activity, or from
generated purchases when the loyalty demo has not produced any."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
from rich.console import Console
from sqlalchemy import text

from egards.accounts.domain import SYSTEM
from egards.analytics import service
from egards.bulk import copy_rows
from egards.db import Database
from egards.errors import DomainError

TODAY = date(2026, 11, 20)  # the demo's "today", as in the other features' demo data


def populate(db: Database, *, seed: int, console: Console | None, summary) -> None:
    with db.unit_of_work() as session:
        ids, _, _ = service.read_transactions(session, source="loyalty", as_of=TODAY)
        customers = [r[0] for r in session.execute(text("SELECT id FROM customers ORDER BY id"))]
    generated = 0
    if ids.size < 100 and customers:
        generated = _generate(db, customers, seed=seed)
    try:
        outcome = service.score(
            db, actor=SYSTEM, as_of=TODAY, source="all", refit=True, console=console
        )
    except DomainError as error:
        # A very small demo may not carry enough history to fit the models: say so, go on.
        summary.features["analytics"] = f"not scored: {error.message}"
        return
    with db.unit_of_work() as session:
        segments = service.segments(session, actor=SYSTEM)
    top = ", ".join(f"{s['customers']} {s['label']}" for s in segments[:4])
    churn = outcome.report["churn"]
    auc = f", churn AUC {churn['auc']:.2f}" if "auc" in churn else ""
    origin = f"{generated:,} generated purchases" if generated else "loyalty activity"
    summary.features["analytics"] = (
        f"{outcome.counts['customers_scored']:,} customers scored from {origin}"
        f" ({outcome.model_version}{auc}); segments: {top}"
    )


def _generate(db: Database, customers: list[int], *, seed: int) -> int:
    """Plausible purchases over three years: frequent loyal buyers, occasional ones, lapsed
    ones and one-off tourists, with spend that differs by kind."""
    rng = np.random.default_rng(seed * 97 + 5)
    end = (TODAY - date(1970, 1, 1)).days
    kinds = rng.choice(4, size=len(customers), p=[0.15, 0.35, 0.2, 0.3])
    cid, day, amount = [], [], []
    for customer, kind in zip(customers, kinds, strict=True):
        start = end - int(rng.integers(200, 1100))
        if kind == 3:
            days = np.array([rng.integers(start, end)])
        else:
            every = {0: 14.0, 1: 60.0, 2: 25.0}[int(kind)]
            stop = end if kind != 2 else int(rng.integers(start + 30, max(start + 31, end - 150)))
            gaps = np.cumsum(rng.exponential(every * rng.uniform(0.6, 1.6), size=300))
            days = start + np.concatenate([[0], gaps.astype(int)])
            days = days[days <= stop]
        cid.extend([customer] * days.size)
        day.extend(days.tolist())
        scale = {0: 60.0, 1: 35.0, 2: 40.0, 3: 30.0}[int(kind)]
        amount.extend((rng.gamma(3.0, scale, size=days.size) * 100).astype(int) + 100)
    table = pa.table(
        {
            "customer_id": pa.array(cid, pa.int64()),
            "on": pa.array(np.asarray(day, dtype=np.int32)).cast(pa.date32()),
            "amount_cents": pa.array(amount, pa.int64()),
            "label": pa.array(["demo"] * len(cid), pa.string()),
        }
    )
    with db.unit_of_work() as session:
        copy_rows(session, "analytics_transactions", table)
    return len(cid)
