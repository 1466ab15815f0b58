"""social: linking models retrained from the review outcomes; mentions found by their case

Each retraining keeps a row: the m probabilities learnt from the reviewers' decisions (a
person confirmed or rejected a proposed link, or undid an automatic one), how many outcomes
it read, who asked and when. Probabilistic linking uses the newest row, or the shipped
figures when there is none. Mentions get an index on their case: a message on a case asks
whether the case is a post's.

Revision ID: 0025
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0025"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "social_link_models",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("m_probabilities", sa.JSON(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("trained_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("trained_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_link_models")),
    )
    with op.batch_alter_table("social_mentions", schema=None) as batch_op:
        batch_op.create_index("ix_social_mentions_case", ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("social_mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_social_mentions_case")
    op.drop_table("social_link_models")
