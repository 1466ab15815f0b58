"""Shapes of the service-recovery API: ``XCreate``/``XIn`` in, ``XRead`` out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from egards.schemas import Input

BigId = Field(ge=1, le=2**63 - 1)


class _In(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LetterIn(_In):
    template_code: str = Field(min_length=1, max_length=60)
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20_000)
    delivery: Literal["email", "post"] = "email"


class GrantCreate(_In):
    """A gesture for a customer, from a case or from the customer file."""

    customer_id: int = BigId
    case_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    gesture_code: str = Field(min_length=1, max_length=60)
    amount: int | None = Field(
        default=None, ge=1, le=10_000_000, description="Points, or cents for a voucher or credit."
    )
    reason_code: str = Field(min_length=1, max_length=40)
    reason_text: str = Field(min_length=1, max_length=2000)
    key: str | None = Field(
        default=None,
        min_length=1,
        max_length=150,
        pattern=r"^[A-Za-z0-9_.:\-/]+$",
        description="Idempotency key: the same request twice grants once.",
    )
    recommendation_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    event_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    tier_action: Literal["keep", "restore"] | None = None
    letter: LetterIn | None = None


class ApprovalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    reasons: list[str]
    requested_at: datetime
    due_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    customer_id: int
    case_id: int | None
    gesture_code: str
    kind: str
    amount: int | None
    cost_cents: int
    cash_cents: int
    reason_code: str
    reason_text: str
    status: str
    details: dict[str, Any]
    agent_label: str
    team: str
    month: str
    recommended_rank: int | None
    created_at: datetime
    granted_at: datetime | None
    approval: ApprovalRead | None = None


class DecisionIn(_In):
    approve: bool
    reason: str = Field(min_length=1, max_length=2000)


class RecommendIn(_In):
    customer_id: int = BigId
    case_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


class ProposalRead(BaseModel):
    rank: int
    code: str
    kind: str
    expected_cost_cents: int
    cash_cents: int
    score: float
    reason: dict[str, str]
    requires_approval: bool


class RecommendationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    case_id: int | None
    merit: float
    signals: dict[str, Any]
    proposals: list[ProposalRead]


class GestureTypeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    kind: str
    name_fr: str
    name_en: str
    text_fr: str
    text_en: str
    cost_cents: int
    cash_cents: int
    amount: int | None
    min_amount: int | None
    max_amount: int | None
    cost_per_thousand_cents: int | None
    cost_percent: int
    valid_days: int | None
    requires_approval: bool
    active: bool


class GestureTypeSave(_In):
    kind: str | None = Field(default=None, max_length=20, description="Only to create one.")
    name_fr: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    text_fr: str | None = Field(default=None, max_length=2000)
    text_en: str | None = Field(default=None, max_length=2000)
    cost_cents: int | None = Field(default=None, ge=0, le=100_000_000)
    amount: int | None = Field(default=None, ge=1, le=10_000_000)
    min_amount: int | None = Field(default=None, ge=1, le=10_000_000)
    max_amount: int | None = Field(default=None, ge=1, le=10_000_000)
    cost_per_thousand_cents: int | None = Field(default=None, ge=1, le=1_000_000)
    cost_percent: int | None = Field(default=None, ge=0, le=100)
    valid_days: int | None = Field(default=None, ge=1, le=3650)
    requires_approval: bool | None = None
    active: bool | None = None


class BudgetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    scope: str
    owner: str
    month: str
    limit_cents: int
    spent_cents: int


class BudgetSet(_In):
    scope: Literal["agent", "team"]
    owner: str = Field(min_length=1, max_length=60)
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    limit_cents: int = Field(ge=0, le=100_000_000)


class VoucherRedeem(_In):
    reference: str = Field(min_length=1, max_length=200, description="Order, booking or till.")


class VoucherRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    kind: str
    customer_id: int
    value_cents: int
    expires_on: date
    redeemed_at: datetime | None
    redeemed_ref: str | None


class EventCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    place: str = Field(min_length=1, max_length=200)
    starts_at: datetime
    capacity: int = Field(ge=1, le=100_000)
    description: str = Field(default="", max_length=5000)


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    place: str
    starts_at: datetime
    capacity: int
    seats_taken: int
    description: str


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    customer_id: int
    grant_id: int
    status: str


class InvitationUpdate(_In):
    status: Literal["accepted", "declined", "attended", "absent"]


class ExceptionCreate(_In):
    case_id: int = BigId
    rule: str = Field(min_length=1, max_length=60)
    why: str = Field(min_length=1, max_length=5000)
    remedy: str = Field(min_length=1, max_length=5000)


class ExceptionOutcome(_In):
    outcome: Literal["stayed", "left", "unknown"]
    note: str = Field(default="", max_length=2000)


class ExceptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    customer_id: int | None
    rule: str
    why: str
    remedy: str
    status: str
    proposed_by: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    outcome: str | None
    outcome_note: str | None
    created_at: datetime


class LetterDraftIn(_In):
    customer_id: int = BigId
    case_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    template_code: str = Field(min_length=1, max_length=60)


class LetterDraft(BaseModel):
    template_code: str
    language: str
    subject: str
    body: str


class LetterTemplateSave(_In):
    name: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20_000)
