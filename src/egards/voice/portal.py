"""The customer's own space: the satisfaction surveys they may still answer."""

from __future__ import annotations

from sqlalchemy.orm import Session

from egards.db import utcnow
from egards.i18n import translate
from egards.voice import service
from egards.web.panels import PortalPanel


def pending_surveys(session: Session, customer_id: int, locale: str) -> PortalPanel | None:
    found = service.pending_surveys(session, customer_id=customer_id, now=utcnow())
    if not found:
        return None
    return PortalPanel(
        key="surveys",
        title=translate(locale, "Your opinion"),
        template="voice/_portal_panel.html",
        context={"surveys": found},
        order=80,
    )


panels = [pending_surveys]
