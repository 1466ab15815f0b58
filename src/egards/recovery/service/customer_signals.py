"""What the recommender weighs, read from the customer file, loyalty, cases and scores: the
membership that counts most and the tier it lost, spend over twelve months, the promises a case
broke and the gestures already granted. Letters and grants read the same membership.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from egards import features
from egards.accounts.domain import Actor
from egards.analytics import service as analytics
from egards.cases import service as cases
from egards.cases.domain import format_case_number
from egards.customers import service as customers
from egards.errors import InvalidInput, NotFound
from egards.i18n import N_
from egards.loyalty import service as loyalty
from egards.recovery import domain
from egards.recovery.models import (
    Grant,
)

from ._common import GRANTED


def _spend_since(session: Session, customer_id: int, since: date, as_of: date) -> int:
    sql = analytics.transactions_sql(session, "all")
    total = session.execute(
        text(
            f"SELECT coalesce(sum(amount_cents), 0) FROM ({sql}) t"
            " WHERE customer_id = :c AND day > :d"
        ),
        {"as_of": as_of, "c": customer_id, "d": (since - date(1970, 1, 1)).days},
    ).scalar()
    return int(total or 0)


def _main_member(session: Session, customer_id: int) -> tuple[Any, Any]:
    """The membership that counts most, with the tier it lost within twelve months if any:
    one that lost a tier (the latest loss: that is what a recovery answers), else the
    highest tier relative to its programme."""
    members = loyalty.members_of(session, customer_id=customer_id)
    today = loyalty.today()
    losses = [(loss.on, m.id, m, loss) for m in members if (loss := _last_loss(session, m, today))]
    if losses:
        _, _, member, loss = max(losses, key=lambda item: item[:2])
        return member, loss
    best, best_key = None, (-1.0, date.max)
    for member in members:
        programme = loyalty.get_programme(member.programme)
        top = max(len(programme.tiers) - 1, 1)
        key = (programme.tier_index(member.tier) / top, member.enrolled_on)
        if key[0] > best_key[0] or (key[0] == best_key[0] and key[1] < best_key[1]):
            best, best_key = member, key
    return best, None


def _last_loss(session: Session, member, today: date):
    """The member's latest downgrade within twelve months, if the tier was not regained."""
    for change in loyalty.tier_history(session, member_id=member.id):
        if change.on < today - timedelta(days=365):
            return None
        if change.kind == "downgraded":
            return change
        if change.to_tier != change.from_tier:
            return None  # regained or changed since
    return None


def signals(
    session: Session, *, actor: Actor, customer_id: int, case_id: int | None, lang: str = "en"
) -> tuple[domain.CaseSignals, domain.CustomerSignals, Any]:
    """What the recommender weighs, read from the customer file, loyalty, cases and scores."""
    customer = customers.get_customer(session, actor=actor, customer_id=customer_id)
    today = loyalty.today()
    case = None
    if case_id is not None:
        case = cases.get_case(session, actor=actor, case_id=case_id)
        if case.customer_id != customer.id:
            raise InvalidInput(
                N_("case {number} is not this customer's"),
                number=format_case_number(case.id),
                field="case_id",
            )
    member, loss = _main_member(session, customer.id)
    tier_lost = tier_lost_name = None
    after_failure = False
    tier = tier_name = None
    rank = top = 0
    tenure = 0.0
    currency = {"fr": "points", "en": "points"}
    if member is not None:
        programme = loyalty.get_programme(member.programme)
        tier, tier_name = member.tier, programme.tier(member.tier).name.get(lang)
        rank, top = programme.tier_index(member.tier), len(programme.tiers) - 1
        tenure = round((today - member.enrolled_on).days / 365.25, 1)
        if programme.spendable_currencies:
            name = programme.spendable_currencies[0].name
            currency = {"fr": name.get("fr"), "en": name.get("en")}
        if loss is not None:
            tier_lost, tier_lost_name = (
                loss.from_tier,
                programme.tier(loss.from_tier).name.get(lang),
            )
            after_failure = case is not None
    score = None
    if analytics.can_see_scores(actor) and not actor.is_partner:
        try:
            score = analytics.customer_score(session, actor=actor, customer_id=customer.id)
        except NotFound:
            score = None
    spend = _spend_since(session, customer.id, today - timedelta(days=365), today)
    past = []
    for grant in session.scalars(
        select(Grant).where(Grant.customer_id == customer.id, Grant.status == GRANTED)
    ):
        worked = None
        if member is not None and member.last_activity_on and grant.granted_at:
            if member.last_activity_on > grant.granted_at.date():
                worked = True
            elif (today - grant.granted_at.date()).days > 180:
                worked = False
        past.append(domain.PastGesture(kind=domain.gesture_kind(grant.kind), worked=worked))
    repeated = 0
    if case is not None:
        repeated = (
            cases.count_recent_cases(
                session, customer_id=customer.id, since=case.created_at - timedelta(days=365)
            )
            - 1
        )
    case_signals = domain.CaseSignals(
        category=case.category if case else None,
        priority=case.priority if case else "normal",
        broken_promises=_broken_promises(case) if case else 0,
        repeated_incidents=max(repeated, 0),
        tier_lost=tier_lost,
        tier_lost_name=tier_lost_name,
        lost_after_service_failure=after_failure,
    )
    customer_signals = domain.CustomerSignals(
        is_customer=member is not None or spend > 0 or score is not None,
        tier=tier,
        tier_name=tier_name,
        tier_rank=rank,
        top_rank=top,
        tenure_years=tenure,
        spend_12m_cents=spend,
        clv_cents=score["clv_cents"] if score else None,
        churn_risk=score["churn_risk"] if score else None,
        followers=_followers(session, customer.id, case),
        past_gestures=tuple(past),
        currency_name=currency,
    )
    return case_signals, customer_signals, member


def _followers(session: Session, customer_id: int, case) -> int:
    """The real audience: the case's author's (a social post) or the largest of the
    customer's linked profiles (the social feature's ``customer_audience`` hook, above
    recovery); the recommender caps its weight."""
    found = [case.audience or 0] if case is not None else [0]
    for _feature, hook in features.hooks("service", "customer_audience"):
        found.append(int(hook(session, customer_id) or 0))
    return max(found)


def _broken_promises(case) -> int:
    return (
        int(bool(case.first_response_breached))
        + int(bool(case.resolution_breached))
        + (case.next_response_breaches or 0)
        + int(bool(case.reply_overdue))
    )
