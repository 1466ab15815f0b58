"""Tables of the voice of the customer.

``voice_analyses`` holds what the classifier said about each message a customer wrote (an
inbound case message, a survey comment), with the agents' corrections beside it: the
corrections train the next model (``egards voice train``). ``voice_invitations`` is one survey
sent to one customer (a CSAT after a case): its signed link, its expiry, its single reminder
and the answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from egards.db import Base, BigIntKey, utcnow


class Analysis(Base):
    """Language, sentiment, churn threat and topic of one message, and their corrections."""

    __tablename__ = "voice_analyses"
    __table_args__ = (
        UniqueConstraint("source_type", "source_id"),
        Index("ix_voice_analyses_customer", "customer_id"),
        Index("ix_voice_analyses_case", "case_id"),
        Index("ix_voice_analyses_topic_received", "topic", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    source_type: Mapped[str] = mapped_column(String(20))  # case_message, survey
    source_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    received_at: Mapped[datetime]
    excerpt: Mapped[str] = mapped_column(Text)  # what was analysed (for drill-down, retraining)
    language: Mapped[str] = mapped_column(String(8))
    sentiment: Mapped[str] = mapped_column(String(10))
    sentiment_score: Mapped[float] = mapped_column(Float)
    churn_threat: Mapped[bool] = mapped_column(Boolean)
    churn_probability: Mapped[float] = mapped_column(Float)
    churn_phrase: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(40))
    topic_confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(40))
    corrected_language: Mapped[str | None] = mapped_column(String(8))
    corrected_sentiment: Mapped[str | None] = mapped_column(String(10))
    corrected_churn: Mapped[bool | None] = mapped_column(Boolean)
    corrected_topic: Mapped[str | None] = mapped_column(String(40))
    corrected_by: Mapped[str | None] = mapped_column(String(200))
    corrected_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(Base):
    """One survey sent to one customer, its link's life and its answer."""

    __tablename__ = "voice_invitations"
    __table_args__ = (
        UniqueConstraint("case_id"),
        UniqueConstraint("token_hash"),
        Index("ix_voice_invitations_customer_sent", "customer_id", "sent_at"),
        Index("ix_voice_invitations_status", "status", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    survey: Mapped[str] = mapped_column(String(40))  # a key of surveys.yaml
    token_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the link's secret
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    language: Mapped[str] = mapped_column(String(8))
    email: Mapped[str | None] = mapped_column(String(320))
    # What the report groups by, as they were when the case was resolved.
    channel: Mapped[str | None] = mapped_column(String(20))
    team: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(60))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    agent_label: Mapped[str | None] = mapped_column(String(200))
    tier: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="sent")  # sent, answered
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    follow_up_case_id: Mapped[int | None] = mapped_column(Integer)
