"""customers: an index on updated_at, so that the kept linking model finds edits cheaply

The social feature's kept model follows customer edits by ``customers.updated_at``
(``updated_at > :since``). Without an index the look-up reads the whole column: 125-166 ms at
a million customers, which is why an arrival above 5,000 customers looked only once a minute.
With the index the look-up is a range read (0.01-0.05 ms at a million).

Revision ID: 0033
Revises: 0027
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_customers_updated_at", "customers", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_customers_updated_at", table_name="customers")
