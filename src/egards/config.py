"""Settings read from the environment (``EGARDS_*``) with a data directory for local state."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCALES = ("en", "fr")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EGARDS_", extra="ignore")

    data_dir: Path = Field(default=Path(".egards"), description="Where local state lives.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; a SQLite file in the data dir when unset."
    )
    secret_key: str | None = Field(
        default=None, description="Signs session cookies; generated and kept in the data dir."
    )
    default_locale: str = Field(default="fr", pattern="^(en|fr)$")
    default_phone_region: str = Field(default="FR", min_length=2, max_length=2)
    secure_cookies: bool = Field(default=False, description="Send cookies over HTTPS only.")
    max_body_bytes: int = Field(default=1_000_000, ge=1024)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'egards.db').resolve()}"

    @property
    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
