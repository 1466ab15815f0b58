"""voice: message analyses and survey invitations

What the classifier said about each message a customer wrote (with the agents' corrections
beside it) and the CSAT surveys sent after resolved cases (a hashed link secret, an expiry,
one reminder, the answer). Its own branch from cases (0003), whose tables it points at.

Revision ID: 0015
Revises: 0003
Create Date: 2026-12-03 20:39:34.550812
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0015"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_analyses",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source_type", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("received_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("sentiment", sa.String(length=10), nullable=False),
        sa.Column("sentiment_score", sa.Float(), nullable=False),
        sa.Column("churn_threat", sa.Boolean(), nullable=False),
        sa.Column("churn_probability", sa.Float(), nullable=False),
        sa.Column("churn_phrase", sa.Text(), nullable=True),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("topic_confidence", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=False),
        sa.Column("corrected_language", sa.String(length=8), nullable=True),
        sa.Column("corrected_sentiment", sa.String(length=10), nullable=True),
        sa.Column("corrected_churn", sa.Boolean(), nullable=True),
        sa.Column("corrected_topic", sa.String(length=40), nullable=True),
        sa.Column("corrected_by", sa.String(length=200), nullable=True),
        sa.Column("corrected_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_voice_analyses_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_voice_analyses_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_analyses")),
        sa.UniqueConstraint(
            "source_type", "source_id", name=op.f("uq_voice_analyses_source_type_source_id")
        ),
    )
    with op.batch_alter_table("voice_analyses", schema=None) as batch_op:
        batch_op.create_index("ix_voice_analyses_case", ["case_id"], unique=False)
        batch_op.create_index("ix_voice_analyses_customer", ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_voice_analyses_topic_received", ["topic", "received_at"], unique=False
        )

    op.create_table(
        "voice_invitations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("survey", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("team", sa.String(length=40), nullable=True),
        sa.Column("category", sa.String(length=60), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("agent_label", sa.String(length=200), nullable=True),
        sa.Column("tier", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sent_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("follow_up_case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_voice_invitations_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_voice_invitations_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_invitations")),
        sa.UniqueConstraint("case_id", name=op.f("uq_voice_invitations_case_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_voice_invitations_token_hash")),
    )
    with op.batch_alter_table("voice_invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_voice_invitations_customer_sent", ["customer_id", "sent_at"], unique=False
        )
        batch_op.create_index("ix_voice_invitations_status", ["status", "sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("voice_invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_invitations_status")
        batch_op.drop_index("ix_voice_invitations_customer_sent")

    op.drop_table("voice_invitations")
    with op.batch_alter_table("voice_analyses", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_analyses_topic_received")
        batch_op.drop_index("ix_voice_analyses_customer")
        batch_op.drop_index("ix_voice_analyses_case")

    op.drop_table("voice_analyses")
