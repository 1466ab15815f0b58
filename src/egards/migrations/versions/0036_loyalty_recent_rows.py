"""loyalty: the bulk path's entries and buckets kept apart until merged (PostgreSQL)

A day of activities touches every member, so writing its entries and buckets into the
member-keyed history (the primary keys of the two largest tables) dirtied one page of each
index per member, and logged each page whole after a checkpoint: at 100,000 members holding
200 entries, most of the day's write cost (``bench/floor_layouts.py``). On PostgreSQL both
tables become list-partitioned on a ``recent`` column: ``…_history`` (the table as it was)
and ``…_recent``, small, which the bulk path writes into (``service.recent_rows``); now and
then a merge moves the recent rows into the history in member order, each member's page
once for many days (an LSM-like design). Readers go through the parent table and see both
partitions, as one table; single operations still write into the history (the parent's
default). SQLite keeps one table of each.

Expand, then contract: the history keeps its rows, indexes and constraints (attached, not
copied: validating ``NOT recent`` is one pass over the table, done before the attach so
that it does not repeat it). The downgrade moves the recent rows back first.

Revision ID: 0036
Revises: 0034
Create Date: 2026-12-05 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The indexes a partition of recent entries needs beside its primary key, as the history's
# (models.Entry): keys without an activity, and reversals and resolutions by member.
RECENT_ENTRY_INDEXES = (
    "CREATE UNIQUE INDEX uq_loyalty_entries_recent_member_id_key_without_activity"
    " ON loyalty_entries_recent (member_id, key) WHERE activity_id IS NULL",
    "CREATE INDEX ix_loyalty_entries_recent_reverses"
    " ON loyalty_entries_recent (member_id, reverses) WHERE reverses IS NOT NULL",
    "CREATE INDEX ix_loyalty_entries_recent_resolves"
    " ON loyalty_entries_recent (member_id, resolves) WHERE resolves IS NOT NULL",
)
TABLES = {"loyalty_entries": RECENT_ENTRY_INDEXES, "loyalty_buckets": ()}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, indexes in TABLES.items():
        for statement in (
            f"ALTER TABLE {table} ADD COLUMN recent boolean NOT NULL DEFAULT false",
            f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_history CHECK (NOT recent)",
            f"ALTER TABLE {table} RENAME TO {table}_history",
            f"CREATE TABLE {table} (LIKE {table}_history INCLUDING DEFAULTS)"
            " PARTITION BY LIST (recent)",
            f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_amount_positive CHECK (amount > 0)",
            f"ALTER TABLE {table} ATTACH PARTITION {table}_history FOR VALUES IN (false)",
            f"ALTER TABLE {table}_history DROP CONSTRAINT ck_{table}_history",
            f"CREATE TABLE {table}_recent PARTITION OF {table} (recent DEFAULT true)"
            " FOR VALUES IN (true)",
            f"ALTER TABLE {table}_recent ADD CONSTRAINT pk_{table}_recent"
            " PRIMARY KEY (member_id, seq)",
            *indexes,
        ):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        for statement in (
            f"UPDATE {table} SET recent = false WHERE recent",
            f"ALTER TABLE {table} DETACH PARTITION {table}_history",
            f"DROP TABLE {table}",
            f"ALTER TABLE {table}_history RENAME TO {table}",
            f"ALTER TABLE {table} DROP COLUMN recent",
        ):
            op.execute(statement)
