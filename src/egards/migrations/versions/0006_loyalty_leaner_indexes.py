"""loyalty: leaner indexes for bulk writes

A member's customer is found through the unique (customer_id, programme) index, so the index
on customer_id alone only cost every member write; activities are looked up by status only to
find the parked ones, so a partial index on those replaces the index on every row's status.

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-23 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARKED = sa.text("status = 'parked'")


def upgrade() -> None:
    op.drop_index("ix_loyalty_members_customer_id", table_name="loyalty_members")
    op.drop_index("ix_loyalty_activities_status", table_name="loyalty_activities")
    op.create_index(
        "ix_loyalty_activities_parked",
        "loyalty_activities",
        ["programme", "member_number"],
        postgresql_where=PARKED,
        sqlite_where=PARKED,
    )


def downgrade() -> None:
    op.drop_index("ix_loyalty_activities_parked", table_name="loyalty_activities")
    op.create_index("ix_loyalty_activities_status", "loyalty_activities", ["status"])
    op.create_index("ix_loyalty_members_customer_id", "loyalty_members", ["customer_id"])
