"""What several use cases of cases share: the paused state's name, the silo each team's events
go to on the customer's timeline and what of it a partner follows, and small formatting helpers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from egards.accounts.domain import Actor
from egards.cases.domain import CaseStatus, format_case_number
from egards.cases.models import Case
from egards.customers import service as customers
from egards.features import hooks
from egards.i18n import N_, message

OPEN_STATUSES = (
    CaseStatus.NEW,
    CaseStatus.OPEN,
    CaseStatus.WAITING_ON_CUSTOMER,
    CaseStatus.WAITING_ON_PARTNER,
)
PAUSED = "paused"
SILO_OF_TEAM = {
    "support": "support",
    "shop": "shop",
    "installation": "partner",
    "quality": "quality",
    "billing": "billing",
    "cancellations": "cancellation",
    "social": "support",
    "supervisors": "support",
}


# What the partner organisation of a case follows on the customer's timeline: the case's life
# and its exchanges with the customer. Notes, assignment, escalations, links, ratings and edits
# stay internal (docs/partners.md).
SHARED_WITH_PARTNER = frozenset(
    {"case.opened", "case.message_received", "case.acknowledged", "case.replied", "case.status"}
)


def _record(
    session: Session,
    actor: Actor,
    case: Case,
    action: str,
    summary: str | dict[str, Any],
    at: datetime,
    *,
    kind: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """A change to a case: its audit record (internal) and, when the case has a customer,
    their timeline entry ``kind``, which the case's partner follows if it is in
    :data:`SHARED_WITH_PARTNER` (one writer: ``customers.record_change``)."""
    customers.record_change(
        session,
        actor=actor,
        action=action,
        kind=kind,
        entity=("case", case.id),
        customer_id=case.customer_id,
        summary=_case_summary(case, summary),
        before=before,
        after=after,
        reason=reason,
        channel=case.channel,
        silo=SILO_OF_TEAM.get(case.team, "support"),
        occurred_at=at,
        shared_with=case.organisation_id if kind in SHARED_WITH_PARTNER else None,
        audit_shared_with=None,
    )


def _timeline(
    session: Session,
    actor: Actor,
    case: Case,
    kind: str,
    summary: str | dict[str, Any],
    at: datetime,
) -> None:
    """A timeline entry about a case with no audit record of its own (an acknowledgement)."""
    if case.customer_id is None:
        return
    customers.record_event(
        session,
        actor=actor,
        customer_id=case.customer_id,
        kind=kind,
        summary=_case_summary(case, summary),
        channel=case.channel,
        silo=SILO_OF_TEAM.get(case.team, "support"),
        ref_type="case",
        ref_id=str(case.id),
        occurred_at=at,
        shared_with=case.organisation_id if kind in SHARED_WITH_PARTNER else None,
    )


def _case_summary(case: Case, summary: str | dict[str, Any]) -> dict[str, Any]:
    """``summary`` is an ``egards.i18n.message`` (a plain string is a customer's own words)."""
    return message(
        N_("{case} · {text}"),
        case=format_case_number(case.id),
        text=summary if isinstance(summary, dict) else summary[:900],
    )


def _first_words(text: str, limit: int = 80) -> str:
    words = " ".join(text.split())
    return (words[: limit - 1] + "…") if len(words) > limit else (words or "(no subject)")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _announce(session: Session, name: str, **values: Any) -> None:
    """Tell the features above cases what happened (``features.hooks("service", name)``):
    ``inbound_message_received`` when a customer writes, ``case_resolved`` when a case is
    resolved (the voice of the customer analyses the one and surveys the other)."""
    for _feature, hook in hooks("service", name):
        hook(session, **values)


def _message_text(subject: str | None, body: str) -> str:
    subject = (subject or "").strip()
    return f"{subject}\n{body}" if subject and subject not in body else body
