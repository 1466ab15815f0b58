"""Mentions and direct messages: stored with their profile, and the cases' hooks of the
signed webhook."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Role
from egards.cases import service as cases
from egards.cases.schemas import SocialMentionCreate
from egards.customers import service as customers
from egards.social.domain import Outcome
from egards.social.models import (
    SocialMention,
    SocialProfile,
)
from egards.social.service.arrival import link_on_arrival
from egards.social.service.links import link_deterministically
from egards.social.service.profiles import upsert_profile
from egards.voice import service as voice

LISTENER = Actor(label="social listening", role=Role.ADMIN)


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
    mention, link the author (deterministically when the evidence allows, else with the
    kept probabilistic model: ``arrival``), and return the customer the profile is linked to
    (``None``: an unknown sender, or a link waiting for a person)."""
    profile, _stored = _record_mention(session, mention=mention, now=now, source="webhook")
    decision = link_deterministically(session, profile=profile, now=now, text=mention.text)
    if decision.outcome is Outcome.NOTHING:
        link_on_arrival(session, profile=profile, now=now)
    if profile.customer_id is None:
        return None
    # A profile linked to a file merged since: the case is the survivor's.
    return customers.survivor(session, profile.customer_id)


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


def is_stored(session: Session, mention: SocialMentionCreate) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(SocialMention)
            .where(
                SocialMention.network == mention.network,
                SocialMention.external_id == mention.external_id,
            )
        )
    )


def analyse_mention(
    session: Session,
    *,
    profile: SocialProfile,
    stored: SocialMention,
    received_at: datetime,
    now: datetime,
) -> None:
    """A mention that opens no case is analysed by the voice of the customer as a message
    is (sentiment, topic, churn threat; a customer's threat raises their churn risk). Only a
    linked author's: a stranger's words are not profiled (a mention that opens a case is
    analysed with the case's messages, whoever wrote it)."""
    if profile.customer_id is None:
        return
    voice.record_analysis(
        session,
        actor=LISTENER,
        source_type="social_mention",
        source_id=stored.id,
        text=stored.text,
        customer_id=profile.customer_id,
        case_id=None,
        received_at=received_at,
        now=now,
    )


def inbound_message_received(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    message_id: int,
    customer_id: int | None,
    text: str,
    received_at: datetime,
    now: datetime,
) -> None:
    """The cases' hook, when someone writes on a case: on the case of a post whose author is
    not linked yet, an answer from an address the customer file knows (the author wrote back
    by e-mail) or a loyalty number or contract reference quoted in it links the profile
    deterministically."""
    profile_ids = set(
        session.scalars(select(SocialMention.profile_id).where(SocialMention.case_id == case_id))
    )
    if not profile_ids:
        return
    sender = cases.message_sender(session, message_id)
    address = (sender[1] or "") if sender is not None else ""
    # An e-mail address or an international phone number; a post's author is a bare handle.
    known_form = "@" in address or (address.startswith("+") and address[1:].isdigit())
    reply_from = address if known_form else None
    for profile_id in sorted(profile_ids):
        profile = session.get_one(SocialProfile, profile_id)
        if profile.customer_id is None:
            link_deterministically(
                session, profile=profile, now=now, text=text, reply_from=reply_from
            )
