"""Tables of customer value and risk.

``analytics_transactions`` holds purchases imported from any till, web shop or billing system,
so that the models work without the loyalty engine. ``customer_scores`` is the current score of
each customer, replaced as a whole by each successful run in one transaction; ``score_history``
keeps the main figures of every run for trends; ``score_runs`` says what each run did.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from egards.db import Base, BigIntKey, utcnow


class Transaction(Base):
    """One purchase: who, which day, how much (integer minor units, never negative)."""

    __tablename__ = "analytics_transactions"
    __table_args__ = (
        Index("ix_analytics_transactions_customer_on", "customer_id", "on"),
        Index("ix_analytics_transactions_label", "label"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    label: Mapped[str] = mapped_column(String(100))  # the import it came from


class ScoreRun(Base):
    __tablename__ = "score_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # queued | running | succeeded | failed
    as_of: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[str | None] = mapped_column(String(60))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Why a failed run failed: a stable code (a domain error's own, or ``score_run_failed`` /
    # ``score_run_abandoned``) and a stored message, read in the reader's language.
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class CustomerScore(Base):
    """The current value and risk of a customer, from the last successful run."""

    __tablename__ = "customer_scores"
    __table_args__ = (
        Index("ix_customer_scores_segment", "segment"),
        Index("ix_customer_scores_clv", "clv_cents"),
    )

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("score_runs.id"))
    scored_on: Mapped[date] = mapped_column(Date)
    model_version: Mapped[str] = mapped_column(String(60))
    purchases: Mapped[int] = mapped_column(Integer)
    spend_cents: Mapped[int] = mapped_column(BigInteger)
    mean_spend_cents: Mapped[int] = mapped_column(BigInteger)
    first_purchase_on: Mapped[date] = mapped_column(Date)
    last_purchase_on: Mapped[date] = mapped_column(Date)
    days_since_last: Mapped[int] = mapped_column(Integer)
    expected_purchases_12m: Mapped[float] = mapped_column(Float)
    probability_alive: Mapped[float] = mapped_column(Float)
    expected_spend_cents: Mapped[int] = mapped_column(BigInteger)
    clv_cents: Mapped[int] = mapped_column(BigInteger)
    value_decile: Mapped[int] = mapped_column(SmallInteger)  # 10 = the most valuable tenth
    rfm: Mapped[int] = mapped_column(SmallInteger)  # e.g. 545
    segment: Mapped[str] = mapped_column(String(40))
    churn_risk: Mapped[float] = mapped_column(Float)
    churn_reasons: Mapped[str] = mapped_column(Text)  # codes, rendered in words per language


class ScoreHistory(Base):
    """The main figures of each run, per customer, for trends (appended, run after run)."""

    __tablename__ = "score_history"

    run_id: Mapped[int] = mapped_column(ForeignKey("score_runs.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    scored_on: Mapped[date] = mapped_column(Date)
    model_version: Mapped[str] = mapped_column(String(60))
    spend_cents: Mapped[int] = mapped_column(BigInteger)
    clv_cents: Mapped[int] = mapped_column(BigInteger)
    probability_alive: Mapped[float] = mapped_column(Float)
    churn_risk: Mapped[float] = mapped_column(Float)
    segment: Mapped[str] = mapped_column(String(40))
