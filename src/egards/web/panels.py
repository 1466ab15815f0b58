"""Blocks that features contribute to pages they do not own.

The customer 360 page and the case page show the :class:`Panel` each feature's
``pages.customer_panels(session, actor, customer)`` and ``pages.case_panels(session, actor,
case)`` return, in dependency order.

The customer portal (``/my``) shows, for the signed-in customer, the panels each feature lists
in its ``portal.panels``: callables ``(session, customer_id, locale) -> PortalPanel | None``.
The portal knows nothing else about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Panel:
    """A block of a console page another feature owns (the customer 360 page, the case page)."""

    template: str
    context: dict[str, Any]
    column: str = "main"  # "side" (left, narrow) or "main"


@dataclass(frozen=True)
class PortalPanel:
    """A block of the customer's own space: its anchor, heading, template and context."""

    key: str  # the anchor and the menu entry, e.g. "subscriptions"
    title: str  # already in the reader's language
    template: str  # a Jinja template of the contributing feature, e.g. "subscriptions/portal.html"
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100  # smaller first
