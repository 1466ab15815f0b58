"""Mentions and direct messages: stored with their profile, and the cases' hooks of the
signed webhook."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.cases.schemas import SocialMentionCreate
from egards.social.models import (
    SocialMention,
    SocialProfile,
)
from egards.social.service.links import link_deterministically
from egards.social.service.profiles import upsert_profile


def _record_mention(
    session: Session, *, mention: SocialMentionCreate, now: datetime, source: str
) -> tuple[SocialProfile, SocialMention]:
    profile = upsert_profile(
        session,
        network=mention.network,
        handle=mention.handle,
        now=now,
        display_name=mention.author_name,
        profile_url=mention.profile_url,
        followers=mention.followers,
        verified=mention.verified,
        bio=mention.bio,
        location=mention.location,
        email=str(mention.email) if mention.email else None,
        phone=mention.phone,
    )
    stored = session.scalar(
        select(SocialMention).where(
            SocialMention.network == mention.network,
            SocialMention.external_id == mention.external_id,
        )
    )
    if stored is None:
        stored = SocialMention(
            profile_id=profile.id,
            network=mention.network,
            external_id=mention.external_id,
            kind=str(mention.kind),
            text=mention.text,
            url=mention.url,
            language=mention.language,
            followers=mention.followers,
            posted_at=mention.posted_at or now,
            received_at=now,
            source=source,
        )
        session.add(stored)
        session.flush()
    return profile, stored


def social_sender(session: Session, *, mention: SocialMentionCreate, now: datetime) -> int | None:
    """The cases' hook, before a social case opens: record the profile, its audience and the
    mention, link the author deterministically when the evidence allows, and return the
    customer the profile is linked to (``None``: an unknown sender)."""
    profile, _stored = _record_mention(session, mention=mention, now=now, source="webhook")
    link_deterministically(session, profile=profile, now=now, text=mention.text)
    return profile.customer_id


def social_case_opened(
    session: Session, *, mention: SocialMentionCreate, case_id: int, now: datetime
) -> None:
    """The cases' hook, after a social case opened: the mention points to its case."""
    stored = session.scalar(
        select(SocialMention).where(
            SocialMention.network == mention.network,
            SocialMention.external_id == mention.external_id,
        )
    )
    if stored is not None:
        stored.case_id = case_id


def already_opened(session: Session, mention: SocialMentionCreate) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(SocialMention)
            .where(
                SocialMention.network == mention.network,
                SocialMention.external_id == mention.external_id,
                SocialMention.case_id.is_not(None),
            )
        )
    )
