"""What the signed-in customer sees and does: memberships with their explanation and what
expires, the statement, their requests and the conversation, replies and new requests through
the cases' intake, consents, and their data's export.

Every object named in a URL (a membership, a case, an attachment) is checked to belong to the
customer; anything else is "not found", whether it exists or not."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from egards.cases import service as cases
from egards.cases.domain import Channel
from egards.cases.service import AttachmentIn, CaseDetails, CasesConfig, InboundIn
from egards.customers import service as customers
from egards.customers.schemas import ConsentCreate
from egards.errors import InvalidInput, NotFound
from egards.i18n import N_
from egards.loyalty import domain as loyalty_domain
from egards.loyalty import service as loyalty
from egards.loyalty.programme import ExpiryMode
from egards.portal.service._common import (
    PORTAL,
    VISIBLE_KINDS,
    me,
)


def _own_member(session: Session, customer_id: int, member_id: int) -> Any:
    for member in loyalty.members_of(session, customer_id=customer_id):
        if member.id == member_id:
            return member
    raise NotFound(N_("membership {member_id} not found"), member_id=member_id, field="member_id")


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
    book = loyalty.resume_book(session, member, posting=False)  # a reader: no cap usage
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
        raise NotFound(N_("request {case_id} not found"), case_id=case_id, field="case_id")
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
        raise NotFound(
            N_("attachment {attachment_id} not found"),
            attachment_id=attachment_id,
            field="attachment_id",
        )
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
        raise InvalidInput(N_("write your message"), field="body")
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
        raise InvalidInput(N_("give your request a subject"), field="subject")
    if not body:
        raise InvalidInput(N_("write your message"), field="body")
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


def export(session: Session, *, customer_id: int) -> dict[str, Any]:
    """Everything Égards holds about the customer (GDPR articles 15 and 20)."""
    return customers.export_customer(session, actor=PORTAL, customer_id=customer_id)
