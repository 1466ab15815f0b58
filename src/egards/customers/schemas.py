from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from egards.customers.domain import (
    CHANNELS,
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    SILOS,
    SOCIAL_NETWORKS,
    IdentityKind,
)
from egards.schemas import Input, Page

Name = Annotated[str, Field(min_length=1, max_length=100)]
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
SharedWith = Annotated[
    int | None,
    Field(
        ge=1,
        le=2**31 - 1,
        description=(
            "An organisation assigned to the customer that may read this; omitted: internal "
            "(a partner's own writing is always shared with its organisation)."
        ),
    ),
]
Language = Literal["fr", "en"]


class Strict(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SocialHandle(Strict):
    network: Literal[SOCIAL_NETWORKS]  # type: ignore[valid-type]
    handle: str = Field(min_length=1, max_length=100)


def _check_birth_date(value: date | None) -> date | None:
    if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
        raise ValueError("must be between 1900-01-01 and today")
    return value


class CustomerCreate(Strict):
    first_name: Name
    last_name: Name
    preferred_language: Language = "fr"
    birth_date: date | None = None
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    external_id: str | None = Field(default=None, min_length=1, max_length=100)
    emails: list[str] = Field(default_factory=list, max_length=10)
    phones: list[str] = Field(default_factory=list, max_length=10)
    loyalty_number: str | None = None
    social: list[SocialHandle] = Field(default_factory=list, max_length=10)

    _birth = field_validator("birth_date")(_check_birth_date)


class CustomerUpdate(Strict):
    first_name: Name | None = None
    last_name: Name | None = None
    preferred_language: Language | None = None
    birth_date: date | None = None
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, pattern="^[A-Z]{2}$")

    _birth = field_validator("birth_date")(_check_birth_date)


class IdentityCreate(Strict):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)
    network: Literal[SOCIAL_NETWORKS] | None = None  # type: ignore[valid-type]
    is_primary: bool = False


class IdentityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    network: str
    value: str
    display_value: str
    is_primary: bool
    verified: bool


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    external_id: str | None
    first_name: str
    last_name: str
    preferred_language: str
    birth_date: date | None
    address_line1: str | None
    address_line2: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    status: str
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime
    identities: list[IdentityRead]


class CustomerPage(Page[CustomerRead]):
    pass


class ConsentCreate(Strict):
    purpose: Literal[CONSENT_PURPOSES]  # type: ignore[valid-type]
    channel: Literal[CONSENT_CHANNELS]  # type: ignore[valid-type]
    granted: bool
    source: str = Field(min_length=1, max_length=100)
    proof: str | None = Field(default=None, max_length=2000)


class ConsentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    purpose: str
    channel: str
    granted: bool
    recorded_at: datetime
    source: str
    proof: str | None
    recorded_by: str


class TimelineEventCreate(Strict):
    kind: str = Field(min_length=1, max_length=40, pattern=r"^[a-z_.]+$")
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    silo: Literal[SILOS]  # type: ignore[valid-type]
    summary: str = Field(min_length=1, max_length=2000)
    occurred_at: datetime | None = None
    ref_type: str | None = Field(default=None, max_length=40)
    ref_id: str | None = Field(default=None, max_length=40)
    shared_with_id: SharedWith = None

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone, e.g. 2026-05-01T10:00:00Z")
        return value


class TimelineEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    occurred_at: datetime
    kind: str
    channel: str
    silo: str
    summary: str
    actor_label: str
    ref_type: str | None
    ref_id: str | None
    shared_with_id: int | None


class NoteCreate(Strict):
    body: str = Field(min_length=1, max_length=5000)
    shared_with_id: SharedWith = None


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    author_label: str
    body: str
    created_at: datetime
    shared_with_id: int | None


class MergeRequest(Strict):
    survivor_id: RowId
    merged_id: RowId
    reason: str | None = Field(default=None, max_length=2000)


class MergeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    survivor_id: RowId
    merged_id: RowId
    reason: str | None
    merged_at: datetime
    merged_by: str
    unmerged_at: datetime | None


class EraseRequest(Strict):
    reason: str = Field(min_length=3, max_length=2000)


class OrganisationAssign(Strict):
    organisation_id: int = Field(ge=1, le=2**31 - 1)
    purpose: str | None = Field(default=None, max_length=200)
