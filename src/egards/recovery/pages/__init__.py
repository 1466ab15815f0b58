"""Console pages of service recovery: the panel on a case and on the customer 360, the offer
page (the recommender's three proposals and any gesture of the catalogue), the agent's home
(budget, requests, letters to post, signature), the supervisors' approvals, budgets, returns,
exceptions, events, and the catalogue with its letter templates.

Every write runs inside a savepoint: a refused request (a ``DomainError``) is shown on the
page that was filled in, naming the field, and leaves nothing half-done behind it.

The pages live in modules named for what they do (``_common`` holds the router and the form
helpers); importing them here registers their routes on the one router.
"""

from __future__ import annotations

from egards.recovery.pages import (  # noqa: F401 (each module adds its routes to the router)
    catalogue,
    events,
    home,
    offers,
    panels,
    supervision,
)
from egards.recovery.pages._common import NAV, router
from egards.recovery.pages.panels import case_panels, customer_panels

__all__ = ["NAV", "case_panels", "customer_panels", "router"]
