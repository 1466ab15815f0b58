"""What the portal's use cases share: the actor standing for the signed-in customer, the
customer's own name and address, the outbox keys, the zone promises are told in."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission, Role
from egards.customers import service as customers

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
