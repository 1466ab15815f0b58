"""ideas: the staff's tags on ideas

One row per tag of an idea, found by tag. On the idea box's branch (0024).

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-04 13:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idea_tags",
        sa.Column("idea_id", KEY, nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["idea_id"], ["ideas.id"], name=op.f("fk_idea_tags_idea_id_ideas")),
        sa.PrimaryKeyConstraint("idea_id", "tag", name=op.f("pk_idea_tags")),
    )
    with op.batch_alter_table("idea_tags", schema=None) as batch_op:
        batch_op.create_index("ix_idea_tags_tag", ["tag"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idea_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_idea_tags_tag")
    op.drop_table("idea_tags")
