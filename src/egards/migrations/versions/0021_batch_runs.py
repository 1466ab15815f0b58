"""batch: the runs of the nightly batch jobs on a chosen engine (local or Spark)

Each ``egards batch run`` keeps a row: the job, the engine and its master, the scoring date,
the job's own run (a score run), its counts, and how it ended, with the reason when it failed.

Revision ID: 0021
Revises: 0025
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0021"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=20), nullable=False),
        sa.Column("engine", sa.String(length=10), nullable=False),
        sa.Column("master", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("job_run_id", sa.Integer(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_runs")),
    )


def downgrade() -> None:
    op.drop_table("batch_runs")
