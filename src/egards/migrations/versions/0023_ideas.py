"""ideas: the idea box

Customers' proposals (status, public answer, moderation, merging) and their votes, one per
customer per idea. On voice's branch (0015), whose feature sits just below it.

Revision ID: 0023
Revises: 0015
Create Date: 2026-12-04 04:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0023"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ideas",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("customer_id", KEY, nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        sa.Column("merged_into_id", KEY, nullable=True),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_ideas_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["ideas.id"], name=op.f("fk_ideas_merged_into_id_ideas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas")),
    )
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.create_index("ix_ideas_customer", ["customer_id"], unique=False)
        batch_op.create_index("ix_ideas_status_votes", ["status", "votes"], unique=False)

    op.create_table(
        "idea_votes",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("idea_id", KEY, nullable=False),
        sa.Column("customer_id", KEY, nullable=False),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_idea_votes_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_idea_votes_idea_id_ideas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idea_votes")),
        sa.UniqueConstraint(
            "idea_id", "customer_id", name=op.f("uq_idea_votes_idea_id_customer_id")
        ),
    )
    with op.batch_alter_table("idea_votes", schema=None) as batch_op:
        batch_op.create_index("ix_idea_votes_customer", ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idea_votes", schema=None) as batch_op:
        batch_op.drop_index("ix_idea_votes_customer")

    op.drop_table("idea_votes")
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_index("ix_ideas_status_votes")
        batch_op.drop_index("ix_ideas_customer")

    op.drop_table("ideas")
