from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from egards.db import Base, BigIntKey, utcnow

# Folded names compare byte by byte (collation "C" on PostgreSQL, SQLite's default), so that
# one btree index serves both prefix searches and ordered pages.
SearchKey = String(210).with_variant(String(210, collation="C"), "postgresql")


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        # With the id, an index range read returns a page in order: no sort of all matches.
        Index("ix_customers_search_last_first", "search_last_first", "id"),
        Index("ix_customers_search_first_last", "search_first_last", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    search_last_first: Mapped[str] = mapped_column(SearchKey)
    search_first_last: Mapped[str] = mapped_column(SearchKey)
    preferred_language: Mapped[str] = mapped_column(String(5), default="fr")
    birth_date: Mapped[date | None] = mapped_column(Date)
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Indexed (migration 0033): the social feature's kept model looks for the customers edited
    # since it last looked at every arrival.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    erased_at: Mapped[datetime | None]
    # The import that created the file: its timeline shows "Created by the import of <file>"
    # from that row, read at display time, instead of one stored entry per imported customer.
    import_id: Mapped[int | None] = mapped_column(BigIntKey, ForeignKey("customer_imports.id"))

    identities: Mapped[list[Identity]] = relationship(
        back_populates="customer", lazy="raise", order_by="Identity.id"
    )


class CustomerImport(Base):
    """One import of a customer file: what it did, counted, and who ran it. It names no
    customer (the customers it created carry its id), so an erasure leaves it as it is."""

    __tablename__ = "customer_imports"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    actor_label: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)


class Identity(Base):
    """A way to recognise a person. Unique per kind, network and normalised value."""

    __tablename__ = "identities"
    __table_args__ = (
        # In this order, the unique index also serves lookups by kind and value (searches
        # know the kind and value, not always the network).
        UniqueConstraint("kind", "value", "network"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    network: Mapped[str] = mapped_column(String(20), default="")
    value: Mapped[str] = mapped_column(String(320))
    display_value: Mapped[str] = mapped_column(String(320))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identities", lazy="raise")


class ConsentEvent(Base):
    """Consents are a history: a withdrawal is a new row, never a deletion."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_customer", "customer_id", "purpose", "channel"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    purpose: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(100))
    proof: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))


class TimelineEvent(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_events_customer_at", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    silo: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    actor_label: Mapped[str] = mapped_column(String(200))
    # The organisation of the author (a partner), None for the company.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    # The audience: None keeps the event internal; else the organisation it is shared with.
    shared_with_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    ref_type: Mapped[str | None] = mapped_column(String(40))
    ref_id: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What ``summary`` says, as data: an ``egards.i18n.message`` rendered in the reader's
    # language; None on entries written before (their summary is shown).
    message: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_label: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The audience, as on the timeline: None keeps the note internal.
    shared_with_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))


class CustomerOrganisation(Base):
    """A partner organisation's access to a customer (e.g. the installer of their line)."""

    __tablename__ = "customer_organisations"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), primary_key=True, index=True
    )
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    purpose: Mapped[str | None] = mapped_column(String(200))


class CustomerMerge(Base):
    """What a merge moved, so that it can be undone exactly."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    moved: Mapped[dict[str, list[Any]]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    merged_by: Mapped[str] = mapped_column(String(200))
    unmerged_at: Mapped[datetime | None]
    unmerged_by: Mapped[str | None] = mapped_column(String(200))
