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
    # Concurrency (issue 12): every wait for the database is bounded and ends in a 503.
    db_pool_size: int = Field(
        default=20,
        ge=1,
        le=500,
        description=(
            "Database connections per server process; as many requests are served at once, "
            "the others queue. Keep workers x (pool size + 5) below PostgreSQL's "
            "max_connections."
        ),
    )
    db_wait_timeout: float = Field(
        default=5.0,
        gt=0,
        description=(
            "Seconds a request may wait for its turn, a connection, a row lock (PostgreSQL "
            "lock_timeout) or SQLite's write lock (busy timeout) before it answers 503 with "
            "Retry-After."
        ),
    )
    db_statement_timeout: float = Field(
        default=30.0, gt=0, description="PostgreSQL statement_timeout of the server's requests."
    )
    # Mail and cases (issue 4). Without an SMTP host, outgoing mail goes to a null mailer.
    smtp_host: str | None = Field(default=None, description="Outgoing SMTP server.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = Field(default="service-client@egards.example", description="Our address.")
    inbound_smtp_port: int | None = Field(
        default=None, description="Port of the inbound SMTP receiver run by `egards worker`."
    )
    inbound_smtp_host: str = "127.0.0.1"
    imap_host: str | None = Field(default=None, description="IMAP mailbox polled by the worker.")
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_ssl: bool = Field(
        default=True, description="IMAPS, the certificate and host name verified."
    )
    imap_ca_file: Path | None = Field(
        default=None, description="CA certificates (PEM) trusted for IMAPS instead of the system's."
    )
    imap_user: str | None = None
    imap_password: str | None = None
    mail_timeout: float = Field(
        default=30.0, gt=0, le=600, description="Seconds any IMAP or SMTP exchange may wait."
    )
    sla_file: Path | None = Field(default=None, description="SLA policies; packaged when unset.")
    ack_templates_dir: Path | None = Field(
        default=None,
        description="A folder of ack_<language>.txt acknowledgement templates that replace the "
        "packaged one for their language.",
    )
    public_exposure_audience: int = Field(
        default=10_000,
        ge=0,
        description="Followers from which a social post is flagged for public exposure (routed "
        "to the social team; the promise is unchanged). 0 turns the flag off.",
    )
    social_webhook_secret: str | None = Field(
        default=None, description="Shared secret signing social-mention webhooks (HMAC-SHA256)."
    )
    case_assignment: str = Field(default="least_loaded", pattern="^(least_loaded|round_robin)$")
    max_attachment_bytes: int = Field(default=5_000_000, ge=1024)
    max_message_bytes: int = Field(
        default=25_000_000,
        ge=1024,
        description="Largest inbound e-mail, attachments included: the SMTP receiver's SIZE "
        "and the inbound-email API's body limit alike.",
    )
    web_form_per_minute: int = Field(default=5, ge=1, description="Per client address.")
    worker_interval: float = Field(default=30.0, gt=0, description="Seconds between passes.")

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
