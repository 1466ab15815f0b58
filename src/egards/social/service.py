"""Use cases of the social feature: profiles and their audience, mentions from the signed
webhook (through the cases' ``social_sender`` and ``social_case_opened`` hooks) and from
network exports, deterministic links to the customer file, the review queue, the GDPR hooks,
and the influence-vs-value figures. Each takes a session and only flushes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission, Role
from egards.analytics import service as analytics
from egards.audit import service as audit
from egards.cases import service as cases
from egards.cases.channels import open_social_case
from egards.cases.schemas import SocialMentionCreate
from egards.customers import service as customers
from egards.customers.domain import Erasure, IdentityKind
from egards.customers.schemas import IdentityCreate
from egards.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from egards.social.domain import (
    Evidence,
    LinkDecision,
    LinkMethod,
    LinkStatus,
    Outcome,
    check_audience,
    decide_deterministic,
    normalise_handle,
    quoted_numbers,
)
from egards.social.models import (
    CustomerDuplicate,
    SocialAudience,
    SocialLink,
    SocialMention,
    SocialProfile,
)

LINKER = Actor(label="social linking", role=Role.ADMIN)


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
        raise NotFound(f"no profile @{handle} on {network}", field="handle") from None
    found = session.scalar(
        select(SocialProfile.id).where(
            SocialProfile.network == network, SocialProfile.handle == handle
        )
    )
    if found is None:
        raise NotFound(f"no profile @{handle} on {network}", field="handle")
    return get_profile(session, actor=actor, profile_id=found)


def get_profile(session: Session, *, actor: Actor, profile_id: int) -> SocialProfile:
    actor.require(Permission.CUSTOMERS_READ)
    profile = session.get(SocialProfile, profile_id)
    # Partners (installers, shops) have no use for a customer's online life.
    if profile is None or actor.is_partner:
        raise NotFound(f"social profile {profile_id} not found", field="profile_id")
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
            .where(SocialProfile.customer_id == customer_id)
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
                SocialProfile.customer_id == customer_id
            )
        )
        or 0
    )


# --- Deterministic linking ------------------------------------------------------------------


def _evidence(
    session: Session, profile: SocialProfile, text: str = "", reply_from: str | None = None
) -> list[Evidence]:
    found: list[Evidence] = []

    def owner(kind: str, value: str, network: str = "") -> int | None:
        return customers.owner_of_identity(session, kind=kind, value=value, network=network)

    if (declared := owner(IdentityKind.SOCIAL, profile.handle, profile.network)) is not None:
        found.append(Evidence(LinkMethod.DECLARED_HANDLE, declared, f"@{profile.handle} declared"))
    by_mail = owner(IdentityKind.EMAIL, profile.email) if profile.email else None
    if profile.verified and profile.email and by_mail is not None:
        found.append(Evidence(LinkMethod.VERIFIED_EMAIL, by_mail, profile.email))
    by_phone = owner(IdentityKind.PHONE, profile.phone) if profile.phone else None
    if profile.verified and profile.phone and by_phone is not None:
        found.append(Evidence(LinkMethod.VERIFIED_PHONE, by_phone, profile.phone))
    for number in quoted_numbers(text):
        if (by_number := owner(IdentityKind.LOYALTY_NUMBER, number)) is not None:
            found.append(Evidence(LinkMethod.LOYALTY_NUMBER, by_number, f"quoted {number}"))
    if reply_from:
        kind = IdentityKind.PHONE if reply_from.lstrip("+").isdigit() else IdentityKind.EMAIL
        if (by_reply := owner(kind, reply_from)) is not None:
            found.append(Evidence(LinkMethod.REPLY_FROM_KNOWN_ADDRESS, by_reply, reply_from))
    return found


def link_deterministically(
    session: Session,
    *,
    profile: SocialProfile,
    now: datetime,
    text: str = "",
    reply_from: str | None = None,
    actor: Actor = LINKER,
) -> LinkDecision:
    """Apply the deterministic rules (``domain.decide_deterministic``) to a profile: link,
    send to review, or leave it."""
    decision = decide_deterministic(
        _evidence(session, profile, text, reply_from), linked_to=profile.customer_id
    )
    if decision.outcome is Outcome.LINK:
        assert decision.customer_id is not None, "a link names its customer"
        _link(
            session,
            actor=actor,
            profile=profile,
            customer_id=decision.customer_id,
            method=decision.method,
            evidence=[e.as_dict() for e in decision.evidence],
            now=now,
        )
    elif decision.outcome is Outcome.REVIEW:
        assert decision.customer_id is not None, "a review names a customer"
        propose_link(
            session,
            profile=profile,
            customer_id=decision.customer_id,
            method=decision.method,
            evidence=[e.as_dict() for e in decision.evidence],
            reason=decision.reason,
            now=now,
        )
    return decision


def propose_link(
    session: Session,
    *,
    profile: SocialProfile,
    customer_id: int,
    method: str,
    evidence: list[dict[str, Any]],
    now: datetime,
    score: float | None = None,
    reason: str | None = None,
) -> SocialLink:
    """Put a link in the review queue, once per profile and customer."""
    pending = session.scalar(
        select(SocialLink).where(
            SocialLink.profile_id == profile.id,
            SocialLink.customer_id == customer_id,
            SocialLink.status == LinkStatus.PROPOSED,
        )
    )
    if pending is not None:
        return pending
    proposal = SocialLink(
        profile_id=profile.id,
        customer_id=customer_id,
        status=LinkStatus.PROPOSED,
        method=str(method),
        evidence=evidence,
        score=score,
        created_at=now,
        reason=reason,
    )
    session.add(proposal)
    session.flush()
    return proposal


def _link(
    session: Session,
    *,
    actor: Actor,
    profile: SocialProfile,
    customer_id: int,
    method: str,
    evidence: list[dict[str, Any]],
    now: datetime,
    score: float | None = None,
    link: SocialLink | None = None,
) -> SocialLink:
    if profile.customer_id is not None and profile.customer_id != customer_id:
        raise Conflict(
            f"@{profile.handle} is linked to customer {profile.customer_id}: unlink it first",
            field="profile_id",
            customer_id=profile.customer_id,
        )
    owner = customers.owner_of_identity(
        session, kind=IdentityKind.SOCIAL, value=profile.handle, network=profile.network
    )
    if owner is not None and owner != customer_id:
        raise Conflict(
            f"@{profile.handle} is declared by customer {owner}", field="profile_id", owner=owner
        )
    if owner is None:
        customers.add_identity(
            session,
            actor=actor,
            customer_id=customer_id,
            data=IdentityCreate(
                kind=IdentityKind.SOCIAL, value=profile.handle, network=profile.network
            ),
        )
    profile.customer_id = customer_id
    profile.link_method = str(method)
    if link is None:
        link = SocialLink(
            profile_id=profile.id,
            customer_id=customer_id,
            method=str(method),
            evidence=evidence,
            score=score,
            created_at=now,
        )
        session.add(link)
    link.status = LinkStatus.LINKED
    link.decided_at, link.decided_by = now, actor.label
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="social.link",
        entity_type="social_profile",
        entity_id=profile.id,
        customer_id=customer_id,
        after={"network": profile.network, "handle": profile.handle, "method": str(method)},
    )
    customers.record_event(
        session,
        actor=actor,
        customer_id=customer_id,
        kind="social.linked",
        summary=f"Social profile linked: {profile.network} @{profile.handle} ({method})",
        channel="social",
        occurred_at=now,
    )
    return link


def link_profile(
    session: Session, *, actor: Actor, profile_id: int, customer_id: int, now: datetime
) -> SocialLink:
    """An agent links a profile to a customer by hand (reversible)."""
    actor.require(Permission.CUSTOMERS_WRITE)
    if actor.is_partner:
        raise PermissionDenied("partners do not link social profiles", field="profile_id")
    profile = get_profile(session, actor=actor, profile_id=profile_id)
    customers.check_visible(session, actor=actor, customer_id=customer_id)
    return _link(
        session,
        actor=actor,
        profile=profile,
        customer_id=customer_id,
        method=LinkMethod.AGENT,
        evidence=[{"method": "agent", "customer_id": customer_id, "detail": actor.label}],
        now=now,
    )


def unlink_profile(
    session: Session, *, actor: Actor, profile_id: int, reason: str, now: datetime
) -> SocialProfile:
    """Undo a link: the profile leaves the customer, the handle leaves the file, with a reason."""
    actor.require(Permission.CUSTOMERS_WRITE)
    if actor.is_partner:
        raise PermissionDenied("partners do not unlink social profiles", field="profile_id")
    if not (reason or "").strip():
        raise InvalidInput("say why the link is undone", field="reason")
    profile = get_profile(session, actor=actor, profile_id=profile_id)
    customer_id = profile.customer_id
    if customer_id is None:
        raise Conflict(f"@{profile.handle} is not linked", field="profile_id")
    for identity in customers.get_customer(
        session, actor=actor, customer_id=customer_id
    ).identities:
        if (
            identity.kind == IdentityKind.SOCIAL
            and identity.network == profile.network
            and identity.value == profile.handle
        ):
            customers.remove_identity(
                session,
                actor=actor,
                customer_id=customer_id,
                identity_id=identity.id,
                reason=reason,
            )
    for link in session.scalars(
        select(SocialLink).where(
            SocialLink.profile_id == profile.id, SocialLink.status == LinkStatus.LINKED
        )
    ):
        link.status, link.reason = LinkStatus.UNLINKED, reason
        link.decided_at, link.decided_by = now, actor.label
    profile.customer_id, profile.link_method = None, None
    audit.record(
        session,
        actor=actor,
        action="social.unlink",
        entity_type="social_profile",
        entity_id=profile.id,
        customer_id=customer_id,
        before={"customer_id": customer_id},
        reason=reason,
    )
    customers.record_event(
        session,
        actor=actor,
        customer_id=customer_id,
        kind="social.unlinked",
        summary=f"Social profile unlinked: {profile.network} @{profile.handle}",
        channel="social",
        occurred_at=now,
    )
    session.flush()
    return profile


# --- Review queue ---------------------------------------------------------------------------


def review_queue(session: Session, *, actor: Actor, limit: int = 50) -> list[SocialLink]:
    """Proposed links, oldest first. The score is kept but shown after the decision."""
    actor.require(Permission.CUSTOMERS_WRITE)
    if actor.is_partner:
        return []
    return list(
        session.scalars(
            select(SocialLink)
            .where(SocialLink.status == LinkStatus.PROPOSED)
            .order_by(SocialLink.id)
            .limit(limit)
        )
    )


def decide_review(
    session: Session,
    *,
    actor: Actor,
    link_id: int,
    accept: bool,
    now: datetime,
    reason: str | None = None,
) -> SocialLink:
    """A reviewer confirms or rejects a proposed link; the outcome is kept (to retrain)."""
    actor.require(Permission.CUSTOMERS_WRITE)
    link = session.get(SocialLink, link_id)
    if link is None or actor.is_partner:
        raise NotFound(f"proposed link {link_id} not found", field="link_id")
    if link.status != LinkStatus.PROPOSED:
        raise Conflict(f"link {link_id} was already decided ({link.status})", field="link_id")
    profile = session.get_one(SocialProfile, link.profile_id)
    if accept:
        _link(
            session,
            actor=actor,
            profile=profile,
            customer_id=link.customer_id,
            method=LinkMethod.REVIEW,
            evidence=link.evidence,
            now=now,
            link=link,
        )
        link.reason = reason
    else:
        link.status, link.reason = LinkStatus.REJECTED, reason
        link.decided_at, link.decided_by = now, actor.label
        audit.record(
            session,
            actor=actor,
            action="social.link_rejected",
            entity_type="social_link",
            entity_id=link.id,
            customer_id=link.customer_id,
            reason=reason,
        )
    session.flush()
    return link


# --- Mentions -------------------------------------------------------------------------------


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


# --- Import of network exports --------------------------------------------------------------

IMPORT_FIELDS = {
    "network",
    "handle",
    "author_name",
    "text",
    "url",
    "external_id",
    "language",
    "kind",
    "followers",
    "verified",
    "profile_url",
    "bio",
    "location",
    "email",
    "phone",
    "posted_at",
    "needs_answer",
}
# Common column names of social listening exports, mapped to ours.
ALIASES = {
    "platform": "network",
    "source": "network",
    "author": "handle",
    "username": "handle",
    "screen_name": "handle",
    "author_handle": "handle",
    "name": "author_name",
    "display_name": "author_name",
    "content": "text",
    "message": "text",
    "post_url": "url",
    "link": "url",
    "id": "external_id",
    "post_id": "external_id",
    "tweet_id": "external_id",
    "followers_count": "followers",
    "audience": "followers",
    "reach": "followers",
    "date": "posted_at",
    "created_at": "posted_at",
    "lang": "language",
}
_TRUE = {"1", "true", "yes", "y", "oui"}


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    cases_opened: int = 0
    linked: int = 0
    to_review: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)


def read_export(text: str, *, filename: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(line number, row)`` of a CSV or JSONL export; a line that cannot be read gives
    its error instead of a row."""
    if filename.casefold().endswith((".jsonl", ".ndjson", ".json")):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON: {exc.msg}"
                continue
            yield number, row if isinstance(row, dict) else "expected a JSON object"
        return
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        yield reader.line_num, dict(row)


def _row_mention(row: Mapping[str, Any]) -> tuple[SocialMentionCreate, bool]:
    data: dict[str, Any] = {}
    for key, value in row.items():
        name = ALIASES.get(str(key).strip().casefold(), str(key).strip().casefold())
        if name in IMPORT_FIELDS and value not in (None, ""):
            data[name] = value
    data["followers"] = check_audience(data.get("followers"))
    if isinstance(data.get("verified"), str):
        data["verified"] = data["verified"].strip().casefold() in _TRUE
    needs = data.pop("needs_answer", False)
    needs = needs.strip().casefold() in _TRUE if isinstance(needs, str) else bool(needs)
    if isinstance(data.get("network"), str):
        data["network"] = data["network"].strip().casefold()
    try:
        return SocialMentionCreate.model_validate(
            {**data, "external_id": str(data.get("external_id", ""))}
        ), needs
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "row"
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None


def import_row(
    session: Session,
    *,
    row: Mapping[str, Any],
    config: cases.CasesConfig,
    now: datetime,
    report: ImportReport,
) -> None:
    """One row of a network export: the profile, the mention, deterministic linking, and a
    case when the row says the post needs an answer (once per post)."""
    mention, needs_answer = _row_mention(row)
    profile, stored = _record_mention(session, mention=mention, now=now, source="import")
    decision = link_deterministically(session, profile=profile, now=now, text=mention.text)
    report.linked += decision.outcome is Outcome.LINK
    report.to_review += decision.outcome is Outcome.REVIEW
    if needs_answer and stored.case_id is None:
        received = mention.posted_at
        if received is not None and received.tzinfo is None:
            received = received.replace(tzinfo=UTC)
        opened = open_social_case(
            session, mention=mention, config=config, now=now, received_at=received
        )
        stored.case_id = opened.case.id
        report.cases_opened += 1
    report.imported += 1


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


# --- Influence vs value ---------------------------------------------------------------------


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


# --- GDPR -----------------------------------------------------------------------------------


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


def import_export(
    db: Any,
    *,
    text: str,
    filename: str,
    config: cases.CasesConfig,
    now: datetime,
    batch: int = 500,
) -> ImportReport:
    """A network export (CSV or JSONL), one unit of work per ``batch`` rows and a savepoint
    per row: a refused row is reported with its line number and leaves nothing behind, and
    an interrupted run can simply be run again (posts already stored are recognised)."""
    report = ImportReport()
    rows = list(read_export(text, filename=filename))
    for start in range(0, len(rows), batch):
        with db.unit_of_work() as session:
            for number, row in rows[start : start + batch]:
                report.read += 1
                if isinstance(row, str):
                    report.rejects.append((number, row))
                    continue
                savepoint = session.begin_nested()
                try:
                    import_row(session, row=row, config=config, now=now, report=report)
                    savepoint.commit()
                except DomainError as exc:
                    savepoint.rollback()
                    where = f"{exc.field}: " if exc.field and exc.field not in exc.message else ""
                    report.rejects.append((number, f"{where}{exc.message}"))
    return report


# --- Probabilistic linking (Splink) --------------------------------------------------------


@dataclass
class LinkRun:
    profiles: int = 0
    customers: int = 0
    linked: int = 0
    to_review: int = 0
    seconds: float = 0.0


_CUSTOMERS_SQL = text(
    "SELECT c.id, c.first_name, c.last_name, c.city, c.preferred_language, c.birth_date,"
    " (SELECT min(i.value) FROM identities i WHERE i.customer_id = c.id AND i.kind = 'email')"
    " AS email,"
    " (SELECT min(i.value) FROM identities i WHERE i.customer_id = c.id AND i.kind = 'phone')"
    " AS phone"
    " FROM customers c WHERE c.status = 'active'"
)


def link_probabilistically(
    session: Session,
    *,
    now: datetime,
    upper: float,
    lower: float,
    margin: float,
    actor: Actor = LINKER,
) -> LinkRun:
    """Score every unlinked profile (none waiting for review) against the active customers
    with the Splink model (``linking``): link above ``upper`` when a fact beyond the name
    agrees and the best candidate stands ``margin`` above the next, send to review above
    ``lower``, leave the rest. Each link is audited with its evidence and reversible."""
    import time

    from egards.social import linking

    started = time.perf_counter()
    pending = select(SocialLink.profile_id).where(SocialLink.status == LinkStatus.PROPOSED)
    profiles = list(
        session.scalars(
            select(SocialProfile).where(
                SocialProfile.customer_id.is_(None), SocialProfile.id.not_in(pending)
            )
        )
    )
    run = LinkRun(profiles=len(profiles))
    if not profiles:
        return run
    people = [dict(row._mapping) for row in session.execute(_CUSTOMERS_SQL)]
    run.customers = len(people)
    if not people:
        return run
    left = [
        linking.profile_record(
            {
                "id": p.id,
                "display_name": p.display_name,
                "handle": p.handle,
                "email": p.email,
                "location": p.location,
                "phone": p.phone,
            }
        )
        for p in profiles
    ]
    pairs = linking.score(left, [linking.customer_record(c) for c in people], min_weight=lower)
    decisions = linking.decide_best(pairs, upper=upper, lower=lower, margin=margin)
    by_id = {str(p.id): p for p in profiles}
    for profile_id, decision in decisions.items():
        profile, best = by_id[profile_id], decision.best
        if decision.outcome == "nothing" or best is None:
            continue
        evidence = best.evidence()
        customer_id = int(best.right_id)
        if decision.outcome == "link":
            try:
                with session.begin_nested():
                    _link(
                        session,
                        actor=actor,
                        profile=profile,
                        customer_id=customer_id,
                        method=LinkMethod.PROBABILISTIC,
                        evidence=evidence,
                        score=round(best.match_weight, 2),
                        now=now,
                    )
                run.linked += 1
                continue
            except Conflict:
                pass  # the handle belongs to someone else: a person decides
        reason = None
        if decision.runner_up is not None:
            reason = f"another customer ({decision.runner_up.right_id}) is close"
        propose_link(
            session,
            profile=profile,
            customer_id=customer_id,
            method=LinkMethod.PROBABILISTIC,
            evidence=evidence,
            score=round(best.match_weight, 2),
            reason=reason,
            now=now,
        )
        run.to_review += 1
    run.seconds = time.perf_counter() - started
    return run


# --- Duplicates in the customer file --------------------------------------------------------


def find_duplicates(session: Session, *, now: datetime, lower: float) -> int:
    """Score the active customers against each other and queue the likely duplicates (never
    merged automatically: a person decides). Returns how many new pairs were queued."""
    from egards.social import linking

    people = [dict(row._mapping) for row in session.execute(_CUSTOMERS_SQL)]
    if len(people) < 2:
        return 0
    known = {
        (a, b)
        for a, b in session.execute(
            select(CustomerDuplicate.customer_a, CustomerDuplicate.customer_b)
        )
    }
    queued = 0
    for pair in linking.score([linking.customer_record(c) for c in people], None, min_weight=lower):
        if not linking.corroborated(pair.levels):
            continue
        a, b = sorted((int(pair.left_id), int(pair.right_id)))
        if (a, b) in known:
            continue
        known.add((a, b))
        session.add(
            CustomerDuplicate(
                customer_a=a,
                customer_b=b,
                status="proposed",
                score=round(pair.match_weight, 2),
                evidence=pair.evidence(),
                created_at=now,
            )
        )
        queued += 1
    session.flush()
    return queued


def duplicates_queue(session: Session, *, actor: Actor, limit: int = 50) -> list[CustomerDuplicate]:
    actor.require(Permission.CUSTOMERS_MERGE)
    return list(
        session.scalars(
            select(CustomerDuplicate)
            .where(CustomerDuplicate.status == "proposed")
            .order_by(CustomerDuplicate.score.desc(), CustomerDuplicate.id)
            .limit(limit)
        )
    )


def decide_duplicate(
    session: Session,
    *,
    actor: Actor,
    duplicate_id: int,
    merge: bool,
    now: datetime,
    reason: str | None = None,
) -> CustomerDuplicate:
    """Merge the pair through the customer file's reversible merge (the older file
    survives), or record that they are two people. A merge of two files with different
    verified identities is refused by the customer file with the reason."""
    actor.require(Permission.CUSTOMERS_MERGE)
    duplicate = session.get(CustomerDuplicate, duplicate_id)
    if duplicate is None:
        raise NotFound(f"duplicate {duplicate_id} not found", field="duplicate_id")
    if duplicate.status != "proposed":
        raise Conflict(f"already decided ({duplicate.status})", field="duplicate_id")
    if merge:
        customers.merge_customers(
            session,
            actor=actor,
            survivor_id=duplicate.customer_a,
            merged_id=duplicate.customer_b,
            reason=reason or f"duplicate found by the linking model (weight {duplicate.score})",
        )
        duplicate.status = "merged"
    else:
        duplicate.status = "distinct"
        audit.record(
            session,
            actor=actor,
            action="customer.duplicate_rejected",
            entity_type="customer_duplicate",
            entity_id=duplicate.id,
            customer_id=duplicate.customer_a,
            reason=reason,
        )
    duplicate.decided_at, duplicate.decided_by, duplicate.reason = now, actor.label, reason
    session.flush()
    return duplicate
