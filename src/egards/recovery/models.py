"""Tables of service recovery.

``recovery_gesture_types`` is the catalogue (seeded from ``catalogue.yaml``, edited in the
console). A gesture granted to a customer is a ``recovery_grants`` row whatever its kind; its
fulfilment lives in the kind's own table (a voucher, an invitation, a letter) or in another
feature (points in the loyalty ledger, a tier through the loyalty engine's exception path).
``recovery_budgets`` holds one row per agent or team and month: the limit and what was spent,
updated by a conditional ``UPDATE`` so two agents never overspend the last euros together.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from egards.db import Base, BigIntKey, utcnow

_PENDING = text("status = 'pending'")


class GestureType(Base):
    """One entry of the catalogue: a kind, a cost model and its texts in French and English."""

    __tablename__ = "recovery_gesture_types"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name_fr: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    text_fr: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cash_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    min_amount: Mapped[int | None] = mapped_column(BigInteger)
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    cost_per_thousand_cents: Mapped[int | None] = mapped_column(Integer)
    cost_percent: Mapped[int] = mapped_column(SmallInteger, default=100)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="system")


class Budget(Base):
    """A discretionary budget of one agent (owner = user id) or one team for one month."""

    __tablename__ = "recovery_budgets"
    __table_args__ = (
        UniqueConstraint("scope", "owner", "month"),
        CheckConstraint("spent_cents >= 0", name="spent_not_negative"),
        CheckConstraint("limit_cents >= 0", name="limit_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # agent | team
    owner: Mapped[str] = mapped_column(String(60))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in the business time zone
    limit_cents: Mapped[int] = mapped_column(BigInteger)
    spent_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Grant(Base):
    """A gesture for a customer: granted at once, waiting for approval, or refused."""

    __tablename__ = "recovery_grants"
    __table_args__ = (
        Index("ix_recovery_grants_customer", "customer_id", "created_at"),
        Index("ix_recovery_grants_case", "case_id"),
        Index("ix_recovery_grants_month", "month", "team", "agent_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    """Idempotency key: the same request twice grants once."""
    request_hash: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    gesture_code: Mapped[str] = mapped_column(ForeignKey("recovery_gesture_types.code"))
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    cost_cents: Mapped[int] = mapped_column(BigInteger)
    cash_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    reason_code: Mapped[str] = mapped_column(String(40))
    reason_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # granted | pending | rejected
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the kind needs (event, tier action, letter) and what fulfilment produced."""
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agent_label: Mapped[str] = mapped_column(String(200))
    team: Mapped[str] = mapped_column(String(40))
    month: Mapped[str] = mapped_column(String(7))
    language: Mapped[str] = mapped_column(String(5))
    recommendation_id: Mapped[int | None] = mapped_column(ForeignKey("recovery_recommendations.id"))
    recommended_rank: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_at: Mapped[datetime | None]


class Approval(Base):
    """A supervisor's decision on a gesture above budget or needing approval, with a promise."""

    __tablename__ = "recovery_approvals"
    __table_args__ = (
        Index(
            "ix_recovery_approvals_pending",
            "due_at",
            postgresql_where=_PENDING,
            sqlite_where=_PENDING,
        ),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("recovery_grants.id"), unique=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20))  # pending | approved | rejected
    requested_at: Mapped[datetime]
    due_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)


class Voucher(Base):
    """A voucher, upgrade or lounge pass: a unique code, a value and an expiry, redeemed once."""

    __tablename__ = "recovery_vouchers"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("recovery_grants.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_on: Mapped[date] = mapped_column(Date)
    redeemed_at: Mapped[datetime | None]
    redeemed_ref: Mapped[str | None] = mapped_column(String(200))


class Event(Base):
    """An event customers are invited to: date, place, capacity."""

    __tablename__ = "recovery_events"
    __table_args__ = (CheckConstraint("capacity > 0", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    capacity: Mapped[int] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    """Invitations not declined; bumped by a conditional update so capacity holds."""
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(Base):
    __tablename__ = "recovery_invitations"
    __table_args__ = (UniqueConstraint("event_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("recovery_events.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("recovery_grants.id"))
    status: Mapped[str] = mapped_column(
        String(20)
    )  # invited | accepted | declined | attended | absent
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LetterTemplateRow(Base):
    """An editable letter template in one language (seeded from the shipped defaults)."""

    __tablename__ = "recovery_letter_templates"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    language: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="system")


class Letter(Base):
    """A personal letter as the agent wrote it, its PDF, and how it left."""

    __tablename__ = "recovery_letters"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("recovery_grants.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    template_code: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    signer_name: Mapped[str] = mapped_column(String(200))
    signer_title: Mapped[str] = mapped_column(String(200))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    delivery: Mapped[str] = mapped_column(String(10))  # email | post
    status: Mapped[str] = mapped_column(String(20))  # queued | posted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signature(Base):
    """An agent's title and signature image, used on their letters."""

    __tablename__ = "recovery_signatures"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    image: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Recommendation(Base):
    """What the recommender proposed, from which signals, and what the agent chose."""

    __tablename__ = "recovery_recommendations"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    merit: Mapped[float]
    signals: Mapped[dict[str, Any]] = mapped_column(JSON)
    proposals: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    chosen_code: Mapped[str | None] = mapped_column(String(60))
    chosen_rank: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleException(Base):
    """ "Savoir sortir du process": a case marked as an exception to a rule, and what came of it."""

    __tablename__ = "recovery_exceptions"
    __table_args__ = (Index("ix_recovery_exceptions_rule", "rule", "status"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    rule: Mapped[str] = mapped_column(String(60))
    why: Mapped[str] = mapped_column(Text)
    remedy: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # proposed | approved | rejected
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_by: Mapped[str] = mapped_column(String(200))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(20))  # stayed | left | unknown
    outcome_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
