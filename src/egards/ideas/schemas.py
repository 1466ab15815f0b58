"""Input and output schemas of the idea box."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from egards.schemas import Input

Status = Literal["new", "under_review", "planned", "in_progress", "done", "declined"]


class IdeaRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int | None
    title: str
    body: str
    category: str
    language: str
    status: str
    reason: str | None
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    hidden: bool
    hidden_reason: str | None
    merged_into_id: int | None
    votes: int
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class CommentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    idea_id: int
    customer_id: int
    body: str
    hidden: bool
    hidden_reason: str | None
    hidden_by: str | None
    created_at: datetime


class CommentIn(Input):
    customer_id: int = Field(ge=1, le=2**62)
    body: str = Field(min_length=1, max_length=4000)


class StatusIn(Input):
    status: Status
    reason: str | None = Field(default=None, max_length=1000)
    answer: str | None = Field(default=None, max_length=4000)


class MergeIn(Input):
    into_id: int = Field(ge=1, le=2**62)


class TagsIn(Input):
    """The idea's tags as a whole (an empty list removes them)."""

    tags: list[str] = Field(max_length=10)


class HideIn(Input):
    reason: str = Field(min_length=3, max_length=1000)
