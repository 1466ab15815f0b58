"""Replay protection for signed webhooks: a request seen before is refused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.cases.models import WebhookReceipt
from egards.errors import PermissionDenied
from egards.i18n import N_


def remember_webhook(session: Session, *, source: str, digest: str, now: datetime) -> None:
    """Refuse a signed request seen before (a replay inside the timestamp window)."""
    seen = session.scalar(
        select(WebhookReceipt.id).where(
            WebhookReceipt.source == source, WebhookReceipt.digest == digest
        )
    )
    if seen:
        raise PermissionDenied(N_("this signed request was already received (replay)"))
    session.add(WebhookReceipt(source=source, digest=digest, received_at=now))
    session.flush()
