"""loyalty: no (member, on) index on ledger entries

Every entry an ingest writes cost a write into the (member_id, on) index, whose pages are
scattered over the largest table (each member's new entries land on a leaf of their own): in
the steady-state benchmark, about a third of the entries' COPY. The reads by day that used
it (a statement's date range, an activity's posted entries, the current period's qualifying
lines) all name one member or a few, and read as fast through the primary key (member_id,
seq): a member's ledger is a short range of it, filtered by day. Dropping an index loses no
data; the downgrade builds it again.

Revision ID: 0031
Revises: 0029
Create Date: 2026-12-04 21:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_loyalty_entries_member_on", table_name="loyalty_entries")


def downgrade() -> None:
    op.create_index("ix_loyalty_entries_member_on", "loyalty_entries", ["member_id", "on"])
