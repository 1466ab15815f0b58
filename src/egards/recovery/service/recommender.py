"""The recommender's proposals: the top three gestures for a customer and case, recorded so that
the agent's choice can be compared with them later, and how often agents followed them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.customers import service as customers
from egards.errors import NotFound
from egards.i18n import N_
from egards.recovery import domain
from egards.recovery.models import (
    Recommendation,
)

from ._common import _settings
from .customer_signals import signals
from .gesture_catalogue import catalogue, option_of
from .vouchers_and_events import events


def recommend(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    case_id: int | None = None,
    lang: str = "en",
) -> Recommendation:
    """The top three gestures for this customer and case, recorded for later evaluation."""
    actor.require(Permission.RECOVERY_GRANT)
    case_signals, customer_signals, _ = signals(
        session, actor=actor, customer_id=customer_id, case_id=case_id, lang=lang
    )
    open_events = any(e.seats_taken < e.capacity for e in events(session))
    options = [
        option_of(row)
        for row in catalogue(session, active_only=True)
        if row.kind != "event_invitation" or open_events
    ]
    weights = _settings().recommender_weights()
    proposals = domain.recommend(case_signals, customer_signals, options, weights)
    row = Recommendation(
        customer_id=customer_id,
        case_id=case_id,
        agent_id=actor.user_id,
        merit=domain.merit(case_signals, customer_signals, weights),
        signals={"case": asdict(case_signals), "customer": asdict(customer_signals)},
        proposals=[
            {
                "rank": rank,
                "code": p.code,
                "kind": p.kind,
                "expected_cost_cents": p.expected_cost_cents,
                "cash_cents": p.cash_cents,
                "score": round(p.score, 4),
                "reason": p.reason,
                "requires_approval": p.requires_approval,
            }
            for rank, p in enumerate(proposals, start=1)
        ],
    )
    session.add(row)
    session.flush()
    return row


def recommendation_stats(session: Session, *, actor: Actor) -> dict[str, Any]:
    """How often agents followed the recommender: recommendations made, and the rank of the
    gesture chosen (0: a gesture it did not propose)."""
    if not (actor.can(Permission.RECOVERY_APPROVE) or actor.can(Permission.ANALYTICS_READ)):
        actor.require(Permission.RECOVERY_APPROVE)
    total = session.scalar(select(func.count()).select_from(Recommendation)) or 0
    ranks = {
        rank or 0: count
        for rank, count in session.execute(
            select(Recommendation.chosen_rank, func.count())
            .where(Recommendation.chosen_code.is_not(None))
            .group_by(Recommendation.chosen_rank)
        ).all()
    }
    return {"recommendations": total, "chosen_by_rank": ranks, "chosen": sum(ranks.values())}


def get_recommendation(session: Session, *, actor: Actor, recommendation_id: int) -> Recommendation:
    """A recorded recommendation (to show its proposals again without recording a new one)."""
    actor.require(Permission.RECOVERY_GRANT)
    row = session.get(Recommendation, recommendation_id)
    if row is None:
        raise NotFound(
            N_("recommendation {recommendation_id} not found"),
            recommendation_id=recommendation_id,
            field="recommendation_id",
        )
    customers.check_visible(session, actor=actor, customer_id=row.customer_id)
    return row
