"""Reports: CSAT by agent, team, channel, category and tier; root causes by topic."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.db import utcnow
from egards.errors import N_, InvalidInput, PermissionDenied
from egards.voice import classifier as model
from egards.voice import domain
from egards.voice.models import Analysis, Invitation
from egards.voice.service.analysis import _labels, _readable

GROUPS = ("agent", "team", "channel", "category", "tier")


def csat_report(
    session: Session, *, actor: Actor, days: int = 365, now: datetime | None = None
) -> dict[str, Any]:
    """CSAT (share of 4–5), response rate and NPS overall and by agent, team, channel,
    category and tier, over the surveys sent after cases in the last ``days`` (the
    relationship NPS has its own report, ``nps.nps_report``)."""
    _readable(actor)
    if actor.is_partner:
        raise PermissionDenied(N_("satisfaction reports are internal"), field="days")
    if not 1 <= days <= 3660:
        raise InvalidInput(N_("between 1 and 3660 days"), field="days")
    now = now or utcnow()
    rows = session.execute(
        select(
            Invitation.agent_label,
            Invitation.team,
            Invitation.channel,
            Invitation.category,
            Invitation.tier,
            Invitation.status,
            Invitation.rating,
            Invitation.answers,
        ).where(Invitation.survey == "csat", Invitation.sent_at >= now - timedelta(days=days))
    ).all()

    def figures(items: list[Any]) -> dict[str, Any]:
        ratings = [r.rating for r in items if r.rating is not None]
        recommend = [
            r.answers["recommend"] for r in items if r.answers and "recommend" in r.answers
        ]
        share = domain.csat(ratings)
        rate = domain.response_rate(len(items), len(ratings))
        return {
            "sent": len(items),
            "answered": len(ratings),
            "csat": None if share is None else round(100 * share, 1),
            "response_rate": None if rate is None else round(100 * rate, 1),
            "nps": domain.nps(recommend),
            "mean": round(sum(ratings) / len(ratings), 2) if ratings else None,
        }

    groups: dict[str, list[dict[str, Any]]] = {}
    for name, index in zip(GROUPS, range(5), strict=True):
        buckets: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            buckets[str(row[index] or "—")].append(row)
        groups[name] = sorted(
            ({"key": key, **figures(items)} for key, items in buckets.items()),
            key=lambda g: (-g["sent"], g["key"]),
        )
    return {"days": days, "overall": figures(list(rows)), "by": groups}


# --------------------------------------------------------------------------------------
# Root causes
# --------------------------------------------------------------------------------------


def _can_see_root_causes(actor: Actor) -> None:
    if actor.is_partner:
        raise PermissionDenied(N_("root causes are internal"), field="days")
    if not (actor.can(Permission.CASES_SUPERVISE) or actor.can(Permission.ANALYTICS_READ)):
        actor.require(Permission.CASES_SUPERVISE)


def root_causes(
    session: Session, *, actor: Actor, days: int = 365, now: datetime | None = None
) -> dict[str, Any]:
    """Per topic (the labels in force, corrections included) over the last ``days``: volume,
    negative share, churn threats, CSAT of the cases it was the first topic of, and the
    volume by month."""
    _can_see_root_causes(actor)
    if not 1 <= days <= 3660:
        raise InvalidInput(N_("between 1 and 3660 days"), field="days")
    now = now or utcnow()
    rows = list(
        session.scalars(
            select(Analysis)
            .where(Analysis.received_at >= now - timedelta(days=days))
            .order_by(Analysis.received_at, Analysis.id)
        )
    )
    first_topic: dict[int, str] = {}
    topics: dict[str, dict[str, Any]] = {
        t: {"topic": t, "messages": 0, "negative": 0, "churn_threats": 0, "months": {}}
        for t in model.TOPICS
    }
    for row in rows:
        found = _labels(row)
        entry = topics.setdefault(
            found["topic"],
            {
                "topic": found["topic"],
                "messages": 0,
                "negative": 0,
                "churn_threats": 0,
                "months": {},
            },
        )
        entry["messages"] += 1
        entry["negative"] += found["sentiment"] == "negative"
        entry["churn_threats"] += bool(found["churn_threat"])
        month = row.received_at.strftime("%Y-%m")
        entry["months"][month] = entry["months"].get(month, 0) + 1
        if row.case_id is not None and row.source_type == "case_message":
            first_topic.setdefault(row.case_id, found["topic"])
    ratings: dict[str, list[int]] = defaultdict(list)
    if first_topic:
        for case_id, rating in session.execute(
            select(Invitation.case_id, Invitation.rating).where(
                Invitation.rating.is_not(None), Invitation.case_id.in_(list(first_topic))
            )
        ):
            assert case_id is not None and rating is not None, "the query keeps only these"
            ratings[first_topic[case_id]].append(rating)
    months = sorted({m for t in topics.values() for m in t["months"]})
    out = []
    for entry in topics.values():
        share = domain.csat(ratings[entry["topic"]])
        out.append(
            {
                **entry,
                "negative_share": round(100 * entry["negative"] / entry["messages"], 1)
                if entry["messages"]
                else None,
                "csat": None if share is None else round(100 * share, 1),
                "ratings": len(ratings[entry["topic"]]),
                "months": [entry["months"].get(m, 0) for m in months],
            }
        )
    out.sort(key=lambda t: (-t["messages"], t["topic"]))
    return {"days": days, "months": months, "topics": out}


def topic_messages(
    session: Session,
    *,
    actor: Actor,
    topic: str,
    days: int = 365,
    limit: int = 200,
    now: datetime | None = None,
) -> list[Analysis]:
    """The messages of one topic (labels in force), newest first: the drill-down."""
    _can_see_root_causes(actor)
    if topic not in model.TOPICS:
        raise InvalidInput(N_("one of {choices}"), field="topic", choices=", ".join(model.TOPICS))
    now = now or utcnow()
    in_force = func.coalesce(Analysis.corrected_topic, Analysis.topic)
    return list(
        session.scalars(
            select(Analysis)
            .where(in_force == topic, Analysis.received_at >= now - timedelta(days=days))
            .order_by(Analysis.received_at.desc(), Analysis.id.desc())
            .limit(limit)
        )
    )
