"""Settings of the voice of the customer, read from ``EGARDS_VOICE_*`` variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class VoiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EGARDS_VOICE_", extra="ignore")

    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Where customers open survey links."
    )
    survey_period_days: int = Field(
        default=30, ge=0, le=3650, description="At most one survey per customer in this period."
    )
    survey_expiry_days: int = Field(default=14, ge=1, le=365)
    reminder_days: int = Field(default=3, ge=1, le=60, description="One reminder, this late.")
    churn_risk_floor: float = Field(
        default=0.8, ge=0.0, le=1.0, description="A written churn threat raises risk to this."
    )
    churn_threat_days: int = Field(
        default=90, ge=1, le=730, description="How long a written threat keeps the risk up."
    )
    valuable_decile: int = Field(
        default=8, ge=1, le=10, description="From this value decile a threat raises priority."
    )

    public_ideas: bool = Field(
        default=False,
        description="Anyone may read the idea box, without signing in, at /public/ideas "
        "(visible ideas, votes, status, public answers; never who proposed them).",
    )

    nps_cadence_days: int = Field(
        default=90, ge=1, le=3650, description="A relationship NPS wave goes out this often."
    )
    nps_sample: int = Field(
        default=200, ge=1, le=100_000, description="Active customers asked in each NPS wave."
    )
    nps_quiet_days: int = Field(
        default=60,
        ge=0,
        le=3650,
        description="No NPS to a customer surveyed (any survey) in this many days.",
    )


@lru_cache
def get_voice_settings() -> VoiceSettings:
    return VoiceSettings()
