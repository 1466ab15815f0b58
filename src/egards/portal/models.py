"""Tables of the customer portal: sign-in links, portal sessions, privacy requests.

Links and sessions keep only the SHA-256 of their secret. A link is used by one
``UPDATE ... WHERE used_at IS NULL``: of two concurrent uses, the database lets one win.
Portal sessions are a table of their own, never ``user_sessions``: nothing that reads a
console session can ever find one.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from egards.db import Base, BigIntKey


class SignInLink(Base):
    __tablename__ = "portal_sign_in_links"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PortalSession(Base):
    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class PrivacyRequest(Base):
    """A customer's request to erase or rectify their data, answered within one month
    (extendable by two, with a reason sent to the customer): GDPR article 12(3)."""

    __tablename__ = "portal_privacy_requests"
    __table_args__ = (Index("ix_portal_privacy_requests_status_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime]
    due_on: Mapped[date] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(Text)
