"""Settings of the loyalty engine, read from ``EGARDS_LOYALTY_*`` variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LoyaltySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EGARDS_LOYALTY_", extra="ignore")

    merge_days: int = Field(
        default=7,
        ge=0,
        description="The worker merges the recent activities, entries and buckets into the "
        "history once the oldest is this many days old (PostgreSQL): each member's history "
        "pages are written once for all those days; 0 merges at every pass.",
    )


@lru_cache
def get_loyalty_settings() -> LoyaltySettings:
    return LoyaltySettings()
