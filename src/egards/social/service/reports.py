"""Influence beside value."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.analytics import service as analytics
from egards.customers import service as customers
from egards.social.models import (
    SocialProfile,
)


def influence_vs_value(session: Session, *, actor: Actor, limit: int = 2000) -> list[dict]:
    """Each profile with its audience beside its customer's value (none for a stranger)."""
    actor.require(Permission.ANALYTICS_READ)
    profiles = list(
        session.scalars(
            select(SocialProfile)
            .order_by(SocialProfile.followers.desc().nulls_last(), SocialProfile.id)
            .limit(limit)
        )
    )
    customer_ids = {p.customer_id for p in profiles if p.customer_id}
    values = analytics.case_standing(session, customer_ids)
    names = customers.names(session, customer_ids) if customer_ids else {}
    rows = []
    for profile in profiles:
        value = values.get(profile.customer_id, {}) if profile.customer_id else {}
        rows.append(
            {
                "profile_id": profile.id,
                "network": profile.network,
                "handle": profile.handle,
                "followers": profile.followers or 0,
                "customer_id": profile.customer_id,
                "customer": names.get(profile.customer_id) if profile.customer_id else None,
                "clv_cents": value.get("clv_cents"),
                "value_decile": value.get("value_decile"),
                "segment": value.get("segment"),
            }
        )
    return rows
