from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from egards.db import Base, BigIntKey, utcnow


class AuditRecord(Base):
    """Append-only: rows are only ever inserted (erasure redacts personal values, see GDPR)."""

    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column()
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    # The audience: None keeps the record internal; else the organisation it is shared with.
    shared_with_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
