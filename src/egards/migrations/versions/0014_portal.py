"""portal: sign-in links, portal sessions, privacy requests

Revision ID: 0014
Revises: 0001

The customer's own space (/my): e-mailed sign-in links and portal sessions (only the hash of
each secret is kept), and the customers' requests to erase or rectify their data with their
one-month clock (GDPR article 12(3)).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0014"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = egards.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "portal_sign_in_links",
        sa.Column("id", BIG, nullable=False),
        sa.Column("customer_id", BIG, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("used_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_portal_sign_in_links_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sign_in_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sign_in_links_token_hash")),
    )
    op.create_index(
        op.f("ix_portal_sign_in_links_customer_id"), "portal_sign_in_links", ["customer_id"]
    )
    op.create_table(
        "portal_sessions",
        sa.Column("id", BIG, nullable=False),
        sa.Column("customer_id", BIG, nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_portal_sessions_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_portal_sessions_secret_hash")),
    )
    op.create_index(op.f("ix_portal_sessions_customer_id"), "portal_sessions", ["customer_id"])
    op.create_table(
        "portal_privacy_requests",
        sa.Column("id", BIG, nullable=False),
        sa.Column("customer_id", BIG, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_portal_privacy_requests_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_privacy_requests")),
    )
    op.create_index(
        op.f("ix_portal_privacy_requests_customer_id"), "portal_privacy_requests", ["customer_id"]
    )
    op.create_index(
        "ix_portal_privacy_requests_status_due", "portal_privacy_requests", ["status", "due_on"]
    )


def downgrade() -> None:
    op.drop_index("ix_portal_privacy_requests_status_due", table_name="portal_privacy_requests")
    op.drop_index(
        op.f("ix_portal_privacy_requests_customer_id"), table_name="portal_privacy_requests"
    )
    op.drop_table("portal_privacy_requests")
    op.drop_index(op.f("ix_portal_sessions_customer_id"), table_name="portal_sessions")
    op.drop_table("portal_sessions")
    op.drop_index(op.f("ix_portal_sign_in_links_customer_id"), table_name="portal_sign_in_links")
    op.drop_table("portal_sign_in_links")
