"""The GDPR hooks: what the feature holds about a person, and its erasure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from egards.customers.domain import Erasure
from egards.social.models import (
    CustomerDuplicate,
    SocialAudience,
    SocialLink,
    SocialMention,
    SocialProfile,
)


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """The customer's social profiles, their audience history and mentions."""
    profiles = list(
        session.scalars(select(SocialProfile).where(SocialProfile.customer_id == customer_id))
    )
    ids = [p.id for p in profiles]
    mentions = (
        list(session.scalars(select(SocialMention).where(SocialMention.profile_id.in_(ids))))
        if ids
        else []
    )
    return {
        "profiles": [
            {
                "network": p.network,
                "handle": p.handle,
                "display_name": p.display_name,
                "profile_url": p.profile_url,
                "followers": p.followers,
                "verified": p.verified,
                "bio": p.bio,
                "location": p.location,
                "link_method": p.link_method,
                "first_seen_at": p.first_seen_at.isoformat(),
                "last_seen_at": p.last_seen_at.isoformat(),
            }
            for p in profiles
        ],
        "mentions": [
            {
                "network": m.network,
                "external_id": m.external_id,
                "kind": m.kind,
                "text": m.text,
                "url": m.url,
                "posted_at": m.posted_at.isoformat(),
            }
            for m in mentions
        ],
    }


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Profiles linked to the erased customers, or known by one of their handles, go with
    their audience history, mentions and links (art. 17: the person's own posts and the
    profiling of their audience)."""
    ids = list(erasure.customer_ids)
    handles = [a.lstrip("@") for a in erasure.addresses]
    conditions = [SocialProfile.customer_id.in_(ids)]
    if handles:
        conditions.append(SocialProfile.handle.in_(handles))
    profile_ids = list(session.scalars(select(SocialProfile.id).where(or_(*conditions))))
    if profile_ids:
        session.execute(delete(SocialAudience).where(SocialAudience.profile_id.in_(profile_ids)))
        session.execute(delete(SocialMention).where(SocialMention.profile_id.in_(profile_ids)))
    session.execute(
        delete(SocialLink).where(
            or_(SocialLink.customer_id.in_(ids), SocialLink.profile_id.in_(profile_ids or [-1]))
        )
    )
    if profile_ids:
        session.execute(delete(SocialProfile).where(SocialProfile.id.in_(profile_ids)))
    session.execute(
        delete(CustomerDuplicate).where(
            or_(CustomerDuplicate.customer_a.in_(ids), CustomerDuplicate.customer_b.in_(ids))
        )
    )
