"""Linking a profile to a customer: the deterministic rules, links made and undone by
hand, and the review queue of proposed links."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.customers import service as customers
from egards.customers.domain import IdentityKind
from egards.customers.schemas import IdentityCreate
from egards.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied
from egards.i18n import message, render_message
from egards.social.domain import (
    Evidence,
    LinkDecision,
    LinkMethod,
    LinkStatus,
    Outcome,
    decide_deterministic,
    quoted_numbers,
)
from egards.social.models import (
    SocialLink,
    SocialProfile,
)
from egards.social.service.profiles import (
    LINKER,
    active_customers,
    get_profile,
)
from egards.subscriptions import service as subscriptions


def _active_holder(session: Session, reference: str) -> int | None:
    """The active customer holding a contract: the holder, or the customer it was merged
    into (the contract stays with the merged file); ``None`` for an erased holder (the
    contract is kept for the bills, its holder is gone)."""
    holder = subscriptions.holder_of_reference(session, reference)
    return customers.survivor(session, holder) if holder is not None else None


def _evidence(
    session: Session, profile: SocialProfile, text: str = "", reply_from: str | None = None
) -> list[Evidence]:
    found: list[Evidence] = []

    def owner(kind: str, value: str, network: str = "") -> int | None:
        return customers.owner_of_identity(session, kind=kind, value=value, network=network)

    def fact(method: LinkMethod, customer_id: int, text: str, **values: Any) -> None:
        said = message(text, **values)
        found.append(Evidence(method, customer_id, render_message("en", said), said))

    if (declared := owner(IdentityKind.SOCIAL, profile.handle, profile.network)) is not None:
        handle = profile.handle
        fact(
            LinkMethod.DECLARED_HANDLE,
            declared,
            N_("@{handle} declared by the customer"),
            handle=handle,
        )
    by_mail = owner(IdentityKind.EMAIL, profile.email) if profile.email else None
    if profile.verified and profile.email and by_mail is not None:
        fact(LinkMethod.VERIFIED_EMAIL, by_mail, N_("verified e-mail {email}"), email=profile.email)
    by_phone = owner(IdentityKind.PHONE, profile.phone) if profile.phone else None
    if profile.verified and profile.phone and by_phone is not None:
        fact(LinkMethod.VERIFIED_PHONE, by_phone, N_("verified phone {phone}"), phone=profile.phone)
    for number in quoted_numbers(text):
        if (by_number := owner(IdentityKind.LOYALTY_NUMBER, number)) is not None:
            fact(
                LinkMethod.LOYALTY_NUMBER,
                by_number,
                N_("loyalty number {number} quoted in the message"),
                number=number,
            )
        elif (holder := _active_holder(session, number)) is not None:
            fact(
                LinkMethod.CONTRACT_REFERENCE,
                holder,
                N_("contract reference {number} quoted in the message"),
                number=number,
            )
    if reply_from:
        kind = IdentityKind.PHONE if reply_from.lstrip("+").isdigit() else IdentityKind.EMAIL
        if (by_reply := owner(kind, reply_from)) is not None:
            fact(
                LinkMethod.REPLY_FROM_KNOWN_ADDRESS,
                by_reply,
                N_("reply from the known address {address}"),
                address=reply_from,
            )
    return found


def refused_customers(
    session: Session, *, profile_ids: Iterable[int] | None = None
) -> dict[int, set[int]]:
    """Per profile, the customers a person said it is not: a reviewer rejected the proposed
    link, or an agent undid the link. Every automatic path (the deterministic rules, the
    arrival, the batch) leaves these pairs alone; only a person links them again (an agent's
    link by hand). ``profile_ids``: those profiles only (all of them when ``None``; a
    person's decisions are few beside the profiles)."""
    query = select(SocialLink.profile_id, SocialLink.customer_id).where(
        SocialLink.status.in_([LinkStatus.REJECTED, LinkStatus.UNLINKED])
    )
    if profile_ids is not None:
        query = query.where(SocialLink.profile_id.in_(list(profile_ids)))
    refused: dict[int, set[int]] = {}
    for profile_id, customer_id in session.execute(query):
        refused.setdefault(profile_id, set()).add(customer_id)
    # A refused customer merged since is the survivor now: the same person, still refused.
    survivors = active_customers(session, {c for found in refused.values() for c in found})
    for found in refused.values():
        found |= {survivor for c in found if (survivor := survivors.get(c)) is not None}
    return refused


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
    send to review, or leave it. Evidence naming a customer a person refused for this
    profile (``refused_customers``) is set aside: an unlinked profile is not linked again by
    the verified e-mail or the quoted number it was unlinked with at its next mention, nor is
    a rejected proposal proposed again; the other evidence decides alone."""
    # Linked to a file merged since: the evidence (its identities moved) names the survivor,
    # which is the same person, not another customer.
    linked_to = profile.customer_id
    if linked_to is not None:
        linked_to = customers.survivor(session, linked_to) or linked_to
    refused = refused_customers(session, profile_ids=[profile.id]).get(profile.id, set())
    # Linked again by a person since a refusal: their yes stands.
    refused -= {profile.customer_id, linked_to}
    evidence = [
        piece
        for piece in _evidence(session, profile, text, reply_from)
        if piece.customer_id not in refused
    ]
    decision = decide_deterministic(evidence, linked_to=linked_to)
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
    reason: dict[str, Any] | None = None,
) -> SocialLink:
    """Put a link in the review queue, once per profile and customer. ``reason``: why a
    person must decide, a stored message (kept, and its English text beside it)."""
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
        reason=render_message("en", reason) or None,
        reason_message=reason,
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
            N_("@{handle} is linked to customer {customer_id}: unlink it first"),
            field="profile_id",
            handle=profile.handle,
            customer_id=profile.customer_id,
        )
    owner = customers.owner_of_identity(
        session, kind=IdentityKind.SOCIAL, value=profile.handle, network=profile.network
    )
    if owner is not None and owner != customer_id:
        raise Conflict(
            N_("@{handle} is declared by customer {owner}"),
            field="profile_id",
            handle=profile.handle,
            owner=owner,
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
    customers.record_change(
        session,
        actor=actor,
        action="social.link",
        kind="social.linked",
        entity=("social_profile", profile.id),
        customer_id=customer_id,
        summary=message(
            N_("Social profile linked: {network} @{handle} ({method})"),
            network=profile.network,
            handle=profile.handle,
            method=message(METHOD_WORDS[LinkMethod(method)]),
        ),
        after={"network": profile.network, "handle": profile.handle, "method": str(method)},
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
        raise PermissionDenied(N_("partners do not link social profiles"), field="profile_id")
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
        raise PermissionDenied(N_("partners do not unlink social profiles"), field="profile_id")
    if not (reason or "").strip():
        raise InvalidInput(N_("say why the link is undone"), field="reason")
    profile = get_profile(session, actor=actor, profile_id=profile_id)
    customer_id = profile.customer_id
    if customer_id is None:
        raise Conflict(N_("@{handle} is not linked"), field="profile_id", handle=profile.handle)
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
        link.status, link.reason, link.reason_message = LinkStatus.UNLINKED, reason, None
        link.decided_at, link.decided_by = now, actor.label
    profile.customer_id, profile.link_method = None, None
    customers.record_change(
        session,
        actor=actor,
        action="social.unlink",
        kind="social.unlinked",
        entity=("social_profile", profile.id),
        customer_id=customer_id,
        summary=message(
            N_("Social profile unlinked: {network} @{handle}"),
            network=profile.network,
            handle=profile.handle,
        ),
        before={"customer_id": customer_id},
        reason=reason,
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
        raise NotFound(N_("proposed link {link_id} not found"), field="link_id", link_id=link_id)
    if link.status != LinkStatus.PROPOSED:
        raise Conflict(
            N_("link {link_id} was already decided ({decision})"),
            field="link_id",
            link_id=link_id,
            decision=link.status,
        )
    profile = session.get_one(SocialProfile, link.profile_id)
    if accept:
        # Proposed for a file merged since: the person is the survivor's.
        link.customer_id = customers.survivor(session, link.customer_id) or link.customer_id
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
        link.reason, link.reason_message = reason, None
    else:
        link.status, link.reason, link.reason_message = LinkStatus.REJECTED, reason, None
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


METHOD_WORDS = {
    LinkMethod.VERIFIED_EMAIL: N_("verified e-mail"),
    LinkMethod.VERIFIED_PHONE: N_("verified phone number"),
    LinkMethod.DECLARED_HANDLE: N_("handle given by the customer"),
    LinkMethod.LOYALTY_NUMBER: N_("loyalty number"),
    LinkMethod.CONTRACT_REFERENCE: N_("contract reference"),
    LinkMethod.REPLY_FROM_KNOWN_ADDRESS: N_("reply from a known address"),
    LinkMethod.PROBABILISTIC: N_("probable match"),
    LinkMethod.REVIEW: N_("confirmed on review"),
    LinkMethod.AGENT: N_("linked by an agent"),
}
"""How a profile was linked, in words on the customer's timeline."""
