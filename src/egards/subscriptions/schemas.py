"""Input and output schemas of subscriptions and cancellation requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from egards.schemas import Input
from egards.subscriptions.domain import (
    LEGITIMATE_REASONS,
    REASONS,
    REQUEST_CHANNELS,
    SOLD_CHANNELS,
    normalise_reference,
)

BigId = Field(ge=1, le=2**63 - 1)
Reason: TypeAlias = Literal[tuple(REASONS)]  # type: ignore[valid-type]
Legitimate: TypeAlias = Literal[tuple(LEGITIMATE_REASONS)]  # type: ignore[valid-type]


def _check_lines(value: list[str] | None) -> list[str] | None:
    for number in value or ():
        if not 4 <= len(number) <= 20 or not all(c.isdigit() or c in "+ .-" for c in number):
            raise ValueError(f"{number!r} is not a line number")
    return value


class _In(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubscriptionCreate(_In):
    customer_id: int = BigId
    reference: str = Field(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_.]*$")
    kind: Literal["telecom", "retail"] = "telecom"
    offer: str = Field(min_length=1, max_length=200)
    plan: str | None = Field(default=None, max_length=200)
    line_numbers: list[str] = Field(default_factory=list, max_length=10)
    start_date: date
    commitment_end: date | None = None
    notice_days: int = Field(default=0, ge=0, le=365)
    price_cents: int = Field(ge=0, le=10_000_000, description="Monthly price, integer cents.")
    early_fee_percent: int = Field(default=25, ge=0, le=100)
    equipment: str | None = Field(default=None, max_length=200)
    sold_channel: Literal[tuple(SOLD_CHANNELS)] = "web"  # type: ignore[valid-type]
    sold_silo: str = Field(default="shop", min_length=1, max_length=40)
    organisation_id: int | None = Field(default=None, ge=1, le=2**31 - 1)

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str) -> str:
        return normalise_reference(value)

    _lines = field_validator("line_numbers")(classmethod(lambda cls, v: _check_lines(v)))

    @field_validator("commitment_end")
    @classmethod
    def _commitment(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start_date")
        if value is not None and start is not None and value < start:
            raise ValueError("the commitment ends before the contract starts")
        return value


class SubscriptionUpdate(_In):
    """A change of plan, price, lines or equipment (the terms of the end stay as signed)."""

    offer: str | None = Field(default=None, min_length=1, max_length=200)
    plan: str | None = Field(default=None, max_length=200)
    line_numbers: list[str] | None = Field(default=None, max_length=10)
    price_cents: int | None = Field(default=None, ge=0, le=10_000_000)
    equipment: str | None = Field(default=None, max_length=200)

    _lines = field_validator("line_numbers")(classmethod(lambda cls, v: _check_lines(v)))


class SuspensionCreate(_In):
    """A pause of a running contract, from today until ``resumes_on`` (7 days to six months):
    not billed meanwhile, the commitment moves by as many days."""

    resumes_on: date
    note: str | None = Field(default=None, max_length=300)


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    reference: str
    kind: str
    offer: str
    plan: str | None
    line_numbers: list[str]
    start_date: date
    commitment_end: date | None
    notice_days: int
    price_cents: int
    early_fee_percent: int
    equipment: str | None
    status: str
    ends_on: date | None
    resumes_on: date | None = None
    sold_channel: str
    sold_silo: str
    organisation_id: int | None
    created_at: datetime


class StatusChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    from_status: str | None
    to_status: str
    actor_label: str
    note: str | None


class CancellationCreate(_In):
    """A cancellation request, from any channel. ``email`` or ``postal_address`` is where the
    person asks the acknowledgement to go; it always goes to the contract's own address."""

    name: str = Field(min_length=2, max_length=200)
    reference: str = Field(min_length=3, max_length=60)
    email: EmailStr | None = None
    postal_address: str | None = Field(default=None, max_length=500)
    line_number: str | None = Field(default=None, max_length=40)
    desired_end: date | None = None
    reason: Reason | None = None
    reason_text: str | None = Field(default=None, max_length=2000)
    legitimate_reason: Legitimate | None = None
    language: Literal["fr", "en"] = "fr"
    channel: Literal[tuple(REQUEST_CHANNELS)] = "web"  # type: ignore[valid-type]
    received_at: datetime | None = None

    @field_validator(
        "email", "postal_address", "line_number", "reason", "reason_text", "legitimate_reason",
        "desired_end", mode="before",
    )  # fmt: skip
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class CancellationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    subscription_id: int | None
    customer_id: int | None
    channel: str
    status: str
    language: str
    reference_given: str
    desired_end: date | None
    reason: str | None
    reason_text: str | None
    legitimate_reason: str | None
    end_date: date | None
    fee_cents: int
    received_at: datetime
    acknowledged_at: datetime | None
    case_id: int | None
    offer: dict[str, Any] | None
    outcome: str | None
    outcome_at: datetime | None
    winback_due_on: date | None
    winback_channel: str | None
    winback_done_at: datetime | None
    won_back_at: datetime | None


class OutcomeCreate(_In):
    outcome: Literal["cancelled", "stayed_with_offer", "stayed_without"]
    note: str | None = Field(default=None, max_length=300)
