from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from egards.loyalty.domain import MAX_AMOUNT_CENTS
from egards.schemas import Input

Key = Field(min_length=1, max_length=150, pattern=r"^[A-Za-z0-9_.:\-/]+$")
# Rules compare attributes as JSON numbers: beyond 2^53 a number is no longer exact in JSON
# (and beyond 2^63 no longer storable), so larger ones are refused by name.
EXACT_INTEGER = 2**53 - 1
# Negative amounts within the bound reach the rules' own refusal (refunds reverse).
Cents = Annotated[int, Field(ge=-MAX_AMOUNT_CENTS, le=MAX_AMOUNT_CENTS)]


class Strict(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ActivityCreate(Strict):
    """An activity to count: `amounts` in integer cents by component, `attributes` for rules."""

    key: str = Key
    member_number: str | None = Field(default=None, min_length=1, max_length=40)
    customer_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    kind: str = Field(min_length=1, max_length=40)
    on: date
    amounts: dict[str, Cents] = Field(default_factory=dict, max_length=20)
    attributes: dict[str, str | int | bool] = Field(default_factory=dict, max_length=30)
    quantity: int = Field(default=1, ge=1, le=10_000)
    reverses: str | None = Field(default=None, min_length=1, max_length=150)

    @field_validator("attributes")
    @classmethod
    def _exact_numbers(cls, attributes: dict[str, str | int | bool]) -> dict:
        for name, value in attributes.items():
            if isinstance(value, int) and not -EXACT_INTEGER <= value <= EXACT_INTEGER:
                raise ValueError(
                    f"{name!r} is {value}, beyond ±{EXACT_INTEGER:,} (2^53 - 1), the largest "
                    "integer exact in JSON"
                )
        return attributes

    @model_validator(mode="after")
    def _who(self) -> ActivityCreate:
        if (self.member_number is None) == (self.customer_id is None):
            raise ValueError("give exactly one of member_number or customer_id")
        return self


class ActivityResult(BaseModel):
    key: str
    status: str  # applied | parked
    member_number: str
    earnings: list[dict[str, Any]] = []
    tier: str | None = None
    tier_events: list[str] = []


class BulkActivities(Strict):
    activities: list[ActivityCreate] = Field(min_length=1, max_length=1000)


class BulkItemResult(BaseModel):
    index: int
    key: str
    ok: bool
    result: ActivityResult | None = None
    error: dict[str, Any] | None = None


class EnrolRequest(Strict):
    customer_id: int = Field(ge=1, le=2**63 - 1)
    programme: str = Field(min_length=1, max_length=40)
    on: date | None = None


class RedemptionCreate(Strict):
    key: str = Key
    currency: str = Field(min_length=1, max_length=20)
    amount: int = Field(ge=1, le=100_000_000)
    hold: bool = Field(default=False, description="Reserve now, settle or void later.")
    memo: str = Field(default="", max_length=500)


class HoldDecision(Strict):
    key: str = Key


class TierException(Strict):
    tier: str = Field(min_length=1, max_length=40)
    justification: str = Field(min_length=10, max_length=2000)


class BalanceRead(BaseModel):
    currency: str
    balance: int
    available: int
    pending_credits: int


class MemberRead(BaseModel):
    id: int
    customer_id: int
    programme: str
    number: str
    enrolled_on: date
    tier: str
    tier_since: date
    period_end: date | None
    counter: int
    last_activity_on: date | None
    balances: list[BalanceRead]
    next_tier: str | None = None
    needed_for_next: int | None = None
    needed_to_keep: int | None = None


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    key: str
    currency: str
    debit: str
    credit: str
    amount: int
    signed_amount: int
    on: date
    kind: str
    state: str
    rule_id: str | None
    reverses: int | None
    resolves: int | None
    expires_on: date | None
    memo: str
    created_at: datetime


class Explanation(BaseModel):
    language: str
    text: str
