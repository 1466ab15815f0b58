"""Tables of the loyalty engine.

The ledger is stored as the operations that built it (``op`` and its arguments) next to the
entries they produced, so that a member's ledger can be rebuilt exactly by replaying them
through :class:`egards.loyalty.ledger.Ledger`, the executable specification; it is the source
of truth, append-only. Each operation starts from the stored state beside it, never from a
replay: balances (``loyalty_balances``), the buckets that still hold points
(``loyalty_buckets``), the buckets each member debit took (``allocations``), the tier state
(``loyalty_members``) and what counts against per-period caps (``loyalty_cap_usage``).
``egards loyalty verify`` replays ledgers and compares.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from egards.db import Base, BigIntKey, utcnow


class Member(Base):
    __tablename__ = "loyalty_members"
    __table_args__ = (
        UniqueConstraint("customer_id", "programme"),
        UniqueConstraint("programme", "number"),
        Index("ix_loyalty_members_programme_tier", "programme", "tier"),
        # No index on period_end: a requalification walks members in id order, and its
        # rewrites then update no index. Pages half full (migration 0032): a batch rewrites
        # every member of a page, and each new version stays beside the old one.
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    # Found through the unique (customer_id, programme) index.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    programme: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(40))
    enrolled_on: Mapped[date] = mapped_column(Date)
    tier: Mapped[str] = mapped_column(String(40))
    tier_since: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    counter: Mapped[int] = mapped_column(Integer, default=0)
    tier_state: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_activity_on: Mapped[date | None] = mapped_column(Date)
    entries_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Balance(Base):
    """A member's balance in one currency, as the ledger last computed it."""

    __tablename__ = "loyalty_balances"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        {"postgresql_with": {"fillfactor": 50}},  # as the members' (migration 0032)
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(20), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    available: Mapped[int] = mapped_column(Integer, default=0)
    pending_credits: Mapped[int] = mapped_column(Integer, default=0)


class Entry(Base):
    """One ledger entry of one member, with the operation that produced it."""

    __tablename__ = "loyalty_entries"
    __table_args__ = (
        # A key writes once per member where the database can tell cheaply: the entries
        # without an activity (grants, redemptions, holds, settles, voids, expiries). An
        # activity's entries are keyed "{activity key}:{rule id or seq}" and posted once,
        # through the activity's unique (programme, key); indexing them too cost every
        # ingested entry an index write (migration 0034, see stored.StoredPast.written).
        Index(
            "uq_loyalty_entries_member_id_key_without_activity",
            "member_id",
            "key",
            unique=True,
            postgresql_where=text("activity_id IS NULL"),
            sqlite_where=text("activity_id IS NULL"),
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        # No (member, on) index: reads by day name their members and go through the primary
        # key (migration 0031); every ingested entry paid for it.
        # Whether an entry was reversed, or a pending one resolved, without reading the
        # member's ledger: partial, so the many other entries cost no index write.
        Index(
            "ix_loyalty_entries_reverses",
            "member_id",
            "reverses",
            postgresql_where=text("reverses IS NOT NULL"),
            sqlite_where=text("reverses IS NOT NULL"),
        ),
        Index(
            "ix_loyalty_entries_resolves",
            "member_id",
            "resolves",
            postgresql_where=text("resolves IS NOT NULL"),
            sqlite_where=text("resolves IS NOT NULL"),
        ),
    )

    # Keyed by member and number in the member's ledger, no surrogate id (migration 0029).
    # References checked once per batch, not per row (see migration 0018).
    member_id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # the entry's id in its ledger
    key: Mapped[str] = mapped_column(String(200))
    op: Mapped[str] = mapped_column(String(30))
    # The operation's arguments; none for a plain post, rebuilt from the columns below.
    args: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    currency: Mapped[str] = mapped_column(String(20))
    debit: Mapped[str] = mapped_column(String(20))  # account kind; member accounts are "member"
    credit: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(Integer)
    on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(10))
    rule_id: Mapped[str | None] = mapped_column(String(80))
    reverses: Mapped[int | None] = mapped_column(Integer)
    resolves: Mapped[int | None] = mapped_column(Integer)
    expires_on: Mapped[date | None] = mapped_column(Date)
    activity_id: Mapped[int | None] = mapped_column(BigIntKey)
    memo: Mapped[str] = mapped_column(Text, default="")
    # [[bucket seq, amount], ...]: the buckets a member debit took, or a member credit gave
    # back (a reversed redemption); None for the others, most entries.
    allocations: Mapped[list[list[int]] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bucket(Base):
    """Points a member credit put in a member account, while some of them remain (emptied
    buckets are deleted; their entry says what they were)."""

    __tablename__ = "loyalty_buckets"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    member_id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)  # checked per batch
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # the entry that opened it
    currency: Mapped[str] = mapped_column(String(20))
    earned_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Integer)


class Activity(Base):
    """An activity as received: applied to a member, or parked until its member is known."""

    __tablename__ = "loyalty_activities"
    __table_args__ = (
        UniqueConstraint("programme", "key"),
        Index("ix_loyalty_activities_member", "member_id", "on"),
        Index(  # parked activities wait for their member; the others are found by member
            "ix_loyalty_activities_parked",
            "programme",
            "member_number",
            postgresql_where=text("status = 'parked'"),
            sqlite_where=text("status = 'parked'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    programme: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[int | None] = mapped_column(BigIntKey)  # checked per batch
    # The number the activity named, while it waits for its member (parked); an applied
    # activity's number is its member's (empty since migration 0018).
    member_number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    on: Mapped[date] = mapped_column(Date)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))  # applied | parked
    # The tier the activity earned at: with the programme's rules and the entries it posted,
    # what its earning lines and their reasons are rebuilt from (service.earnings_of).
    tier: Mapped[str | None] = mapped_column(String(40))
    # Before migration 0017: the earning lines with their reasons in both languages, and the
    # entries posted; None since (the entries say it, see ``tier``).
    earnings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    entry_seqs: Mapped[list[int] | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class TierChange(Base):
    __tablename__ = "loyalty_tier_changes"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.id"), index=True)
    on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    from_tier: Mapped[str] = mapped_column(String(40))
    to_tier: Mapped[str] = mapped_column(String(40))
    # Why, as a stored message (egards.messages) rendered in the reader's language; rows
    # written before migration 0028 hold their English and French text as names.
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(20))  # activity | batch | exception
    actor_label: Mapped[str] = mapped_column(String(200))
    justification: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CapUsage(Base):
    """What a member earned under a rule or promotion with a cap per period, in one window
    of that cap (reversed earnings taken back out); rows of zero are deleted."""

    __tablename__ = "loyalty_cap_usage"

    member_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.id"), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[date] = mapped_column(Date, primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)
