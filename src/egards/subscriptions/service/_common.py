"""What the use cases share: who acts without a signed-in user, the audit-record-plus-timeline
entry, a contract's terms and status changes, and what is read of other features (value,
risk, loyalty) to size a retention offer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Role
from egards.analytics import service as analytics
from egards.customers import service as customers
from egards.errors import DomainError
from egards.loyalty import service as loyalty
from egards.subscriptions import domain
from egards.subscriptions.domain import Status
from egards.subscriptions.models import (
    Subscription,
    SubscriptionStatusChange,
)

PUBLIC = Actor(label="cancellation page", role=Role.ADMIN)


WORKER = Actor(label="subscriptions worker", role=Role.ADMIN)


SILO = "cancellation"


PROOF_TYPES = {
    "application/pdf": (b"%PDF",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


def _record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: tuple[str, int],
    customer_id: int | None,
    summary: Mapping[str, Any],
    after: dict[str, Any] | None = None,
    channel: str = "console",
    now: datetime | None = None,
) -> None:
    """The audit record of a change and, when it concerns a customer, their timeline entry
    (``summary``: an ``egards.i18n.message``, shown in the reader's language)."""
    customers.record_change(
        session,
        actor=actor,
        action=action,
        entity=entity,
        customer_id=customer_id,
        summary=summary,
        after=after,
        channel=channel if channel in _TIMELINE_CHANNELS else "console",
        silo=SILO,
        occurred_at=now,
    )


_TIMELINE_CHANNELS = ("email", "phone", "web", "social", "shop", "letter", "partner", "api")


def terms_of(subscription: Subscription) -> domain.Terms:
    return domain.Terms(
        start_date=subscription.start_date,
        notice_days=subscription.notice_days,
        monthly_price_cents=subscription.price_cents,
        commitment_end=subscription.commitment_end,
        early_fee_percent=subscription.early_fee_percent,
    )


def _change_status(
    session: Session,
    subscription: Subscription,
    target: Status,
    actor: Actor,
    now: datetime,
    note: str | None = None,
) -> None:
    domain.check_transition(subscription.status, target)
    session.add(
        SubscriptionStatusChange(
            subscription_id=subscription.id,
            at=now,
            from_status=subscription.status,
            to_status=str(target),
            actor_label=actor.label,
            note=note and note[:300],
        )
    )
    subscription.status = str(target)
    subscription.updated_at = now


def loyalty_facts(session: Session, customer_id: int, lang: str) -> tuple[str | None, int | None]:
    """The customer's tier name and available points, for the acknowledgement's effects."""
    members = loyalty.members_of(session, customer_id=customer_id)
    if not members:
        return None, None
    member = members[0]
    try:
        programme = loyalty.get_programme(member.programme)
        tier = programme.tier(member.tier).name.get(lang)
        points = sum(b.available for b in loyalty.balances(session, member=member))
    except (DomainError, KeyError, AttributeError):
        return None, None
    return tier, points


def score_of(session: Session, *, actor: Actor, customer_id: int) -> dict[str, Any] | None:
    """The customer's value and churn risk, for an agent allowed to see scores."""
    if actor.is_partner or not analytics.can_see_scores(actor):
        return None
    try:
        return analytics.customer_score(session, actor=actor, customer_id=customer_id)
    except DomainError:
        return None


def _offer(
    session: Session, subscription: Subscription, reason: str | None, today: date
) -> domain.RetentionOffer:
    clv = risk = None
    try:
        score = analytics.customer_score(
            session, actor=WORKER, customer_id=subscription.customer_id
        )
        clv, risk = int(score["clv_cents"]), float(score["churn_risk"])
    except DomainError:
        pass
    tenure = round((today - subscription.start_date).days / 365.25, 1)
    return domain.retention_offer(
        domain.Standing(
            clv_12m_cents=clv,
            churn_risk=risk,
            tenure_years=max(tenure, 0.0),
            monthly_price_cents=subscription.price_cents,
            reason=reason,
        )
    )
