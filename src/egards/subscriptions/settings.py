"""Settings of subscriptions, read from ``EGARDS_SUBSCRIPTIONS_*`` variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SubscriptionsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EGARDS_SUBSCRIPTIONS_", extra="ignore")

    company_name: str = Field(
        default="Égards Télécom", description="The name on acknowledgements of cancellation."
    )
    winback_days: int = Field(
        default=60, ge=1, le=730, description="Days after a contract ends before a win-back."
    )
    proof_max_bytes: int = Field(
        default=5_000_000, ge=10_000, description="Largest proof of a legitimate reason."
    )


@lru_cache
def get_subscriptions_settings() -> SubscriptionsSettings:
    return SubscriptionsSettings()
