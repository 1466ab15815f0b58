"""The demo's customer portal: one customer to sign in as, and how to get their link."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from egards.accounts.domain import SYSTEM
from egards.cases import service as cases
from egards.customers import service as customers
from egards.db import Database, utcnow
from egards.loyalty import service as loyalty
from egards.portal import service
from egards.portal.settings import get_portal_settings


def demo_customer(db: Database) -> str | None:
    """The address of a customer with an open request and a membership (an airline one if
    any: tiers, XP and miles that expire show the most), to show the portal."""
    fallback = None
    with db.unit_of_work() as session:
        found, _ = cases.list_cases(session, actor=SYSTEM, limit=300)
        for case in found:
            if case.customer_id is None or case.channel == "partner":
                continue
            programmes = {
                m.programme for m in loyalty.members_of(session, customer_id=case.customer_id)
            }
            if not programmes or not (email := customers.primary_email(session, case.customer_id)):
                continue
            if "flying_blue" in programmes:
                return email
            fallback = fallback or email
    return fallback


def _privacy_requests(db: Database) -> int:
    """Two customers' requests about their data, so that the staff's queue shows its clock."""
    asked = [
        ("rectification", "Mon adresse a changé : 12 rue des Lilas, 69003 Lyon."),
        ("erasure", "Je ne suis plus client, merci d'effacer mes données."),
    ]
    with db.unit_of_work() as session:
        found, _ = customers.search_customers(session, actor=SYSTEM, limit=len(asked))
        for customer, (kind, details) in zip(found, asked, strict=False):
            service.ask_privacy(
                session,
                customer_id=customer.id,
                kind=kind,
                details=details,
                mail_from="service-client@demo.egards.fr",
                now=utcnow(),
            )
        return min(len(found), len(asked))


def populate(db: Database, *, seed: int, console: Console | None, summary: Any) -> None:
    email = demo_customer(db)
    if email is None:
        summary.features["portal"] = "no customer with a membership and a request to show"
        return
    waiting = _privacy_requests(db)
    base = get_portal_settings().base_url
    summary.features["portal"] = (
        f"the customer's own space is at {base}/my; sign in as {email}. No mail leaves the "
        f"demo: `egards portal sign-in-link {email}` prints their link (the sign-in page "
        f"queues the same one in the outbox). {waiting} privacy requests wait at "
        "/privacy-requests."
    )
