"""Tables of the social feature: online profiles (many per customer), their audience over
time, the mentions and direct messages they wrote, and the links between profiles and
customers, made or proposed, with their evidence and their review."""

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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from egards.db import Base, BigIntKey


class SocialProfile(Base):
    __tablename__ = "social_profiles"
    __table_args__ = (
        UniqueConstraint("network", "handle"),
        Index("ix_social_profiles_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    network: Mapped[str] = mapped_column(String(20))
    handle: Mapped[str] = mapped_column(String(100))
    """Lower case, without the ``@``."""
    display_name: Mapped[str | None] = mapped_column(String(200))
    profile_url: Mapped[str | None] = mapped_column(String(1000))
    followers: Mapped[int | None] = mapped_column(BigInteger)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    bio: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    """An address the network verified and the profile shows (a deterministic link)."""
    phone: Mapped[str | None] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    link_method: Mapped[str | None] = mapped_column(String(40))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class SocialAudience(Base):
    """The followers of a profile each time they were seen (the audience's history)."""

    __tablename__ = "social_audience"
    __table_args__ = (Index("ix_social_audience_profile", "profile_id", "seen_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("social_profiles.id"))
    followers: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime]


class SocialMention(Base):
    __tablename__ = "social_mentions"
    __table_args__ = (
        UniqueConstraint("network", "external_id"),
        Index("ix_social_mentions_profile", "profile_id", "posted_at"),
        Index("ix_social_mentions_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("social_profiles.id"))
    network: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    """mention or direct_message."""
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(1000))
    language: Mapped[str | None] = mapped_column(String(5))
    followers: Mapped[int | None] = mapped_column(BigInteger)
    posted_at: Mapped[datetime]
    received_at: Mapped[datetime]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    source: Mapped[str] = mapped_column(String(20))
    """webhook or import."""


class SocialLink(Base):
    """A link between a profile and a customer: made (``linked``), waiting for a person
    (``proposed``), refused (``rejected``) or undone (``unlinked``). The evidence is kept, and
    the reviewer's decision, so that the model can be retrained on them."""

    __tablename__ = "social_links"
    __table_args__ = (
        Index("ix_social_links_status", "status", "id"),
        Index("ix_social_links_profile", "profile_id"),
        Index("ix_social_links_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("social_profiles.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(12))
    method: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    """Why the link was proposed (in English), then the reviewer's or undoer's own words."""
    reason_message: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The message a proposal's reason was made from, rendered in the reader's language;
    none once a person has given their own reason."""


class CustomerDuplicate(Base):
    """Two customer files the model takes for one person, waiting for a person to merge them
    (through the customer file's reversible merge) or to say they are two."""

    __tablename__ = "customer_duplicates"
    __table_args__ = (
        UniqueConstraint("customer_a", "customer_b"),
        Index("ix_customer_duplicates_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_a: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    customer_b: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(12))
    """proposed, merged or distinct."""
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)


class SocialLinkModel(Base):
    """A linking model retrained from the review outcomes: the m probabilities learnt (per
    comparison, highest level first), and how many confirmed and rejected links it read."""

    __tablename__ = "social_link_models"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    m_probabilities: Mapped[dict[str, Any]] = mapped_column(JSON)
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    trained_at: Mapped[datetime]
    trained_by: Mapped[str] = mapped_column(String(200))
