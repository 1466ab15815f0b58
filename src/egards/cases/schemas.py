"""Shapes of the cases API: ``XCreate`` in, ``XRead`` out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, computed_field

from egards.cases.domain import CaseStatus, Priority, format_case_number
from egards.schemas import Input, Page

Text = Field(min_length=1, max_length=20_000)
# Followers: a whole number, never negative, never a string or a float ("12k" is refused).
StrictAudience = Annotated[int, Field(strict=True, ge=0, le=10**10)]


class _In(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CaseLogCreate(_In):
    """A phone call, a shop visit, a letter typed in, or an e-mail forwarded by an agent."""

    channel: Literal["phone", "shop", "letter", "email", "partner"]
    customer_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: EmailStr | None = None
    subject: str = Field(min_length=1, max_length=300)
    message: str = Text
    category: str | None = Field(default=None, max_length=60)
    priority: Priority = Priority.NORMAL
    team: str | None = Field(default=None, max_length=40)
    language: Literal["fr", "en"] | None = None
    loyalty_tier: str | None = Field(default=None, max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=20)
    organisation_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    answered_on_the_spot: bool = Field(
        default=False, description="The agent answered during the call or visit."
    )


class PartnerReportCreate(_In):
    """What a partner (installer, shop) reports about a customer assigned to it."""

    customer_id: int = Field(ge=1, le=2**63 - 1)
    subject: str = Field(min_length=1, max_length=300)
    message: str = Text
    category: str | None = Field(default=None, max_length=60)
    priority: Priority = Priority.NORMAL


class WebFormCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    phone: str | None = Field(default=None, max_length=40)
    subject: str = Field(min_length=1, max_length=300)
    message: str = Text
    category: str | None = Field(default=None, max_length=60)
    language: Literal["fr", "en"] | None = None
    website: str | None = Field(default=None, description="Leave empty (spam trap).")


class SocialMentionCreate(_In):
    network: Literal["x", "instagram", "facebook", "linkedin", "tiktok", "other"]
    handle: str = Field(min_length=1, max_length=100)
    author_name: str | None = Field(default=None, max_length=200)
    text: str = Field(min_length=1, max_length=5000)
    url: str | None = Field(default=None, max_length=1000)
    external_id: str = Field(min_length=1, max_length=200)
    language: Literal["fr", "en"] | None = None
    kind: Literal["mention", "direct_message"] = "mention"
    followers: StrictAudience | None = Field(
        default=None, description="The author's followers (audience) when the post was seen."
    )
    verified: bool = False
    profile_url: str | None = Field(default=None, max_length=1000)
    bio: str | None = Field(default=None, max_length=2000)
    location: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = Field(default=None, description="Verified e-mail on the profile.")
    phone: str | None = Field(default=None, max_length=40)
    posted_at: datetime | None = None


class ReplyCreate(_In):
    body: str = Text
    then_status: Literal["waiting_on_customer", "waiting_on_partner", "resolved"] | None = None


class NoteCreate(_In):
    body: str = Text


class StatusChange(_In):
    status: CaseStatus
    reason: str | None = Field(default=None, max_length=2000)


class SatisfactionIn(_In):
    score: int = Field(ge=1, le=5, description="CSAT: 1 (very unhappy) to 5 (very happy).")


class CaseUpdate(_In):
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    category: str | None = Field(default=None, max_length=60)
    priority: Priority | None = None
    team: str | None = Field(default=None, max_length=40)
    tags: list[str] | None = Field(default=None, max_length=20)
    loyalty_tier: str | None = Field(default=None, max_length=40)
    organisation_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


class AssigneeChange(_In):
    assignee_id: int | None = Field(ge=1, le=2**63 - 1)


class CustomerLink(_In):
    customer_id: int = Field(ge=1, le=2**63 - 1)


class CaseLinkCreate(_In):
    linked_case_id: int = Field(ge=1, le=2**63 - 1)
    kind: Literal["related", "duplicate_of"] = "related"


class AgentProfileUpdate(_In):
    teams: list[str] = Field(min_length=1, max_length=10)
    languages: list[Literal["fr", "en"]] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list, max_length=30)
    accepting: bool = True


class SlaRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sla_policy: str
    sla_state: str
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    first_response_breached: bool | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None
    awaiting_since: datetime | None
    reply_due_at: datetime | None
    at_risk_at: datetime | None


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int | None
    organisation_id: int | None
    channel: str
    team: str
    subject: str
    category: str | None
    priority: str
    status: str
    language: str
    assignee_id: int | None
    tags: list[str]
    sender_name: str | None
    sender_address: str | None
    created_at: datetime
    updated_at: datetime
    closure_reason: str | None
    service_level: str | None = Field(
        default=None, description="Service level of the sender's tier at intake (entitlement)."
    )
    audience: int | None = Field(default=None, description="Followers of a social author.")
    public_exposure: bool = Field(
        default=False, description="A post with a large audience, routed to the social team."
    )

    @computed_field
    @property
    def number(self) -> str:
        return format_case_number(self.id)

    satisfaction: int | None = None


class CaseDetailRead(CaseRead):
    sla: SlaRead


class CaseOpened(BaseModel):
    case: CaseDetailRead
    acknowledgement: str | None = Field(description="The acknowledgement text, if one was made.")
    acknowledgement_delivery: str | None = None
    refused_attachments: list[str] = Field(default_factory=list)


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    accepted: bool
    refusal: str | None


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    kind: str
    channel: str
    author_label: str
    from_address: str | None
    to_address: str | None
    subject: str | None
    body_text: str
    body_html: str | None
    message_id: str | None
    awaiting_answer: bool
    delivery: str | None
    """E-mails we sent: queued, retrying, sent or not_delivered; else manual, shown, none."""
    delivery_error: str | None = None
    """Why the last attempt to send failed."""
    created_at: datetime
    attachments: list[AttachmentRead] = Field(default_factory=list)


class CasePage(Page[CaseDetailRead]):
    pass


class SilenceItem(BaseModel):
    case: CaseDetailRead
    waiting_messages: int
    seconds_left: int | None


class SilenceRead(BaseModel):
    waiting: int
    past_promise: int
    unreadable: int
    items: list[SilenceItem]


class EmailReceived(BaseModel):
    raw_id: int
    status: str
    case_id: int | None
    kind: str | None
    acknowledged: bool


class WebFormReceived(BaseModel):
    status: str = "received"
    number: str | None = None
    acknowledgement: str | None = None


class CustomerSuggestion(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str
    last_name: str
    city: str | None
