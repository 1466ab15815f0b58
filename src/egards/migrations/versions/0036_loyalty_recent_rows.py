"""loyalty: new activities, entries and buckets kept apart until merged (PostgreSQL)

A day of activities touches every member, so writing its activities, entries and buckets
into tables keyed by member (the entries' and buckets' primary keys, the activities' member
index) dirtied one page of each such index per member, and logged each page whole after a
checkpoint: at 100,000 members holding 200 entries, most of the day's write cost
(``bench/floor_layouts.py``). On PostgreSQL the three tables become list-partitioned on a
``recent`` column: ``…_history`` (the table as it was) and ``…_recent``, where every new row
goes (the parent's default; the bulk path copies into it directly). Now and then a merge
moves members' recent rows into the history in member order, each member's pages written
once for many days (an LSM-like design, ``service.recent_rows``). Readers go through the
parent table and see both partitions as one table. SQLite keeps one table of each.

Keys stay unique: each partition has the table's unique indexes; a new row, always recent,
meets any concurrent one with the same key in the recent partition's index, and the history
only receives rows the recent partition held (an activity's key, an entry key without an
activity, are checked against both partitions before they are written).

Expand, then contract: the history keeps its rows, indexes and constraints (attached, not
copied: validating ``NOT recent`` is one pass over the table, done before the attach so
that it does not repeat it); the activities' id sequence belongs to the parent. The
downgrade moves the recent rows back first.

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

# What the recent rows' partition of each table needs besides its columns: the history's
# keys and indexes (models.py), under names of its own.
RECENT = {
    "loyalty_entries": (
        "ALTER TABLE loyalty_entries_recent ADD CONSTRAINT pk_loyalty_entries_recent"
        " PRIMARY KEY (member_id, seq)",
        "CREATE UNIQUE INDEX uq_loyalty_entries_recent_member_id_key_without_activity"
        " ON loyalty_entries_recent (member_id, key) WHERE activity_id IS NULL",
        "CREATE INDEX ix_loyalty_entries_recent_reverses"
        " ON loyalty_entries_recent (member_id, reverses) WHERE reverses IS NOT NULL",
        "CREATE INDEX ix_loyalty_entries_recent_resolves"
        " ON loyalty_entries_recent (member_id, resolves) WHERE resolves IS NOT NULL",
    ),
    "loyalty_buckets": (
        "ALTER TABLE loyalty_buckets_recent ADD CONSTRAINT pk_loyalty_buckets_recent"
        " PRIMARY KEY (member_id, seq)",
    ),
    "loyalty_activities": (
        "ALTER TABLE loyalty_activities_recent ADD CONSTRAINT pk_loyalty_activities_recent"
        " PRIMARY KEY (id)",
        "ALTER TABLE loyalty_activities_recent ADD CONSTRAINT"
        " uq_loyalty_activities_recent_programme_key UNIQUE (programme, key)",
        "CREATE INDEX ix_loyalty_activities_recent_member"
        ' ON loyalty_activities_recent (member_id, "on")',
        "CREATE INDEX ix_loyalty_activities_recent_parked"
        " ON loyalty_activities_recent (programme, member_number) WHERE status = 'parked'",
    ),
}
CHECKS = {  # the tables' check constraints, which the parent takes (and so both partitions)
    "loyalty_entries": "ck_loyalty_entries_amount_positive CHECK (amount > 0)",
    "loyalty_buckets": "ck_loyalty_buckets_amount_positive CHECK (amount > 0)",
}
SEQUENCE = "loyalty_activities_id_seq"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, recent in RECENT.items():
        check = [f"ALTER TABLE {table} ADD CONSTRAINT {CHECKS[table]}"] if table in CHECKS else []
        for statement in (
            f"ALTER TABLE {table} ADD COLUMN recent boolean NOT NULL DEFAULT false",
            f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_history CHECK (NOT recent)",
            f"ALTER TABLE {table} RENAME TO {table}_history",
            f"CREATE TABLE {table} (LIKE {table}_history INCLUDING DEFAULTS)"
            " PARTITION BY LIST (recent)",
            *check,
            f"ALTER TABLE {table} ATTACH PARTITION {table}_history FOR VALUES IN (false)",
            f"ALTER TABLE {table}_history DROP CONSTRAINT ck_{table}_history",
            f"ALTER TABLE {table} ALTER COLUMN recent SET DEFAULT true",
            f"ALTER TABLE {table}_history ALTER COLUMN recent SET DEFAULT false",
            f"CREATE TABLE {table}_recent PARTITION OF {table} FOR VALUES IN (true)",
            *recent,
        ):
            op.execute(statement)
    op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY loyalty_activities.id")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY loyalty_activities_history.id")
    for table in RECENT:
        for statement in (
            f"UPDATE {table} SET recent = false WHERE recent",
            f"ALTER TABLE {table} DETACH PARTITION {table}_history",
            f"DROP TABLE {table}",
            f"ALTER TABLE {table}_history RENAME TO {table}",
            f"ALTER TABLE {table} DROP COLUMN recent",
        ):
            op.execute(statement)
