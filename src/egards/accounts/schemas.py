from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from egards.accounts.domain import Permission, Role
from egards.schemas import Input


class UserCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: EmailStr
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=10, max_length=200)
    locale: str = Field(default="fr", pattern="^(en|fr)$")
    organisation_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    display_name: str
    role: str
    locale: str
    organisation_id: int | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class TokenCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Permission] = Field(min_length=1)
    expires_at: datetime | None = Field(
        default=None,
        description="Required, and no later than the caller's, when a token creates a token.",
    )

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone, e.g. 2026-05-01T10:00:00Z")
        return value


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="Shown once; only its hash is kept.")


class OrganisationCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="partner", pattern="^[a-z_]{1,40}$")


class OrganisationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    kind: str
    created_at: datetime
