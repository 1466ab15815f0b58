"""Shapes of the social API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from egards.schemas import Input


class _In(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AudienceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    followers: int
    seen_at: datetime


class ProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    network: str
    handle: str
    display_name: str | None
    profile_url: str | None
    followers: int | None
    verified: bool
    bio: str | None
    location: str | None
    customer_id: int | None
    link_method: str | None
    first_seen_at: datetime
    last_seen_at: datetime


class ProfileDetailRead(ProfileRead):
    audience: list[AudienceRead] = Field(default_factory=list)


class LinkCreate(_In):
    customer_id: int = Field(ge=1, le=2**63 - 1)


class UnlinkCreate(_In):
    reason: str = Field(min_length=1, max_length=500)


class ReviewDecision(_In):
    accept: bool
    reason: str | None = Field(default=None, max_length=500)


class LinkReviewRead(BaseModel):
    """A proposed link as the reviewer sees it: evidence, not the score."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    profile_id: int
    customer_id: int
    status: str
    method: str
    evidence: list[dict[str, Any]]
    reason_code: str | None = None
    """Why a person decides, as a stable code (``domain.REASON_CODES``; ``written``: words a
    person typed)."""
    reason: str | None
    """That reason in the request's language (``Accept-Language``); a person's words as
    written."""
    created_at: datetime


class LinkRead(LinkReviewRead):
    score: float | None
    decided_at: datetime | None
    decided_by: str | None


class InfluenceRow(BaseModel):
    profile_id: int
    network: str
    handle: str
    followers: int
    customer_id: int | None
    clv_cents: int | None
    value_decile: int | None
    segment: str | None


class LinkModelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    accepted: int
    rejected: int
    trained_at: datetime
    trained_by: str
    m_probabilities: dict[str, list[float]]
