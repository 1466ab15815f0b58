"""What the use cases take in (a customer's message, its attachments, a new case's details)
and what opening a case gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from egards.cases.domain import Channel, Priority
from egards.cases.models import Case, CaseMessage


@dataclass(frozen=True)
class AttachmentIn:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class InboundIn:
    """One message from a customer, whatever the channel."""

    body_text: str
    subject: str | None = None
    body_html: str | None = None
    from_name: str | None = None
    from_address: str | None = None
    address_kind: str | None = None
    """email, phone or social: how ``from_address`` identifies a person."""
    network: str = ""
    to_address: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    attachments: tuple[AttachmentIn, ...] = ()
    raw_id: int | None = None
    received_at: datetime | None = None
    channel: str | None = None
    """Where a later message of a case came in, when not the case's own channel (a reply
    from the customer portal on a case opened by e-mail)."""


@dataclass(frozen=True)
class CaseDetails:
    channel: Channel
    subject: str
    category: str | None = None
    priority: Priority = Priority.NORMAL
    team: str | None = None
    language: str | None = None
    loyalty_tier: str | None = None
    tags: tuple[str, ...] = ()
    customer_id: int | None = None
    organisation_id: int | None = None
    audience: int | None = None
    """Followers of the social profile that wrote, when the channel tells."""


@dataclass
class Opened:
    case: Case
    message: CaseMessage
    acknowledgement: CaseMessage | None = None
    refused_attachments: list[str] = field(default_factory=list)
