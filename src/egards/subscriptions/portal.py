"""The customer's contracts in their own space, each with its « Résilier votre contrat » link
(signed, so the cancellation page may show the holder a retention offer beside the path)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from egards.config import get_settings
from egards.subscriptions import service
from egards.web.i18n import translate
from egards.web.panels import PortalPanel


def contracts(session: Session, customer_id: int, locale: str) -> PortalPanel | None:
    rows = service.customer_subscriptions(session, customer_id=customer_id)
    if not rows:
        return None
    settings = get_settings()
    return PortalPanel(
        key="subscriptions",
        title=translate(locale, "My contracts"),
        template="subscriptions/portal.html",
        context={
            "rows": rows,
            "tokens": {s.id: service.portal_token(settings, s.reference) for s in rows},
        },
        order=30,
    )


panels = [contracts]
