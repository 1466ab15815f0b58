"""ideas: comments on ideas

A signed-in customer's comment on an idea, which staff may hide with a reason. On the idea
box's branch (0023).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 05:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idea_comments",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("idea_id", KEY, nullable=False),
        sa.Column("customer_id", KEY, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        sa.Column("hidden_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_idea_comments_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_idea_comments_idea_id_ideas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idea_comments")),
    )
    with op.batch_alter_table("idea_comments", schema=None) as batch_op:
        batch_op.create_index("ix_idea_comments_customer", ["customer_id"], unique=False)
        batch_op.create_index("ix_idea_comments_idea", ["idea_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idea_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_idea_comments_idea")
        batch_op.drop_index("ix_idea_comments_customer")

    op.drop_table("idea_comments")
