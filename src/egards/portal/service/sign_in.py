"""Signing in: a link e-mailed on request (never telling whether the address is known), used
once to start a portal session; the session looked up on each request, and ended."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egards.audit import service as audit
from egards.customers import service as customers
from egards.customers.domain import CustomerStatus, normalise_email
from egards.db import rowcount
from egards.errors import InvalidInput, NotAuthenticated
from egards.i18n import N_, message, pick_locale, translate, translate_plural
from egards.loyalty import service as loyalty
from egards.outbox import service as outbox
from egards.portal import domain
from egards.portal.domain import (
    LinkRefused,
    read_link,
    sign_link,
    token_digest,
)
from egards.portal.models import PortalSession, SignInLink
from egards.portal.service._common import (
    LINK_KEY,
    PORTAL,
)
from egards.portal.settings import PortalSettings


def _owner_of_email(session: Session, email: str) -> int | None:
    """The one active customer known by this e-mail address, if exactly one is."""
    found, more = customers.search_customers(
        session, actor=PORTAL, text=email, status=CustomerStatus.ACTIVE, limit=1
    )
    if len(found) != 1 or more:
        return None
    customer = found[0]
    if not any(i.kind == "email" and i.value == email for i in customer.identities):
        return None
    return customer.id


def _holds_number(session: Session, customer_id: int, number: str) -> bool:
    wanted = number.strip().upper().replace("-", "").replace(" ", "")
    member_numbers = {
        m.number.upper().replace("-", "")
        for m in loyalty.members_of(session, customer_id=customer_id)
    }
    customer = customers.get_customer(session, actor=PORTAL, customer_id=customer_id)
    identities = {i.value for i in customer.identities if i.kind == "loyalty_number"}
    return bool(wanted) and (wanted in member_numbers or wanted in identities)


def request_link(
    session: Session,
    *,
    email: str,
    loyalty_number: str | None,
    key: bytes,
    settings: PortalSettings,
    mail_from: str,
    now: datetime,
) -> str | None:
    """E-mail a sign-in link to the customer known by ``email`` (and holding
    ``loyalty_number`` when one is given). Whatever happens, the web answers the same thing;
    the link queued, if any, is returned for the operator's command (``egards portal
    sign-in-link``), never shown on the web."""
    try:
        address = normalise_email(email)
    except InvalidInput:
        return None
    customer_id = _owner_of_email(session, address)
    if customer_id is None:
        return None
    if loyalty_number and not _holds_number(session, customer_id, loyalty_number):
        return None
    window = timedelta(minutes=settings.rate_window_minutes)
    sent = outbox.count_sent_to(
        session, recipient=address, kind_prefix=LINK_KEY, since=now - window
    )
    if sent >= settings.links_per_address:
        return None
    expires_at = now + timedelta(minutes=settings.link_minutes)
    token = sign_link(key, expires_at=expires_at)
    link = SignInLink(
        customer_id=customer_id,
        token_hash=token_digest(token),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(link)
    session.flush()
    customer = customers.get_customer(session, actor=PORTAL, customer_id=customer_id)
    locale = pick_locale(customer.preferred_language)
    url = f"{settings.base_url}/my/link/{token}"
    outbox.enqueue_email(
        session,
        key=f"{LINK_KEY}{link.id}",
        sender=mail_from,
        to=address,
        subject=translate(locale, "Your sign-in link to your customer space"),
        body=translate_plural(
            locale,
            "Hello,\n\nTo open your customer space, follow this link:\n\n{url}\n\nIt works"
            " once, for {count} minute. If you did not ask for it, ignore this message: nobody"
            " can sign in without it.\n",
            "Hello,\n\nTo open your customer space, follow this link:\n\n{url}\n\nIt works"
            " once, for {count} minutes. If you did not ask for it, ignore this message: nobody"
            " can sign in without it.\n",
            settings.link_minutes,
            url=url,
        ),
        now=now,
        ref_type="portal_link",
        ref_id=link.id,
    )
    audit.record(
        session,
        actor=PORTAL,
        action="portal.link_sent",
        entity_type="portal_link",
        entity_id=link.id,
        customer_id=customer_id,
    )
    return url


def check_link(session: Session, *, token: str, key: bytes, now: datetime) -> None:
    """That a link would work now (signed, not expired, not used), without using it."""
    read_link(key, token, now=now)
    row = session.scalar(select(SignInLink).where(SignInLink.token_hash == token_digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise LinkRefused(N_("this sign-in link no longer works"), field="token")


def redeem_link(
    session: Session, *, token: str, key: bytes, settings: PortalSettings, now: datetime
) -> str:
    """Use a sign-in link, once: a new portal session's secret (for the cookie only)."""
    read_link(key, token, now=now)
    digest = token_digest(token)
    # One statement decides: of two concurrent uses of one link, one updates the row.
    used = session.execute(
        update(SignInLink)
        .where(
            SignInLink.token_hash == digest,
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(used) != 1:
        raise LinkRefused(N_("this sign-in link no longer works"), field="token")
    customer_id = session.scalar(
        select(SignInLink.customer_id).where(SignInLink.token_hash == digest)
    )
    assert customer_id is not None, "the link's row was just updated"
    if customers.statuses(session, [customer_id]).get(customer_id) != CustomerStatus.ACTIVE:
        raise LinkRefused(N_("this sign-in link no longer works"), field="token")
    secret = domain.new_secret()
    row = PortalSession(
        customer_id=customer_id,
        secret_hash=token_digest(secret),
        created_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=PORTAL,
        action="portal.sign_in",
        entity_type="portal_session",
        entity_id=row.id,
        customer_id=customer_id,
    )
    customers.record_event(
        session,
        actor=PORTAL,
        customer_id=customer_id,
        kind="portal.sign_in",
        summary=message(N_("Signed in to the customer portal")),
        channel="web",
        occurred_at=now,
    )
    return secret


def customer_of_session(session: Session, *, secret: str, now: datetime) -> int:
    """The customer of a portal session that has not ended or expired, while they are still
    an active customer (an erased or merged file signs its sessions out)."""
    row = session.scalar(
        select(PortalSession).where(PortalSession.secret_hash == token_digest(secret))
    )
    if row is None or row.ended_at is not None or row.expires_at <= now:
        raise NotAuthenticated(N_("your session has ended; ask for a new sign-in link"))
    if customers.statuses(session, [row.customer_id]).get(row.customer_id) != "active":
        raise NotAuthenticated(N_("your session has ended; ask for a new sign-in link"))
    return row.customer_id


def end_session(session: Session, *, secret: str, now: datetime) -> None:
    row = session.scalar(
        select(PortalSession).where(PortalSession.secret_hash == token_digest(secret))
    )
    if row is not None and row.ended_at is None:
        row.ended_at = now
        audit.record(
            session,
            actor=PORTAL,
            action="portal.sign_out",
            entity_type="portal_session",
            entity_id=row.id,
            customer_id=row.customer_id,
        )
        session.flush()
