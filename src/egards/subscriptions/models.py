"""Tables of subscriptions.

``subscriptions`` holds one contract per row (its reference, terms and current status);
``subscription_status_changes`` its history; ``cancellation_requests`` every request to end a
contract whatever the channel, with the acknowledgement sent (text and PDF) kept as proof,
the reason given, the retention offer proposed, the outcome and the win-back contact.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from egards.db import Base, BigIntKey, utcnow


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("notice_days >= 0", name="notice_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="telecom")
    offer: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str | None] = mapped_column(String(200))
    line_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_date: Mapped[date] = mapped_column(Date)
    commitment_end: Mapped[date | None] = mapped_column(Date)
    notice_days: Mapped[int] = mapped_column(SmallInteger, default=0)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    early_fee_percent: Mapped[int] = mapped_column(SmallInteger, default=25)
    equipment: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    ends_on: Mapped[date | None] = mapped_column(Date)
    resumes_on: Mapped[date | None] = mapped_column(Date)  # while suspended: billing restarts
    sold_channel: Mapped[str] = mapped_column(String(20))
    sold_silo: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriptionStatusChange(Base):
    __tablename__ = "subscription_status_changes"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    at: Mapped[datetime]
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_label: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(300))


class CancellationRequest(Base):
    __tablename__ = "cancellation_requests"
    __table_args__ = (
        Index("ix_cancellation_requests_winback", "winback_due_on", "winback_done_at"),
        CheckConstraint("fee_cents >= 0", name="fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    # What the person gave (kept as proof of the request; erased with the person).
    name_given: Mapped[str] = mapped_column(String(200))
    reference_given: Mapped[str] = mapped_column(String(60))
    email_given: Mapped[str | None] = mapped_column(String(320))
    postal_address_given: Mapped[str | None] = mapped_column(String(500))
    line_number_given: Mapped[str | None] = mapped_column(String(40))
    desired_end: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(30), index=True)
    reason_text: Mapped[str | None] = mapped_column(Text)
    legitimate_reason: Mapped[str | None] = mapped_column(String(30))
    proof_filename: Mapped[str | None] = mapped_column(String(255))
    proof_type: Mapped[str | None] = mapped_column(String(120))
    proof: Mapped[bytes | None] = mapped_column(LargeBinary)
    # What the company answered.
    end_date: Mapped[date | None] = mapped_column(Date)
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    received_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledgement_to: Mapped[str | None] = mapped_column(String(320))
    acknowledgement_text: Mapped[str | None] = mapped_column(Text)
    acknowledgement_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    acknowledgement_sha256: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    logged_by: Mapped[str] = mapped_column(String(200))
    # Retention: what was proposed, and what happened.
    offer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(20), index=True)
    outcome_at: Mapped[datetime | None]
    outcome_by: Mapped[str | None] = mapped_column(String(200))
    grant_id: Mapped[int | None] = mapped_column(BigInteger)
    # Win-back after the end date.
    winback_due_on: Mapped[date | None] = mapped_column(Date)
    winback_channel: Mapped[str | None] = mapped_column(String(10))
    winback_done_at: Mapped[datetime | None]
    won_back_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
