"""Input and output schemas of the voice of the customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from egards.schemas import Input

Language = Literal["fr", "en", "other"]
Sentiment = Literal["negative", "neutral", "positive"]
Topic = Literal[
    "delay",
    "flight_cancellation",
    "baggage",
    "lounge_status",
    "miles",
    "billing",
    "outage",
    "installation",
    "technician",
    "customer_service",
    "price",
    "contract_cancellation",
    "praise",
]


class TextIn(Input):
    text: str = Field(min_length=1, max_length=20_000)


class TextAnalysisRead(BaseModel):
    language: str
    sentiment: str
    sentiment_score: float
    churn_threat: bool
    churn_probability: float
    churn_phrase: str | None
    topic: str
    topic_confidence: float
    model_version: str


class AnalysisRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_type: str
    case_id: int | None
    customer_id: int | None
    received_at: datetime
    language: str
    sentiment: str
    sentiment_score: float
    churn_threat: bool
    churn_phrase: str | None
    topic: str
    topic_confidence: float
    model_version: str
    corrected_language: str | None
    corrected_sentiment: str | None
    corrected_churn: bool | None
    corrected_topic: str | None
    corrected_by: str | None
    corrected_at: datetime | None


class CorrectionIn(Input):
    language: Language | None = None
    sentiment: Sentiment | None = None
    churn_threat: bool | None = None
    topic: Topic | None = None


class AnswerIn(Input):
    rating: int = Field(
        ge=0, le=10, description="1–5 on a CSAT survey, 0–10 on an NPS survey (checked by survey)"
    )
    comment: str | None = Field(default=None, max_length=4000)
    answers: dict[str, Any] = Field(default_factory=dict)


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    survey: str
    case_id: int | None
    language: str
    status: str
    sent_at: datetime
    expires_at: datetime
    reminded_at: datetime | None
    answered_at: datetime | None
    rating: int | None
    answers: dict[str, Any] | None
    comment: str | None
    follow_up_case_id: int | None


class Figures(BaseModel):
    sent: int
    answered: int
    csat: float | None
    response_rate: float | None
    nps: int | None
    mean: float | None


class GroupFigures(Figures):
    key: str


class CsatReport(BaseModel):
    days: int
    overall: Figures
    by: dict[str, list[GroupFigures]]


class NpsFigures(BaseModel):
    sent: int
    answered: int
    response_rate: float | None
    nps: int | None
    promoters: int
    passives: int
    detractors: int


class NpsGroup(NpsFigures):
    key: str


class NpsProgrammeGroup(NpsGroup):
    name: str


class NpsReport(BaseModel):
    """The relationship NPS: % promoters (9–10) − % detractors (0–6); by programme, a
    customer in several programmes counts in each, one in none under ``none``."""

    days: int
    overall: NpsFigures
    by_month: list[NpsGroup]
    by_language: list[NpsGroup]
    by_programme: list[NpsProgrammeGroup]


class TopicFigures(BaseModel):
    topic: str
    messages: int
    negative: int
    negative_share: float | None
    churn_threats: int
    csat: float | None
    ratings: int
    months: list[int]


class RootCauses(BaseModel):
    days: int
    months: list[str]
    topics: list[TopicFigures]
