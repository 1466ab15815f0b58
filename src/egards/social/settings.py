"""Settings of the social feature, read from ``EGARDS_SOCIAL_*`` variables: the match-weight
thresholds of probabilistic linking (a management choice between automation and review)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from egards.social.linking import Thresholds


class SocialSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EGARDS_SOCIAL_", extra="ignore")

    link_upper: float = Field(
        default=6.0, description="Match weight from which a profile is linked automatically."
    )
    link_lower: float = Field(
        default=0.0, description="Match weight from which a candidate goes to review."
    )
    link_name_only_upper: float | None = Field(
        default=6.0,
        description=(
            "Match weight from which a profile whose display name and handle agree with a"
            " customer's names is linked when nothing beyond the names (city, birth year,"
            " phone) is known either way; empty: names alone never link."
        ),
    )
    link_margin: float = Field(
        default=2.0,
        ge=0,
        description="How far the best candidate must stand above the next to be linked.",
    )
    activity_window_hours: float = Field(
        default=48.0,
        gt=0,
        description=(
            "Activity corroboration: a candidate customer's contact (a case's inbound message,"
            " not on a social network) within this many hours before one of the profile's"
            " posts counts for the link."
        ),
    )
    activity_m: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description=(
            "Activity corroboration: the share of a profile's true owners who contacted the"
            " company within the window before posting (an assumption until reviews refit"
            " it); the share of other customers who did (u) is measured on the cases."
        ),
    )
    activity_corroboration: bool = Field(
        default=True, description="Whether the activity term is added to the linking scores."
    )

    @field_validator("link_name_only_upper", mode="before")
    @classmethod
    def _empty_is_never(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _ordered(self) -> SocialSettings:
        if self.link_lower > self.link_upper:
            raise ValueError("EGARDS_SOCIAL_LINK_LOWER must not be above EGARDS_SOCIAL_LINK_UPPER")
        return self


def link_thresholds(options: SocialSettings | None = None) -> Thresholds:
    """The thresholds ``linking.decide_best`` decides with, from the settings (read now when
    ``options`` is ``None``): the one place every path that links (the batch, the arrival)
    takes them from."""
    options = options or SocialSettings()
    return Thresholds(
        upper=options.link_upper,
        lower=options.link_lower,
        margin=options.link_margin,
        name_only_upper=options.link_name_only_upper,
    )
