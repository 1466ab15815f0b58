"""Settings of service recovery, read from ``EGARDS_RECOVERY_*`` variables.

Budgets, the approval promise and the recommender's weights are management choices: they
change without touching code (``EGARDS_RECOVERY_WEIGHTS='{"value": 1.5, "risk": 1.0}'``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from egards.recovery.domain import Weights


class RecoverySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EGARDS_RECOVERY_", extra="ignore")

    agent_monthly_budget_cents: int = Field(
        default=15_000, ge=0, description="What each agent may grant per month without asking."
    )
    team_monthly_budget_cents: int = Field(default=200_000, ge=0)
    approval_hours: int = Field(
        default=4, ge=1, le=168, description="The promise for a supervisor's decision."
    )
    time_zone: str = Field(default="Europe/Paris", description="Where a month begins.")
    margin_percent: int = Field(
        default=30, ge=1, le=100, description="Share of extra spend kept as profit (returns)."
    )
    catalogue_file: Path | None = Field(default=None, description="Packaged when unset.")
    weights: dict[str, float] = Field(default_factory=dict)

    @field_validator("weights", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def recommender_weights(self) -> Weights:
        return Weights(**self.weights)


@lru_cache
def get_recovery_settings() -> RecoverySettings:
    return RecoverySettings()
