"""Finding the contract of a request without telling a stranger anything, the recap's
preview for the holder, and the portal's signed link that shows an offer beside the path.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.config import Settings
from egards.customers import service as customers
from egards.i18n import translate
from egards.subscriptions import acknowledgement as ack
from egards.subscriptions import domain
from egards.subscriptions.domain import Status
from egards.subscriptions.models import (
    Subscription,
)
from egards.subscriptions.schemas import CancellationCreate
from egards.subscriptions.service._common import (
    PUBLIC,
    _offer,
    terms_of,
)


@dataclass(frozen=True)
class Match:
    subscription: Subscription | None
    customer: Any
    holder_confirmed: bool  # the e-mail given is the holder's: the page may show the details


def _match(session: Session, data: CancellationCreate) -> Match:
    reference = domain.normalise_reference(data.reference)
    subscription = session.scalar(select(Subscription).where(Subscription.reference == reference))
    if subscription is None:
        return Match(None, None, False)
    customer = customers.get_customer(session, actor=PUBLIC, customer_id=subscription.customer_id)
    if customer.status != "active" or not domain.name_matches(
        data.name, customer.first_name, customer.last_name
    ):
        return Match(None, None, False)
    if data.line_number and subscription.line_numbers:
        given = domain.normalise_line(data.line_number)
        if given not in {domain.normalise_line(n) for n in subscription.line_numbers}:
            return Match(None, None, False)
    emails = {i.value.casefold() for i in customer.identities if i.kind == "email"}
    confirmed = bool(data.email) and str(data.email).casefold() in emails
    return Match(subscription, customer, confirmed)


@dataclass(frozen=True)
class Preview:
    """What the recap page may say: the end date and fee only to the contract's holder."""

    plan: domain.EndPlan | None
    subscription: Subscription | None


def preview(session: Session, *, data: CancellationCreate, today: date) -> Preview:
    found = _match(session, data)
    if found.subscription is None or not found.holder_confirmed:
        return Preview(None, None)
    plan = domain.plan_end(
        terms_of(found.subscription),
        received_on=today,
        desired=data.desired_end,
        legitimate_reason=data.legitimate_reason,
    )
    return Preview(plan, found.subscription)


def portal_token(settings: Settings, reference: str) -> str:
    """What the portal's link carries to show the holder their retention offer beside the
    path (the page shows no offer to a visitor without it)."""
    key = settings.resolved_secret_key.encode()
    message = f"cancel:{domain.normalise_reference(reference)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def offer_for_token(
    session: Session, *, settings: Settings, reference: str, token: str, lang: str, today: date
) -> dict[str, Any] | None:
    """The customer-facing offer shown beside the path, for a valid portal link only."""
    if not reference or not token:
        return None
    if not hmac.compare_digest(portal_token(settings, reference), token):
        return None
    subscription = session.scalar(
        select(Subscription).where(Subscription.reference == domain.normalise_reference(reference))
    )
    if subscription is None or subscription.status not in (Status.ACTIVE, Status.WON_BACK):
        return None
    offer = _offer(session, subscription, None, today)
    if not offer.chases:
        return None
    return {
        "kind": offer.kind,
        "amount_cents": offer.amount_cents,
        "text": _public_offer(offer, lang),
    }


def _public_offer(offer: domain.RetentionOffer, lang: str) -> str:
    return translate(
        lang,
        "Before you go: as a loyal customer we can give you {amount} off your next bills or find"
        " you a better-suited plan. Call us or answer our message; nothing obliges you.",
        amount=ack.format_money(offer.amount_cents, lang),
    )
