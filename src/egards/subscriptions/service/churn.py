"""Churn as the contracts show it, for analytics and the return on gestures: a cancellation is
a fact, where "no purchase in 180 days" is only a guess for a customer who pays by the month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.subscriptions import domain
from egards.subscriptions.domain import Status
from egards.subscriptions.models import Subscription, SubscriptionStatusChange

_CHUNK = 5_000


def observed_churn_risks(session: Session, *, as_of: date) -> list[tuple[int, float, str]]:
    """(customer, risk floor, reason code) for each customer whose contracts show them leaving
    (a hook: analytics holds these over the model's figures after each scoring run). A notice
    whose end date is ``as_of`` or before counts as ended even if the worker has not run."""
    leaving = select(Subscription.customer_id).where(
        Subscription.status.in_((Status.NOTICE_GIVEN, Status.ENDED))
    )
    rows = session.execute(
        select(Subscription.customer_id, Subscription.status, Subscription.ends_on)
        .where(Subscription.customer_id.in_(leaving))
        .order_by(Subscription.customer_id)
    )
    contracts: dict[int, list[tuple[str, date | None]]] = defaultdict(list)
    for customer_id, status, ends_on in rows:
        if status == Status.NOTICE_GIVEN and ends_on is not None and ends_on <= as_of:
            status = Status.ENDED
        contracts[customer_id].append((status, ends_on))
    out = []
    for customer_id, theirs in contracts.items():
        observed = domain.observed_churn(theirs)
        if observed is not None:
            out.append((customer_id, observed.risk, observed.reason))
    return out


def contract_ends(session: Session, customer_ids: Iterable[int]) -> dict[int, list[date]]:
    """For each of these customers who holds or held a contract, the days their contracts
    ended (a contract won back later still ended once); customers without a contract are
    absent (a hook: the return on gestures counts who stayed from these)."""
    ids = sorted(set(customer_ids))
    out: dict[int, list[date]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for (customer_id,) in session.execute(
            select(Subscription.customer_id).where(Subscription.customer_id.in_(chunk)).distinct()
        ):
            out.setdefault(customer_id, [])
        for customer_id, at in session.execute(
            select(Subscription.customer_id, SubscriptionStatusChange.at)
            .join(Subscription, Subscription.id == SubscriptionStatusChange.subscription_id)
            .where(
                Subscription.customer_id.in_(chunk),
                SubscriptionStatusChange.to_status == Status.ENDED,
            )
        ):
            out[customer_id].append(at.date())
    return out
