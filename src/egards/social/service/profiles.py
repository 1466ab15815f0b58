"""Profiles seen on the networks and the history of their audience."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission, Role
from egards.customers import service as customers
from egards.errors import N_, InvalidInput, NotFound
from egards.social.domain import (
    check_audience,
    normalise_handle,
)
from egards.social.models import (
    SocialAudience,
    SocialProfile,
)

LINKER = Actor(label="social linking", role=Role.ADMIN)


# --- Merged customers -----------------------------------------------------------------------
# The customer file's merge moves a duplicate's identities to the survivor, not the profiles
# linked to it (it knows no feature): they stay with the merged file, which a reversible
# unmerge brings back. So a profile's customer is read through the merges
# (``customers.survivor``, ``customers.merged_with``).


def active_customers(session: Session, customer_ids: Iterable[int]) -> dict[int, int | None]:
    """The active customer each stands for now (``customers.survivor``), in bulk: one read of
    the statuses, then the merges walked for the merged ones only."""
    return {
        customer_id: customer_id if status == "active" else customers.survivor(session, customer_id)
        for customer_id, status in customers.statuses(session, set(customer_ids)).items()
    }


# --- Profiles -------------------------------------------------------------------------------


def upsert_profile(
    session: Session,
    *,
    network: str,
    handle: str,
    now: datetime,
    display_name: str | None = None,
    profile_url: str | None = None,
    followers: int | None = None,
    verified: bool | None = None,
    bio: str | None = None,
    location: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> SocialProfile:
    """The profile of ``network``/``handle``, created or refreshed with what was seen now; a
    new audience figure is kept in the history."""
    handle = normalise_handle(handle)
    followers = check_audience(followers)
    profile = session.scalar(
        select(SocialProfile).where(
            SocialProfile.network == network, SocialProfile.handle == handle
        )
    )
    if profile is None:
        profile = SocialProfile(
            network=network, handle=handle, verified=False, first_seen_at=now, last_seen_at=now
        )
        session.add(profile)
    updates = {
        "display_name": display_name,
        "profile_url": profile_url,
        "bio": bio,
        "location": location,
        "email": email.casefold() if email else None,
        "phone": phone,
    }
    for name, value in updates.items():
        if value:
            setattr(profile, name, value)
    if verified is not None:
        profile.verified = verified
    profile.last_seen_at = max(profile.last_seen_at, now)
    session.flush()
    if followers is not None and followers != profile.followers:
        profile.followers = followers
        session.add(SocialAudience(profile_id=profile.id, followers=followers, seen_at=now))
    return profile


def profile(session: Session, profile_id: int) -> SocialProfile | None:
    return session.get(SocialProfile, profile_id)


def find_profile(session: Session, *, actor: Actor, network: str, handle: str) -> SocialProfile:
    try:
        handle = normalise_handle(handle)
    except InvalidInput:
        raise NotFound(
            N_("no profile @{handle} on {network}"), field="handle", handle=handle, network=network
        ) from None
    found = session.scalar(
        select(SocialProfile.id).where(
            SocialProfile.network == network, SocialProfile.handle == handle
        )
    )
    if found is None:
        raise NotFound(
            N_("no profile @{handle} on {network}"), field="handle", handle=handle, network=network
        )
    return get_profile(session, actor=actor, profile_id=found)


def get_profile(session: Session, *, actor: Actor, profile_id: int) -> SocialProfile:
    actor.require(Permission.CUSTOMERS_READ)
    profile = session.get(SocialProfile, profile_id)
    # Partners (installers, shops) have no use for a customer's online life.
    if profile is None or actor.is_partner:
        raise NotFound(
            N_("social profile {profile_id} not found"), field="profile_id", profile_id=profile_id
        )
    if profile.customer_id is not None:
        customers.check_visible(session, actor=actor, customer_id=profile.customer_id)
    return profile


def profiles_of(session: Session, *, actor: Actor, customer_id: int) -> list[SocialProfile]:
    actor.require(Permission.CUSTOMERS_READ)
    customers.check_visible(session, actor=actor, customer_id=customer_id)
    if actor.is_partner:
        return []
    return list(
        session.scalars(
            select(SocialProfile)
            .where(SocialProfile.customer_id.in_(customers.merged_with(session, customer_id)))
            .order_by(SocialProfile.followers.desc().nulls_last(), SocialProfile.id)
        )
    )


def audience_history(session: Session, *, profile_id: int) -> list[SocialAudience]:
    return list(
        session.scalars(
            select(SocialAudience)
            .where(SocialAudience.profile_id == profile_id)
            .order_by(SocialAudience.seen_at)
        )
    )


def customer_audience(session: Session, customer_id: int) -> int:
    """The largest audience among a customer's linked profiles (0 without one): what the
    service-recovery recommender reads, capped there."""
    return int(
        session.scalar(
            select(func.max(SocialProfile.followers)).where(
                SocialProfile.customer_id.in_(customers.merged_with(session, customer_id))
            )
        )
        or 0
    )
