"""What the recovery use cases share: the statuses of a gesture, the reason codes, the
feature's settings and time zone, the audit-record-plus-timeline-entry every change writes,
money formatting and the seeding of rows that a concurrent transaction may seed first.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor
from egards.customers import service as customers
from egards.recovery.settings import RecoverySettings, get_recovery_settings

GRANTED, PENDING, REJECTED = "granted", "pending", "rejected"


REASON_CODES = (
    "broken_promise",
    "service_failure",
    "downgrade",
    "repeated_incidents",
    "loyalty_thanks",
    "other",
)


TIER_ACTIONS = ("keep", "restore")


def _settings() -> RecoverySettings:
    return get_recovery_settings()


def _zone() -> ZoneInfo:
    return ZoneInfo(_settings().time_zone)


def _sha(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: tuple[str, int],
    customer_id: int | None,
    summary: str | dict[str, Any],
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """The audit record of a change and, when it concerns a customer, their timeline entry."""
    customers.record_change(
        session,
        actor=actor,
        action=action,
        entity=entity,
        customer_id=customer_id,
        summary=summary,
        after=after,
        reason=reason,
        silo="recovery",
        occurred_at=now,
    )


def _insert_once(session: Session, rows: list[Any]) -> None:
    """Seed rows unless a concurrent transaction seeded them first."""
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        pass


def _money(cents: int) -> str:
    return f"€{cents / 100:,.2f}"
