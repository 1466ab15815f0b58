"""loyalty: entry keys unique in the database only for the entries without an activity

The unique (member_id, key) constraint on the ledger entries cost every ingested entry a
write into a B-tree of the largest table (in the steady-state benchmark, about half of the
entries' COPY). It becomes a partial unique index on the entries that have no activity
(grants, redemptions, holds, settles, voids, expiries): those keys are chosen by callers and
stay refused or replayed by the database. An activity's entries are keyed "{activity
key}:{rule id}" (earnings) or "{activity key}:{seq}" (a refund's reversals); neither part
after the last colon holds one, so a key names one activity, which is applied once through
its unique (programme, key). ``stored.StoredPast.written`` finds a stored activity's entry by
its activity when a later write reuses the key, and the bulk path checks its new keys
against the entries without an activity.

Expand, then contract: the partial index is built before the constraint goes, so a key
stays guarded throughout. The downgrade puts the constraint back (it fails, and changes
nothing, if two entries of a member share a key).

Revision ID: 0034
Revises: 0032
Create Date: 2026-12-05 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_loyalty_entries_member_id_key_without_activity"
CONSTRAINT = "uq_loyalty_entries_member_id_key"
WITHOUT_ACTIVITY = sa.text("activity_id IS NULL")


def upgrade() -> None:
    op.create_index(
        INDEX,
        "loyalty_entries",
        ["member_id", "key"],
        unique=True,
        postgresql_where=WITHOUT_ACTIVITY,
        sqlite_where=WITHOUT_ACTIVITY,
    )
    with op.batch_alter_table("loyalty_entries") as batch:  # SQLite: the table is rebuilt
        batch.drop_constraint(CONSTRAINT, type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("loyalty_entries") as batch:
        batch.create_unique_constraint(CONSTRAINT, ["member_id", "key"])
    op.drop_index(INDEX, table_name="loyalty_entries")
