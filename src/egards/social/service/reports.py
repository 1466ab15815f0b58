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
from egards.social.service.profiles import active_customers


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
    # A profile linked to a file merged since is the survivor's (``customers.survivor``).
    owners = active_customers(session, {p.customer_id for p in profiles if p.customer_id})
    customer_ids = {owner for owner in owners.values() if owner is not None}
    values = analytics.case_standing(session, customer_ids)
    names = customers.names(session, customer_ids) if customer_ids else {}
    rows = []
    for profile in profiles:
        owner = owners.get(profile.customer_id) if profile.customer_id else None
        value = values.get(owner, {}) if owner else {}
        rows.append(
            {
                "profile_id": profile.id,
                "network": profile.network,
                "handle": profile.handle,
                "followers": profile.followers or 0,
                "customer_id": owner,
                "customer": names.get(owner) if owner else None,
                "clv_cents": value.get("clv_cents"),
                "value_decile": value.get("value_decile"),
                "segment": value.get("segment"),
            }
        )
    return rows
