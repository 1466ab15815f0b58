"""cases: priority by value; social: profiles, audience history, mentions, links, reviews

Cases keep the sender's entitlement and queue rank decided at intake (service level of the
live tier, value band, churn band), the audience of a social author and the public exposure
flag. The social feature's tables hold online profiles (many per customer), their audience
over time, mentions and direct messages, and the links made or proposed between profiles and
customers (and between duplicate customers) with their evidence and review.

Revision ID: 0016
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0016"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("service_level", sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column("value_band", sa.SmallInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("churn_band", sa.SmallInteger(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("audience", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("public_exposure", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "social_profiles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("network", sa.String(length=20), nullable=False),
        sa.Column("handle", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("profile_url", sa.String(length=1000), nullable=True),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("link_method", sa.String(length=40), nullable=True),
        sa.Column("first_seen_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_social_profiles_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_profiles")),
        sa.UniqueConstraint("network", "handle", name=op.f("uq_social_profiles_network_handle")),
    )
    with op.batch_alter_table("social_profiles", schema=None) as batch_op:
        batch_op.create_index("ix_social_profiles_customer", ["customer_id"], unique=False)

    op.create_table(
        "social_audience",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["social_profiles.id"],
            name=op.f("fk_social_audience_profile_id_social_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_audience")),
    )
    with op.batch_alter_table("social_audience", schema=None) as batch_op:
        batch_op.create_index("ix_social_audience_profile", ["profile_id", "seen_at"], unique=False)

    op.create_table(
        "social_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_social_links_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["social_profiles.id"],
            name=op.f("fk_social_links_profile_id_social_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_links")),
    )
    with op.batch_alter_table("social_links", schema=None) as batch_op:
        batch_op.create_index("ix_social_links_customer", ["customer_id"], unique=False)
        batch_op.create_index("ix_social_links_profile", ["profile_id"], unique=False)
        batch_op.create_index("ix_social_links_status", ["status", "id"], unique=False)

    op.create_table(
        "social_mentions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "profile_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("network", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=True),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("posted_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_social_mentions_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["social_profiles.id"],
            name=op.f("fk_social_mentions_profile_id_social_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_mentions")),
        sa.UniqueConstraint(
            "network", "external_id", name=op.f("uq_social_mentions_network_external_id")
        ),
    )
    with op.batch_alter_table("social_mentions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_social_mentions_profile", ["profile_id", "posted_at"], unique=False
        )
    op.create_table(
        "customer_duplicates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_a", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_b", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_a"],
            ["customers.id"],
            name=op.f("fk_customer_duplicates_customer_a_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_b"],
            ["customers.id"],
            name=op.f("fk_customer_duplicates_customer_b_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_duplicates")),
        sa.UniqueConstraint(
            "customer_a", "customer_b", name=op.f("uq_customer_duplicates_customer_a_customer_b")
        ),
    )
    with op.batch_alter_table("customer_duplicates", schema=None) as batch_op:
        batch_op.create_index("ix_customer_duplicates_status", ["status", "id"], unique=False)


def downgrade() -> None:
    tables = ("customer_duplicates", "social_mentions", "social_links", "social_audience")
    for table in (*tables, "social_profiles"):
        op.drop_table(table)
    with op.batch_alter_table("cases") as batch:
        for column in ("public_exposure", "audience", "churn_band", "value_band", "service_level"):
            batch.drop_column(column)
