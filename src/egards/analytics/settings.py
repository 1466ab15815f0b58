"""Settings of customer value and risk, read from ``EGARDS_ANALYTICS_*`` variables.

Kept beside the feature rather than in :mod:`egards.config` so that the marketing vocabulary
(segments) and the finance inputs (margin, discount rate) can change without touching the core.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnalyticsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EGARDS_ANALYTICS_", extra="ignore")

    margin: float = Field(
        default=0.3, gt=0, le=1, description="Share of revenue kept as profit, for CLV."
    )
    annual_discount_rate: float = Field(default=0.10, ge=0, lt=1)
    clv_months: int = Field(default=12, ge=1, le=120, description="CLV horizon in months.")
    churn_window_days: int = Field(
        default=180, ge=30, le=730, description="Churned = no purchase in this many days."
    )
    refit_every_days: int = Field(
        default=30, ge=0, description="Reuse fitted parameters younger than this; 0 = refit."
    )
    churn_training_rows: int = Field(default=200_000, ge=1_000)
    value_model: Literal["bg_nbd", "mbg_nbd", "pareto_nbd", "holdout"] = Field(
        default="bg_nbd",
        description="Purchase model for CLV: bg_nbd, mbg_nbd, pareto_nbd, or holdout (fit "
        "each on the purchases before the last holdout_days, keep the best predictor).",
    )
    holdout_days: int = Field(
        default=180, ge=28, le=730, description="Length of the holdout for value_model=holdout."
    )
    history_runs: int = Field(
        default=24,
        ge=1,
        le=1000,
        description="Keep each customer's figures (score_history) from this many latest "
        "successful runs; each run deletes older ones.",
    )
    segment_rules: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description='JSON: {"champions": {"recency": [4, 5], "frequency": [4, 5]}, ...}',
    )

    @field_validator("segment_rules", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


@lru_cache
def get_analytics_settings() -> AnalyticsSettings:
    return AnalyticsSettings()
