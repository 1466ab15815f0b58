"""Settings of the customer portal, read from ``EGARDS_PORTAL_*`` variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EGARDS_PORTAL_", extra="ignore")

    base_url: str = Field(
        default="http://127.0.0.1:8000",
        pattern=r"^https?://[^/\s]+$",
        description="Scheme and host the e-mailed sign-in links point to (never taken from "
        "the request's Host header, which a client chooses).",
    )
    link_minutes: int = Field(default=15, ge=1, le=60, description="A sign-in link's life.")
    session_hours: int = Field(default=2, ge=1, le=24, description="A portal session's life.")
    links_per_address: int = Field(
        default=3, ge=1, description="Sign-in links e-mailed to one address per window."
    )
    links_per_client: int = Field(
        default=10, ge=1, description="Sign-in requests accepted from one client IP per window."
    )
    rate_window_minutes: int = Field(
        default=15, ge=1, le=1440, description="The window of both sign-in limits."
    )


@lru_cache
def get_portal_settings() -> PortalSettings:
    return PortalSettings()
