"""Use cases of the customer portal. Each takes a session and keyword arguments; only flushes.

Everything the portal shows or changes is reached through the other features' services with
:data:`PORTAL`, an actor that stands for "the customer, through the portal": the portal itself
keeps every read and write to the signed-in customer's own objects. Each object named in a
URL (a membership, a case, an attachment, a privacy request) is checked to belong to that
customer, and anything else is "not found", whether it exists or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission, Role
from egards.audit import service as audit
from egards.cases import service as cases
from egards.cases.domain import Channel
from egards.cases.service import AttachmentIn, CaseDetails, CasesConfig, InboundIn
from egards.customers import service as customers
from egards.customers.domain import ERASED, CustomerStatus, Erasure, normalise_email
from egards.customers.schemas import ConsentCreate
from egards.errors import InvalidInput, NotAuthenticated, NotFound
from egards.loyalty import domain as loyalty_domain
from egards.loyalty import service as loyalty
from egards.loyalty.programme import ExpiryMode
from egards.outbox import service as outbox
from egards.portal import domain
from egards.portal.domain import (
    OPEN_PRIVACY,
    LinkRefused,
    PrivacyKind,
    PrivacyStatus,
    privacy_due,
    read_link,
    sign_link,
    token_digest,
)
from egards.portal.models import PortalSession, PrivacyRequest, SignInLink
from egards.portal.settings import PortalSettings

PARIS = ZoneInfo("Europe/Paris")
LINK_KEY = "portal-link:"
PRIVACY_KEY = "portal-privacy:"
# "The customer, through the portal": never a user, never a partner; the portal narrows it to
# the signed-in customer's own objects. The label names no person (it stays after erasure).
PORTAL = Actor(
    label="customer (portal)",
    role=Role.SUPERVISOR,
    scopes=frozenset(
        {
            Permission.CUSTOMERS_READ,
            Permission.CUSTOMERS_WRITE,
            Permission.GDPR_EXPORT,
            Permission.LOYALTY_READ,
            Permission.CASES_READ,
            Permission.CASES_WRITE,
        }
    ),
)
# What the customer reads of a case's conversation: never internal notes, never what a
# partner reported about them.
VISIBLE_KINDS = frozenset({"inbound", "reply", "acknowledgement", "system"})


# --------------------------------------------------------------------------------------
# Signing in
# --------------------------------------------------------------------------------------


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
    french = (customer.preferred_language or "fr").startswith("fr")
    url = f"{settings.base_url}/my/link/{token}"
    outbox.enqueue_email(
        session,
        key=f"{LINK_KEY}{link.id}",
        sender=mail_from,
        to=address,
        subject="Votre lien de connexion à votre espace client"
        if french
        else "Your sign-in link to your customer space",
        body=_link_body(url, settings.link_minutes, french),
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


def _link_body(url: str, minutes: int, french: bool) -> str:
    if french:
        return (
            "Bonjour,\n\nPour ouvrir votre espace client, suivez ce lien :\n\n"
            f"{url}\n\nIl fonctionne une seule fois, pendant {minutes} minutes. Si vous n'avez "
            "rien demandé, ignorez ce message : personne ne peut se connecter sans lui.\n"
        )
    return (
        "Hello,\n\nTo open your customer space, follow this link:\n\n"
        f"{url}\n\nIt works once, for {minutes} minutes. If you did not ask for it, ignore "
        "this message: nobody can sign in without it.\n"
    )


def check_link(session: Session, *, token: str, key: bytes, now: datetime) -> None:
    """That a link would work now (signed, not expired, not used), without using it."""
    read_link(key, token, now=now)
    row = session.scalar(select(SignInLink).where(SignInLink.token_hash == token_digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise LinkRefused("this sign-in link no longer works", field="token")


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
    if used.rowcount != 1:
        raise LinkRefused("this sign-in link no longer works", field="token")
    customer_id = session.scalar(
        select(SignInLink.customer_id).where(SignInLink.token_hash == digest)
    )
    if customers.statuses(session, [customer_id]).get(customer_id) != CustomerStatus.ACTIVE:
        raise LinkRefused("this sign-in link no longer works", field="token")
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
        summary="Signed in to the customer portal",
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
        raise NotAuthenticated("your session has ended; ask for a new sign-in link")
    if customers.statuses(session, [row.customer_id]).get(row.customer_id) != "active":
        raise NotAuthenticated("your session has ended; ask for a new sign-in link")
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


# --------------------------------------------------------------------------------------
# What the customer sees
# --------------------------------------------------------------------------------------


@dataclass
class Me:
    customer_id: int
    first_name: str
    last_name: str
    language: str
    email: str | None


def me(session: Session, *, customer_id: int) -> Me:
    customer = customers.get_customer(session, actor=PORTAL, customer_id=customer_id)
    return Me(
        customer_id=customer.id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        language=(customer.preferred_language or "fr")[:2],
        email=customers.primary_email(session, customer.id),
    )


def _own_member(session: Session, customer_id: int, member_id: int) -> Any:
    for member in loyalty.members_of(session, customer_id=customer_id):
        if member.id == member_id:
            return member
    raise NotFound(f"membership {member_id} not found", field="member_id")


@dataclass
class Expiring:
    currency: str
    amount: int
    on: date


@dataclass
class Card:
    member: Any
    programme: Any
    tier_name: str
    next_tier_name: str | None
    needed_for_next: int | None
    needed_to_keep: int | None
    percent: int
    qualifying: str
    balances: list[Any]
    explanation: list[str]
    expiring: list[Expiring] = field(default_factory=list)


def loyalty_cards(
    session: Session, *, customer_id: int, lang: str, today: date | None = None
) -> list[Card]:
    """Each membership: tier and progress, balances, the explanation in the customer's
    words, and the points that will expire and when."""
    today = today or loyalty.today()
    cards = []
    for member in loyalty.members_of(session, customer_id=customer_id):
        programme = loyalty.get_programme(member.programme)
        progress = loyalty.progress(member)
        next_tier = programme.tier(progress["next_tier"]) if progress["next_tier"] else None
        percent = (
            min(100, round(100 * member.counter / next_tier.threshold))
            if next_tier and next_tier.threshold
            else 100
        )
        text = loyalty.explain_member(
            session, actor=PORTAL, member_id=member.id, lang=lang, today=lambda t=today: t
        )
        cards.append(
            Card(
                member=member,
                programme=programme,
                tier_name=programme.tier(member.tier).name.get(lang),
                next_tier_name=next_tier.name.get(lang) if next_tier else None,
                needed_for_next=progress["needed_for_next"],
                needed_to_keep=progress["needed_to_keep"],
                percent=percent,
                qualifying=programme.qualifying_currency.name.get(lang),
                balances=[
                    b
                    for b in loyalty.balances(session, member=member)
                    if b.currency in {c.code for c in programme.spendable_currencies}
                ],
                explanation=[line for line in text.split("\n") if line],
                expiring=_expiring(session, member, programme, today),
            )
        )
    return cards


def _expiring(session: Session, member: Any, programme: Any, today: date) -> list[Expiring]:
    """Points of a dated bucket, by day, soonest first; or the whole balance's last day when
    any activity extends it."""
    found: list[Expiring] = []
    book = loyalty.resume_book(session, member)
    for currency in programme.spendable_currencies:
        expiry = currency.expiry
        if expiry is None or expiry.mode is ExpiryMode.NEVER:
            continue
        if loyalty_domain.is_exempt(programme, currency.code, member.tier):
            continue
        account = book.account(currency.code)
        if expiry.mode is ExpiryMode.AFTER_LAST_ACTIVITY:
            balance = book.ledger.balance(account)
            if balance and member.last_activity_on:
                until = loyalty_domain.balance_valid_until(
                    programme, currency.code, last_activity_on=member.last_activity_on
                )
                if until:
                    found.append(Expiring(currency.code, balance, until))
            continue
        by_day: dict[date, int] = {}
        for bucket in book.ledger.buckets(account):
            if bucket.expires_on and bucket.amount and bucket.expires_on >= today:
                by_day[bucket.expires_on] = by_day.get(bucket.expires_on, 0) + bucket.amount
        found += [Expiring(currency.code, amount, on) for on, amount in sorted(by_day.items())[:6]]
    return sorted(found, key=lambda e: e.on)


def statement(
    session: Session,
    *,
    customer_id: int,
    member_id: int,
    currency: str | None = None,
    kind: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    member = _own_member(session, customer_id, member_id)
    lines = loyalty.statement(
        session,
        actor=PORTAL,
        member_id=member.id,
        currency=currency or None,
        kind=kind or None,
        start=start,
        end=end,
        limit=200,
    )
    return member, lines


# --- requests (cases) -----------------------------------------------------------------


def my_cases(session: Session, *, customer_id: int) -> list[Any]:
    found, _ = cases.list_cases(
        session, actor=PORTAL, customer_id=customer_id, include_closed=True, limit=100
    )
    return found


def _own_case(session: Session, customer_id: int, case_id: int, *, for_update: bool = False):
    try:
        case = cases.get_case(session, actor=PORTAL, case_id=case_id)
    except NotFound:
        case = None
    if case is None or case.customer_id != customer_id:
        raise NotFound(f"request {case_id} not found", field="case_id")
    return case


def conversation(session: Session, *, customer_id: int, case_id: int) -> tuple[Any, list[Any]]:
    """A request of the customer's and what they may read of it: no internal note, nothing a
    partner reported."""
    case = _own_case(session, customer_id, case_id)
    messages = [
        m
        for m in cases.thread(session, actor=PORTAL, case_id=case.id)
        if m.kind in VISIBLE_KINDS and not (m.kind == "inbound" and m.channel == "partner")
    ]
    return case, messages


def attachment(session: Session, *, customer_id: int, case_id: int, attachment_id: int) -> Any:
    case, messages = conversation(session, customer_id=customer_id, case_id=case_id)
    if not any(a.id == attachment_id for m in messages for a in m.attachments):
        raise NotFound(f"attachment {attachment_id} not found", field="attachment_id")
    return cases.attachment(session, actor=PORTAL, case_id=case.id, attachment_id=attachment_id)


def promise(case: Any) -> datetime | None:
    """When we promised to answer (or, once answered, to resolve), if a clock runs."""
    if case.status in ("resolved", "closed"):
        return None
    return case.reply_due_at or case.resolution_due_at


def _sender(session: Session, customer_id: int) -> tuple[str, str | None]:
    person = me(session, customer_id=customer_id)
    return f"{person.first_name} {person.last_name}".strip(), person.email


def reply(
    session: Session,
    *,
    customer_id: int,
    case_id: int,
    body: str,
    attachments: Iterable[AttachmentIn],
    config: CasesConfig,
    now: datetime,
) -> Any:
    """The customer writes on their request: an inbound message of the portal channel, which
    the cases service treats as any other (clocks, reopening, follow-up when closed)."""
    case = _own_case(session, customer_id, case_id)
    body = body.strip()
    if not body:
        raise InvalidInput("write your message", field="body")
    name, email = _sender(session, customer_id)
    return cases.add_inbound(
        session,
        actor=PORTAL,
        case_id=case.id,
        message=InboundIn(
            body_text=body,
            from_name=name,
            from_address=email,
            address_kind="email" if email else None,
            attachments=tuple(attachments),
            channel=str(Channel.PORTAL),
            received_at=now,
        ),
        config=config,
        now=now,
    )


def open_request(
    session: Session,
    *,
    customer_id: int,
    subject: str,
    body: str,
    category: str | None,
    attachments: Iterable[AttachmentIn],
    language: str,
    config: CasesConfig,
    now: datetime,
) -> Any:
    """A new request from the portal: the same intake, acknowledgement and promise as any
    channel (the ``portal`` SLA policy)."""
    subject, body = " ".join(subject.split()), body.strip()
    if not subject:
        raise InvalidInput("give your request a subject", field="subject")
    if not body:
        raise InvalidInput("write your message", field="body")
    name, email = _sender(session, customer_id)
    return cases.open_case(
        session,
        actor=PORTAL,
        details=CaseDetails(
            channel=Channel.PORTAL,
            subject=subject[:300],
            category=category or None,
            language=language,
            customer_id=customer_id,
        ),
        message=InboundIn(
            body_text=body,
            subject=subject[:300],
            from_name=name,
            from_address=email,
            address_kind="email" if email else None,
            attachments=tuple(attachments),
            received_at=now,
        ),
        config=config,
        now=now,
    )


# --- consents -------------------------------------------------------------------------


def consents(session: Session, *, customer_id: int) -> dict[tuple[str, str], Any]:
    history = customers.consent_history(session, actor=PORTAL, customer_id=customer_id)
    return {(c.purpose, c.channel): c for c in customers.current_consents(history)}


def change_consent(
    session: Session, *, customer_id: int, purpose: str, channel: str, granted: bool, now: datetime
) -> Any:
    current = consents(session, customer_id=customer_id).get((purpose, channel))
    if current is not None and current.granted == granted:
        return current
    return customers.record_consent(
        session,
        actor=PORTAL,
        customer_id=customer_id,
        data=ConsentCreate(
            purpose=purpose,
            channel=channel,
            granted=granted,
            source="portal",
            proof=f"changed by the customer in the portal at {now.isoformat()}",
        ),
    )


# --- my data --------------------------------------------------------------------------


def export(session: Session, *, customer_id: int) -> dict[str, Any]:
    """Everything Égards holds about the customer (GDPR articles 15 and 20)."""
    return customers.export_customer(session, actor=PORTAL, customer_id=customer_id)


def my_privacy_requests(session: Session, *, customer_id: int) -> list[PrivacyRequest]:
    return list(
        session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.customer_id == customer_id)
            .order_by(PrivacyRequest.id.desc())
        )
    )


def ask_privacy(
    session: Session,
    *,
    customer_id: int,
    kind: str,
    details: str,
    mail_from: str,
    now: datetime,
) -> PrivacyRequest:
    """A request to erase or rectify, with its one-month clock (article 12(3))."""
    try:
        wanted = PrivacyKind(kind)
    except ValueError:
        raise InvalidInput("choose erasure or rectification", field="kind") from None
    details = details.strip()
    if wanted is PrivacyKind.RECTIFICATION and len(details) < 5:
        raise InvalidInput("say what is wrong and what it should be", field="details")
    if len(details) > 4000:
        raise InvalidInput("4,000 characters at most", field="details")
    pending = [
        r
        for r in my_privacy_requests(session, customer_id=customer_id)
        if r.kind == wanted and r.status in OPEN_PRIVACY
    ]
    if pending:
        return pending[0]
    received = now.astimezone(PARIS).date()
    request = PrivacyRequest(
        customer_id=customer_id,
        kind=wanted,
        details=details,
        status=PrivacyStatus.RECEIVED,
        received_at=now,
        due_on=privacy_due(received),
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=PORTAL,
        action=f"privacy.{wanted}_requested",
        entity_type="privacy_request",
        entity_id=request.id,
        customer_id=customer_id,
        after={"kind": str(wanted), "due_on": request.due_on.isoformat()},
    )
    customers.record_event(
        session,
        actor=PORTAL,
        customer_id=customer_id,
        kind=f"privacy.{wanted}_requested",
        summary=f"Asked for {wanted} of their data (answer due {request.due_on.isoformat()})",
        channel="web",
        ref_type="privacy_request",
        ref_id=str(request.id),
        occurred_at=now,
    )
    _tell(session, request, mail_from=mail_from, now=now, event="received")
    return request


_NOTICES = {
    "received": (
        "Nous avons bien reçu votre demande de {kind_fr}. Nous vous répondrons au plus tard "
        "le {due_fr}.",
        "We have received your request for {kind}. We will answer by {due}.",
    ),
    "extended": (
        "Votre demande de {kind_fr} demande plus de temps : nous vous répondrons au plus tard "
        "le {due_fr}. Raison : {reason}",
        "Your request for {kind} needs more time: we will answer by {due}. Why: {reason}",
    ),
    "done": (
        "Votre demande de {kind_fr} est traitée. {reason}",
        "Your request for {kind} has been carried out. {reason}",
    ),
    "refused": (
        "Nous ne pouvons pas donner suite à votre demande de {kind_fr}. Raison : {reason}",
        "We cannot carry out your request for {kind}. Why: {reason}",
    ),
}
_KIND_FR = {"erasure": "suppression de vos données", "rectification": "rectification"}


def _tell(
    session: Session, request: PrivacyRequest, *, mail_from: str, now: datetime, event: str
) -> None:
    to = customers.primary_email(session, request.customer_id)
    if not to:
        return
    person = me(session, customer_id=request.customer_id)
    french = person.language == "fr"
    due = request.due_on
    values = {
        "kind": f"{request.kind} of your data",
        "kind_fr": _KIND_FR.get(request.kind, request.kind),
        "due": loyalty_domain.format_date(due, "en"),
        "due_fr": loyalty_domain.format_date(due, "fr"),
        "reason": request.outcome or request.extension_reason or "",
    }
    text = _NOTICES[event][0 if french else 1].format(**values).strip()
    outbox.enqueue_email(
        session,
        key=f"{PRIVACY_KEY}{request.id}:{event}",
        sender=mail_from,
        to=to,
        subject="Votre demande sur vos données" if french else "Your request about your data",
        body=text + "\n",
        now=now,
        ref_type="privacy_request",
        ref_id=request.id,
    )


# --- the staff's queue ----------------------------------------------------------------


def privacy_queue(
    session: Session, *, actor: Actor, include_closed: bool = False
) -> list[PrivacyRequest]:
    """Requests by due day, soonest first (the open ones only unless asked)."""
    actor.require(Permission.GDPR_EXPORT)
    query = select(PrivacyRequest).order_by(PrivacyRequest.due_on, PrivacyRequest.id)
    if not include_closed:
        query = query.where(PrivacyRequest.status.in_([str(s) for s in OPEN_PRIVACY]))
    return list(session.scalars(query.limit(500)))


def _open_request(session: Session, request_id: int) -> PrivacyRequest:
    request = session.get(PrivacyRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(f"privacy request {request_id} not found", field="request_id")
    return request


def extend_privacy(
    session: Session, *, actor: Actor, request_id: int, reason: str, mail_from: str, now: datetime
) -> PrivacyRequest:
    """Two more months, once, with the reason the customer is sent."""
    actor.require(Permission.GDPR_EXPORT)
    request = _open_request(session, request_id)
    reason = domain.check_extension(request.status, reason)
    before = request.due_on
    request.status = PrivacyStatus.EXTENDED
    request.extension_reason = reason
    request.due_on = privacy_due(request.received_at.astimezone(PARIS).date(), extended=True)
    audit.record(
        session,
        actor=actor,
        action="privacy.extended",
        entity_type="privacy_request",
        entity_id=request.id,
        customer_id=request.customer_id,
        before={"due_on": before.isoformat()},
        after={"due_on": request.due_on.isoformat()},
        reason=reason,
    )
    customers.record_event(
        session,
        actor=actor,
        customer_id=request.customer_id,
        kind="privacy.extended",
        summary=f"Privacy request extended to {request.due_on.isoformat()}",
        ref_type="privacy_request",
        ref_id=str(request.id),
        occurred_at=now,
    )
    _tell(session, request, mail_from=mail_from, now=now, event="extended")
    session.flush()
    return request


def decide_privacy(
    session: Session,
    *,
    actor: Actor,
    request_id: int,
    done: bool,
    outcome: str,
    mail_from: str,
    now: datetime,
) -> PrivacyRequest:
    """Close a request: carried out, or refused with the reason the customer is sent. (An
    erasure itself is done on the customer's file, `POST /customers/{id}/erase`.)"""
    actor.require(Permission.GDPR_EXPORT)
    request = _open_request(session, request_id)
    if request.status not in OPEN_PRIVACY:
        raise InvalidInput("this request is already closed", field="status")
    outcome = " ".join(outcome.split())
    if not done and len(outcome) < 10:
        raise InvalidInput("give the customer the reason (10 characters or more)", field="outcome")
    request.status = PrivacyStatus.DONE if done else PrivacyStatus.REFUSED
    request.outcome = outcome or None
    request.decided_at = now
    request.decided_by = actor.label
    _tell(session, request, mail_from=mail_from, now=now, event=str(request.status))
    audit.record(
        session,
        actor=actor,
        action=f"privacy.{request.status}",
        entity_type="privacy_request",
        entity_id=request.id,
        customer_id=request.customer_id,
        after={"status": str(request.status)},
        reason=outcome or None,
    )
    if customers.statuses(session, [request.customer_id]).get(request.customer_id) == "active":
        customers.record_event(
            session,
            actor=actor,
            customer_id=request.customer_id,
            kind=f"privacy.{request.status}",
            summary=f"Privacy request {request.id} {request.status}",
            ref_type="privacy_request",
            ref_id=str(request.id),
            occurred_at=now,
        )
    session.flush()
    return request


# --- GDPR hooks -----------------------------------------------------------------------


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """Sign-ins and privacy requests, for the customer's export."""
    links = session.scalars(select(SignInLink).where(SignInLink.customer_id == customer_id))
    sessions = session.scalars(
        select(PortalSession).where(PortalSession.customer_id == customer_id)
    )
    return {
        "sign_in_links": [
            {"sent_at": link.created_at.isoformat(), "used_at": _iso(link.used_at)}
            for link in links
        ],
        "sessions": [
            {"started_at": s.created_at.isoformat(), "ended_at": _iso(s.ended_at)} for s in sessions
        ],
        "privacy_requests": [
            {
                "kind": r.kind,
                "details": r.details,
                "status": r.status,
                "received_at": r.received_at.isoformat(),
                "due_on": r.due_on.isoformat(),
                "extension_reason": r.extension_reason,
                "outcome": r.outcome,
            }
            for r in my_privacy_requests(session, customer_id=customer_id)
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Links and sessions go (every session ends with them); a privacy request keeps its
    kind, status and dates, as the record that it was answered, and loses its texts."""
    ids = erasure.customer_ids
    session.execute(delete(SignInLink).where(SignInLink.customer_id.in_(ids)))
    session.execute(delete(PortalSession).where(PortalSession.customer_id.in_(ids)))
    session.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.customer_id.in_(ids))
        .values(details=ERASED, extension_reason=None, outcome=None)
        .execution_options(synchronize_session=False)
    )
